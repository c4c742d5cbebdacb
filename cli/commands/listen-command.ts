// `courier listen`: the impression-bus listener; `courier listen snapshot`: build the segment snapshot it serves.
import os from 'node:os';
import { InvalidArgumentError } from 'commander';
import type { CourierConfig, ListenerConfig } from '../../config/index.ts';
import { REFRESHER_DATASET_NAMES } from '../../jobs/refresher/index.ts';
import { buildSegmentSnapshot, latestCompleteDay, runListenerCluster, type ListenerClusterSettings } from '../../listener/index.ts';
import type { CliContext, RegisterCommands } from '../cli-context.ts';

function whole(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${value}".`);
    return n;
  };
}

function day(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new InvalidArgumentError(`expected a day as YYYY-MM-DD, got "${value}".`);
  return value;
}

async function listenerConfig(ctx: CliContext): Promise<{ config: CourierConfig; listener: ListenerConfig }> {
  const { file, config } = await ctx.loadConfig();
  if (!config.listener) return ctx.usageError(`${file} has no listener: section; add one (see config/courier.example.yaml) to run the listener`);
  return { config, listener: config.listener };
}

/** The config mapped onto the listener's settings; options override. */
export function listenerSettingsOf(
  config: CourierConfig,
  listener: ListenerConfig,
  options: { port?: number; workers?: number; metricsPort?: number },
  logLevel: string,
): ListenerClusterSettings {
  return {
    host: listener.host,
    port: options.port ?? listener.port,
    readyPath: listener.readyPath,
    bidUri: listener.bidUri,
    keepAliveTimeoutMs: listener.keepAliveTimeoutMs,
    headersTimeoutMs: listener.headersTimeoutMs,
    maxHeaderBytes: listener.maxHeaderBytes,
    storageRoot: config.storage.root,
    snapshotDataset: listener.snapshotDataset,
    pollMs: listener.pollMs,
    log: { dir: listener.logDir, bufferBytes: listener.logBufferMb * 1024 * 1024, flushMs: listener.logFlushMs },
    stopGraceMs: 5000,
    workers: options.workers ?? listener.workers ?? os.availableParallelism(),
    ...((options.metricsPort ?? listener.metricsPort) !== undefined && { metricsPort: options.metricsPort ?? listener.metricsPort }),
    metricsHost: listener.metricsHost,
    logLevel,
  };
}

/** Registers `courier listen` and `courier listen snapshot`. */
export const registerListenCommands: RegisterCommands = (program, context) => {
  const listen = program
    .command('listen')
    .description('answer the impression bus (bid requests and the ready check) from the latest segment snapshot, until SIGTERM/SIGINT')
    .option('--port <n>', 'port (default: listener.port of the config; 0 = any free port)', whole(0, 65535))
    .option('--workers <n>', 'processes sharing the port (default: listener.workers, else the CPU cores)', whole(1, 256))
    .option('--metrics-port <n>', 'port of the Prometheus /metrics endpoint (default: listener.metricsPort)', whole(0, 65535))
    .action(async (options: { port?: number; workers?: number; metricsPort?: number }) => {
      const ctx = context();
      const { config, listener } = await listenerConfig(ctx);
      const settings = listenerSettingsOf(config, listener, options, ctx.options.logLevel);
      const running = await runListenerCluster(settings, ctx.logger);
      ctx.print(
        { listening: true, port: running.port, workers: settings.workers, metricsPort: running.metricsPort ?? null },
        `courier listen: port ${running.port}, ${settings.workers} process(es)${running.metricsPort === undefined ? '' : `, metrics on ${running.metricsPort}`}; SIGTERM or Ctrl-C stops`,
      );
      await running.stopped;
    });

  listen
    .command('snapshot')
    .description("build the listener's segment snapshot of a day from the cookie-sync store and segment data")
    .option('--date <day>', 'the day (default: the latest complete cookie-sync store)', day)
    .option('--force', 'replace a complete snapshot of that day', false)
    .action(async (options: { date?: string; force: boolean }) => {
      const ctx = context();
      const { config, listener } = await listenerConfig(ctx);
      const partner = config.partners.find((p) => p.id === listener.partnerId)!;
      const date = options.date ?? (await latestCompleteDay(config.storage.root, REFRESHER_DATASET_NAMES.store));
      if (date === null) return ctx.usageError(`no complete ${REFRESHER_DATASET_NAMES.store}/dt=<day> under ${config.storage.root}: run the refresher first, or pass --date`);
      const summary = await buildSegmentSnapshot({
        storageRoot: config.storage.root,
        date,
        partnerId: partner.id,
        segmentMap: partner.segmentMap,
        storeDataset: REFRESHER_DATASET_NAMES.store,
        segmentsDataset: REFRESHER_DATASET_NAMES.segments,
        snapshotDataset: listener.snapshotDataset,
        overwrite: options.force,
      });
      ctx.print(
        summary,
        `Built ${summary.uri}: ${summary.users.toLocaleString('en')} ${partner.name} users with codes (${summary.partnerCookies.toLocaleString('en')} synced cookies, segments of ${summary.segmentsDate}), ${summary.answers.toLocaleString('en')} distinct answers, ${(summary.bytes / 1e6).toFixed(1)} MB (${summary.bytesPerUser.toFixed(1)} bytes per user) in ${summary.seconds.toFixed(1)} s`,
      );
    });
};
