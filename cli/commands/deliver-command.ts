// `courier deliver` (once, or --watch as a daemon) and `courier deliveries` (the ledger): the file deliverer of
// deliverer/file/, with the config's batch partners mapped onto its plain settings and their secrets resolved here.
import { InvalidArgumentError } from 'commander';
import { resolveSecret, type CourierConfig, type PartnerConfig } from '../../config/index.ts';
import { serveMetrics } from '../../queue-bridge/index.ts';
import {
  deliverBatches,
  DelivererMetrics,
  DeliveryLedger,
  SecretValue,
  watchBatches,
  type DelivererOptions,
  type DeliveryReport,
  type FilePartner,
} from '../../deliverer/file/index.ts';
import type { CliContext, RegisterCommands } from '../cli-context.ts';

interface DeliverCommandOptions {
  watch: boolean;
  interval: number;
  partner?: string[];
  spoolDir?: string;
  limitRate?: number;
  writeWindow?: number;
  metricsPort?: number;
  metricsHost: string;
}

function positive(what: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`expected ${what} > 0 and <= ${max}, got "${value}".`);
    return n;
  };
}

function nonNegative(what: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > max) throw new InvalidArgumentError(`expected ${what} from 0 to ${max}, got "${value}".`);
    return n;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a TCP port 0-65535, got "${value}".`);
  return n;
}

/** The config's batch partners as the deliverer's settings; secrets are read now, only for partners sent over SFTP. */
export function filePartnersOf(config: CourierConfig, env: NodeJS.ProcessEnv): FilePartner[] {
  return config.partners.filter((p): p is PartnerConfig & { batch: NonNullable<PartnerConfig['batch']> } => p.batch !== undefined).map((p) => {
    const { sftp, target, remoteDir, template } = p.batch;
    const secret = (ref: Parameters<typeof resolveSecret>[0] | undefined, key: string) => {
      if (ref === undefined) return undefined;
      try {
        return new SecretValue(resolveSecret(ref, env));
      } catch (e) {
        throw new Error(`partner ${p.name}: batch.sftp.${key}: ${(e as Error).message}`);
      }
    };
    const privateKey = target === undefined ? secret(sftp.privateKey, 'privateKey') : undefined;
    const password = target === undefined ? secret(sftp.password, 'password') : undefined;
    return {
      id: p.id,
      name: p.name,
      target:
        target !== undefined
          ? { kind: 'local', dirUri: target }
          : {
              kind: 'sftp',
              sftp: { host: sftp.host, port: sftp.port, user: sftp.user, hostKeySha256: sftp.hostKeySha256, ...(privateKey && { privateKey }), ...(password && { password }) },
            },
      remoteDir,
      header: template.header,
      maxConnections: sftp.maxConnections,
    };
  });
}

function summary(report: DeliveryReport): string {
  const lines: string[] = [];
  for (const d of report.delivered) {
    for (const f of d.files) lines.push(`delivered  ${d.partner}  ${f.remotePath}  ${f.bytes} bytes${f.how === 'uploaded' ? '' : ` (${f.how})`}`);
  }
  for (const p of report.pending) lines.push(`PENDING    ${p.partner}  ${p.dataset}  ${p.error}`);
  for (const p of report.problems) lines.push(`PROBLEM    ${p.path}  ${p.message}`);
  for (const name of report.unconfigured) lines.push(`skipped    batch/${name}/  no batch partner "${name}" in the config`);
  lines.push(
    `${report.delivered.length} datasets delivered, ${report.pending.length} pending, ${report.alreadyDelivered} delivered before` +
      (report.problems.length ? `, ${report.problems.length} with problems` : ''),
  );
  return lines.join('\n') + '\n';
}

async function deliver(ctx: CliContext, opts: DeliverCommandOptions): Promise<void> {
  const { config } = await ctx.loadConfig();
  let partners = filePartnersOf(config, ctx.io.env);
  if (opts.partner) {
    const unknown = opts.partner.filter((n) => !partners.some((p) => p.name === n));
    if (unknown.length) {
      ctx.usageError(`no batch partner named ${unknown.join(', ')}; batch partners in the config: ${partners.map((p) => p.name).join(', ') || 'none'}`);
    }
    partners = partners.filter((p) => opts.partner!.includes(p.name));
  }
  if (partners.length === 0) ctx.usageError('the config has no partner with delivery batch or both; nothing to deliver');
  const metrics = new DelivererMetrics();
  const options: DelivererOptions = {
    storageRoot: config.storage.root,
    partners,
    logger: ctx.logger,
    metrics,
    ...(opts.spoolDir !== undefined && { spoolDir: opts.spoolDir }),
    ...(opts.limitRate !== undefined && { maxBytesPerSecond: opts.limitRate * 1e6 }),
    ...(opts.writeWindow !== undefined && { writeWindowBytes: opts.writeWindow * 2 ** 20 }),
  };
  if (!opts.watch) {
    const report = await deliverBatches(options);
    ctx.print(report, () => summary(report));
    if (report.pending.length > 0 || report.problems.length > 0) {
      throw new Error(`${report.pending.length} datasets left pending and ${report.problems.length} with problems; see above, then run courier deliver again`);
    }
    return;
  }
  const endpoint = opts.metricsPort !== undefined ? await serveMetrics(metrics.registry, opts.metricsPort, opts.metricsHost) : undefined;
  if (endpoint) ctx.logger.info({ url: `http://${opts.metricsHost}:${endpoint.port}/metrics` }, 'serving metrics');
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    ctx.logger.info({ signal }, 'stopping after the current pass (a second signal stops at once; interrupted uploads are reconciled on restart)');
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  ctx.logger.info({ partners: partners.map((p) => p.name), intervalSeconds: opts.interval }, 'watching the store for batch files');
  try {
    await watchBatches({
      ...options,
      intervalMs: opts.interval * 1000,
      signal: stop.signal,
      onPass: (report) => {
        if (report.delivered.length || report.pending.length || report.problems.length) {
          ctx.logger.info(
            { delivered: report.delivered.map((d) => d.dataset), pending: report.pending.map((p) => p.dataset), problems: report.problems.length },
            summary(report).trimEnd().split('\n').at(-1)!,
          );
        }
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await endpoint?.close();
  }
}

/** Registers `courier deliver` and `courier deliveries`. */
export const registerDeliverCommands: RegisterCommands = (program, context) => {
  program
    .command('deliver')
    .description('send the batch formatter\'s finished files to partners over SFTP (or their local target): atomically, once each, recorded in the delivery ledger')
    .option('--watch', 'keep running: poll the store and deliver new files as they appear', false)
    .option('--interval <seconds>', 'seconds between polls in --watch mode', positive('seconds', 86_400), 30)
    .option('--partner <name...>', 'only these batch partners')
    .option('--spool-dir <dir>', 'local directory for copies made before upload (remote store, added header); default: a temp dir')
    .option('--limit-rate <MB/s>', 'upload rate cap per connection, in MB/s', positive('MB/s', 100_000))
    .option('--write-window <MiB>', 'SFTP write requests in flight per upload, in MiB (default 8); 0: one at a time, for servers that need it', nonNegative('MiB', 1024))
    .option('--metrics-port <port>', 'in --watch mode, serve Prometheus metrics at http://HOST:PORT/metrics', port)
    .option('--metrics-host <host>', 'address the metrics endpoint listens on', '127.0.0.1')
    .action(async (opts: DeliverCommandOptions) => deliver(context(), opts));

  program
    .command('deliveries')
    .description('show the delivery ledger: what was sent to which partner, where, when, with checksums')
    .option('--partner <name...>', 'only these partners')
    .action(async (opts: { partner?: string[] }) => {
      const ctx = context();
      const { config } = await ctx.loadConfig();
      const entries = (await new DeliveryLedger(config.storage.root).list()).filter((e) => !opts.partner || opts.partner.includes(e.partner));
      ctx.print({ entries }, () => {
        if (entries.length === 0) return 'the delivery ledger is empty\n';
        const lines: string[] = [];
        for (const e of entries) {
          lines.push(`${e.state === 'delivered' ? 'delivered' : 'PENDING  '}  ${e.partner}  ${e.dataset}  -> ${e.target}${e.lastError && e.state !== 'delivered' ? `  last error: ${e.lastError}` : ''}`);
          for (const f of e.files) lines.push(`    ${f.state.padEnd(9)} ${f.remotePath}  ${f.bytes} bytes  sha256 ${f.sha256.slice(0, 16)}…${f.deliveredAt ? `  ${f.deliveredAt}` : ''}${f.how && f.how !== 'uploaded' ? ` (${f.how})` : ''}`);
        }
        return lines.join('\n') + '\n';
      });
    });
};
