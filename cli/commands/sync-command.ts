// `courier sync`: the streaming data syncer. With the embedded broker it also runs the queue-bridge in this process
// (one machine); with Redis it only consumes, so several processes on several machines share the queues.
import { InvalidArgumentError, Option } from 'commander';
import { describeSecret, resolveSecret, type CourierConfig, type PartnerConfig } from '../../config/index.ts';
import { StreamingSyncer, type HeaderSetting, type PartnerStreamingSettings, type SyncSummary } from '../../deliverer/index.ts';
import { runBridge, serveMetrics, type BridgeResult } from '../../queue-bridge/index.ts';
import { joinUri } from '../../storage/index.ts';
import { brokerFromConfig } from '../broker-from-config.ts';
import type { RegisterCommands } from '../cli-context.ts';

interface SyncCommandOptions {
  watch: boolean;
  metricsPort?: number;
  metricsHost?: string;
  workers?: number;
}

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${value}".`);
    return n;
  };
}

/** The streaming partners of the config as the syncer takes them; header secrets are read now, from their source. */
export function streamingPartners(config: CourierConfig, env: NodeJS.ProcessEnv): PartnerStreamingSettings[] {
  return config.partners
    .filter((p): p is PartnerConfig & { streaming: NonNullable<PartnerConfig['streaming']> } => p.streaming !== undefined)
    .map((p) => {
      const s = p.streaming;
      const headers: Record<string, HeaderSetting> = {};
      for (const [name, value] of Object.entries(s.headers)) {
        if (typeof value === 'string') {
          headers[name] = value;
          continue;
        }
        try {
          headers[name] = { secret: resolveSecret(value, env), source: describeSecret(value) };
        } catch (e) {
          throw new Error(`partner ${p.name} streaming.headers.${name}: ${(e as Error).message}`, { cause: e });
        }
      }
      return {
        partnerId: p.id,
        name: p.name,
        url: s.url,
        method: s.method,
        headers,
        ...(s.body !== undefined ? { body: s.body } : {}),
        concurrency: s.concurrency,
        rateLimitPerSecond: s.rateLimitPerSecond,
        timeoutMs: s.timeoutMs,
        retry: s.retry,
      };
    });
}

function summaryText(summary: SyncSummary, bridge: BridgeResult | undefined): string {
  const rows = summary.partners.map(
    (p) =>
      `${p.name.padEnd(16)} ${String(p.delivered).padStart(10)} ${String(p.retried).padStart(10)} ${String(p.deadLettered).padStart(14)}` +
      (p.released > 0 ? `   (${p.released} handed back unsent)` : ''),
  );
  const head = `${'partner'.padEnd(16)} ${'delivered'.padStart(10)} ${'retried'.padStart(10)} ${'dead-lettered'.padStart(14)}`;
  const tail = bridge ? `\nbridge: ${bridge.enqueued} enqueued, ${bridge.acked} acknowledged, ${bridge.done.length} datasets done` : '';
  return `${head}\n${rows.join('\n')}\n${summary.seconds.toFixed(1)} s${tail}`;
}

/** Registers `courier sync`. */
export const registerSyncCommand: RegisterCommands = (program, context) => {
  program
    .command('sync')
    .description('send queued data sync requests to partners\' HTTP APIs until the queues are drained (or --watch); with the embedded broker, also runs the queue-bridge')
    .option('--watch', 'keep running and wait for new requests until SIGTERM/SIGINT', false)
    .addOption(new Option('--metrics-port <n>', 'serve Prometheus metrics on GET /metrics at this port (default: syncer.metricsPort)').argParser(wholeNumber(0, 65535)))
    .option('--metrics-host <address>', 'address of the metrics endpoint (default: syncer.metricsHost)')
    .addOption(new Option('--workers <n>', 'receive loops per partner in this process (default: syncer.workersPerPartner)').argParser(wholeNumber(1, 1024)))
    .action(async (opts: SyncCommandOptions) => {
      const ctx = context();
      const { config } = await ctx.loadConfig();
      const partners = streamingPartners(config, ctx.io.env);
      if (partners.length === 0) ctx.usageError('no partner in the config has delivery streaming or both: nothing to sync');
      const s = config.syncer;
      const broker = await brokerFromConfig(config.queue);
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        ctx.logger.info({ signal }, 'stopping: finishing requests in flight, acknowledging, writing dead letters');
        stop.abort();
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
      try {
        const syncer = new StreamingSyncer({
          broker,
          partners,
          logger: ctx.logger,
          settings: {
            workersPerPartner: opts.workers ?? s.workersPerPartner,
            receiveBatch: s.receiveBatch,
            ...(s.maxHeldPerPartner !== undefined ? { maxHeldPerPartner: s.maxHeldPerPartner } : {}),
            idlePollMs: s.idlePollMs,
            deadLetters: { uri: joinUri(config.storage.root, s.deadLetters.dataset), flushRows: s.deadLetters.flushRows, flushEveryMs: s.deadLetters.flushEveryMs },
          },
        });
        const metricsPort = opts.metricsPort ?? s.metricsPort;
        if (metricsPort !== undefined) {
          metricsServer = await serveMetrics(syncer.metrics.registry, metricsPort, opts.metricsHost ?? s.metricsHost);
          ctx.logger.info({ port: metricsServer.port }, 'metrics on GET /metrics');
        }

        // The embedded broker lives in this process, so the bridge that fills it must too. It stops after the
        // syncer, so its checkpoint records the syncer's last acknowledgements.
        const bridgeStop = new AbortController();
        let bridgeDone = broker.kind !== 'embedded';
        const bridge =
          broker.kind === 'embedded'
            ? runBridge({
                root: config.storage.root,
                broker,
                requestsDataset: config.queue.requestsDataset,
                partnerIds: partners.map((p) => p.partnerId),
                windowItems: config.queue.windowItems,
                pollMs: config.queue.pollMs,
                checkpointEveryMs: config.queue.checkpointEveryMs,
                discoverEveryMs: config.queue.discoverEveryMs,
                watch: opts.watch,
                logger: ctx.logger.child({ component: 'bridge' }),
                signal: bridgeStop.signal,
              }).finally(() => {
                bridgeDone = true;
              })
            : undefined;
        // A failed bridge ends the run; the syncer still stops gracefully first.
        let bridgeError: unknown;
        bridge?.catch((e: unknown) => {
          bridgeError = e;
          stop.abort();
        });

        syncer.start();
        if (opts.watch) {
          await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
        } else {
          await syncer.untilDrained({ inputDone: () => bridgeDone, signal: stop.signal, pollMs: Math.min(200, s.idlePollMs) });
        }
        const summary = await syncer.stop();
        bridgeStop.abort();
        const bridgeResult = bridge ? await bridge.catch(() => undefined) : undefined;
        if (bridgeError !== undefined) throw bridgeError;
        ctx.print({ ...summary, ...(bridgeResult ? { bridge: bridgeResult } : {}) }, () => summaryText(summary, bridgeResult));
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await metricsServer?.close();
        await broker.close();
      }
    });
};
