// `courier bridge`: the queue-bridge as its own process, feeding a shared (Redis) broker from the store.
import { InvalidArgumentError, Option } from 'commander';
import { BridgeMetrics, runBridge, serveMetrics, type BridgeResult, type BridgeSnapshot, type MetricsEndpoint } from '../../queue-bridge/index.ts';
import { brokerFromConfig } from '../broker-from-config.ts';
import type { RegisterCommands } from '../cli-context.ts';

interface BridgeCommandOptions {
  watch: boolean;
  window?: number;
  metricsPort?: number;
}

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const m = /^(\d[\d_]*)([kKmM]?)$/.exec(value.trim());
    const n = m ? Number(m[1]!.replaceAll('_', '')) * ({ '': 1, k: 1e3, m: 1e6 } as Record<string, number>)[m[2]!.toLowerCase()]! : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max} (e.g. 10M, 500k), got "${value}".`);
    return n;
  };
}

function summaryText(r: BridgeResult): string {
  return `bridge: ${r.enqueued} requests enqueued, ${r.acked} acknowledged, ${r.resent} resent after a restart; ${r.done.length} datasets done${
    r.done.length ? `\n  ${r.done.join('\n  ')}` : ''
  }`;
}

const PROGRESS_EVERY_MS = 5000;

/** Registers `courier bridge`. */
export const registerBridgeCommand: RegisterCommands = (program, context) => {
  program
    .command('bridge')
    .description('stream complete data sync request datasets into the shared broker, keeping each queue filled to its share of the window')
    .option('--watch', 'keep running and pick up new request datasets as they complete', false)
    .addOption(new Option('--window <n>', 'items queued in all (default: queue.windowItems)').argParser(wholeNumber(1, 1_000_000_000)))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics').argParser(wholeNumber(0, 65535)))
    .addHelpText(
      'after',
      `
Reads <storage.root>/<queue.requestsDataset>/dt=*/ (complete datasets, oldest first) into the queues
requests.<partner>.<high|normal>. Progress is checkpointed in <storage.root>/_bridge/checkpoint.json; after a crash
it resumes from there (re-sending at most the unacknowledged window). Without --watch it stops once every
dataset is handed over and acknowledged. See docs/queue.md.

With queue.broker: embedded the queues live inside one process: run \`courier sync\`, which runs the bridge itself.`,
    )
    .action(async (opts: BridgeCommandOptions) => {
      const ctx = context();
      const { config } = await ctx.loadConfig();
      if (config.queue.broker === 'embedded') {
        ctx.usageError('queue.broker is embedded: its queues live inside `courier sync`, which runs the bridge itself; use queue.broker: redis for a separate bridge');
      }
      const broker = await brokerFromConfig(config.queue);
      const stop = new AbortController();
      const onSignal = () => {
        ctx.logger.info('stopping: finishing the current step and writing the checkpoint');
        stop.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const metrics = new BridgeMetrics();
      let endpoint: MetricsEndpoint | undefined;
      try {
        if (opts.metricsPort !== undefined) {
          endpoint = await serveMetrics(metrics.registry, opts.metricsPort);
          ctx.logger.info({ port: endpoint.port }, 'metrics on GET /metrics');
        }
        let lastLog = 0;
        const onTick = (s: BridgeSnapshot) => {
          metrics.update(s);
          if (Date.now() - lastLog < PROGRESS_EVERY_MS) return;
          lastLog = Date.now();
          const sum = (f: (q: BridgeSnapshot['queues'][number]) => number) => s.queues.reduce((n, q) => n + f(q), 0);
          ctx.logger.info(
            { queued: s.queued, window: s.windowItems, enqueued: sum((q) => q.enqueued), acked: sum((q) => q.acked), remaining: sum((q) => q.remaining), queues: s.queues.length },
            'bridge progress',
          );
        };
        const result = await runBridge({
          root: config.storage.root,
          broker,
          requestsDataset: config.queue.requestsDataset,
          windowItems: opts.window ?? config.queue.windowItems,
          pollMs: config.queue.pollMs,
          checkpointEveryMs: config.queue.checkpointEveryMs,
          discoverEveryMs: config.queue.discoverEveryMs,
          watch: opts.watch,
          // Batch-only partners' requests go out as files; nobody would consume their queues.
          partnerIds: config.partners.filter((p) => p.delivery !== 'batch').map((p) => p.id),
          logger: ctx.logger.child({ component: 'bridge' }),
          signal: stop.signal,
          onTick,
        });
        ctx.print(result, () => summaryText(result));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await endpoint?.close();
        await broker.close();
      }
    });
};
