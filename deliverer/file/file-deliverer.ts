/**
 * The file deliverer: one pass finds every complete batch dataset the ledger has not recorded as delivered and
 * sends its files, manifest last, partners in parallel and up to `maxConnections` datasets at once per partner.
 * A dropped connection is retried with backoff (the file restarts from its first byte); any other failure leaves
 * the dataset pending and stops only that partner for this pass. Watch mode repeats the pass on an interval.
 */
import { gzipSync } from 'node:zlib';
import * as os from 'node:os';
import * as path from 'node:path';
import * as posix from 'node:path/posix';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileSystemFor, joinUri, lockStoreArea, schemeOf, type FileSystem } from '../../storage/index.ts';
import { deliverFile } from './atomic-upload.ts';
import { findBatchDatasets, type BatchDataset, type DiscoveryProblem } from './batch-discovery.ts';
import { DeliveryError, type DeliveryErrorKind } from './delivery-error.ts';
import { DeliveryLedger, DELIVERIES_DIR, LEDGER_DIR, newLedgerEntry, type DeliveredHow, type LedgerEntry, type LedgerFile } from './delivery-ledger.ts';
import { DEFAULT_RETRY, DEFAULT_WRITE_WINDOW_BYTES, type DelivererOptions, type DeliveryRetry, type FilePartner } from './delivery-settings.ts';
import { openLocalDirSession } from './local-dir-session.ts';
import type { RemoteSession } from './remote-session.ts';
import { openSftpSession } from './sftp-session.ts';
import { bufferSource, directSource, spooledSource, type SpoolSettings, type UploadSource } from './upload-source.ts';

/** A dataset whose files all reached the partner in this pass. */
export interface DeliveredDataset {
  readonly partner: string;
  readonly dataset: string;
  readonly files: readonly { readonly name: string; readonly remotePath: string; readonly bytes: number; readonly how: DeliveredHow }[];
}

/** A dataset left pending, and why. */
export interface PendingDataset {
  readonly partner: string;
  readonly dataset: string;
  readonly kind: DeliveryErrorKind;
  readonly error: string;
}

/** What one pass did. */
export interface DeliveryReport {
  readonly delivered: DeliveredDataset[];
  readonly pending: PendingDataset[];
  /** Complete datasets the ledger already records as delivered. */
  alreadyDelivered: number;
  /** Partner directories under batch/ with no partner in the options (not configured for batch delivery). */
  readonly unconfigured: string[];
  /** Datasets that cannot be delivered as they are (damaged marker, re-written after delivery). */
  readonly problems: DiscoveryProblem[];
}

/** Watch mode: a pass every `intervalMs` until `signal` aborts. */
export interface WatchOptions extends DelivererOptions {
  readonly intervalMs: number;
  readonly signal: AbortSignal;
  /** Called after each pass (the CLI prints a line; tests count). */
  readonly onPass?: (report: DeliveryReport) => void;
}

/** Runs one delivery pass over the store, holding the store's deliverer lock (one deliverer per storage root). */
export async function deliverBatches(options: DelivererOptions): Promise<DeliveryReport> {
  const lock = await lockDeliveries(options, (e) =>
    options.logger.error({ err: e }, 'lost the deliverer lock during this pass: another deliverer may start; this pass finishes its uploads'),
  );
  try {
    return await new DeliveryPass(options).run();
  } finally {
    await lock.release();
  }
}

/**
 * Delivers new batch datasets as they appear, polling the store, until the signal aborts. Holds the store's
 * deliverer lock throughout; if it is lost, stops after the current pass with an error.
 */
export async function watchBatches(options: WatchOptions): Promise<void> {
  let lost: Error | undefined;
  const stop = new AbortController();
  const lock = await lockDeliveries(options, (e) => {
    lost = e;
    stop.abort();
  });
  const signal = AbortSignal.any([options.signal, stop.signal]);
  try {
    while (!signal.aborted) {
      try {
        options.onPass?.(await new DeliveryPass(options).run());
      } catch (e) {
        options.logger.error({ err: e }, 'delivery pass failed; trying again after the interval');
      }
      await sleep(options.intervalMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    await lock.release();
  }
  if (lost) throw new Error(`the deliverer stopped: it lost the store's deliverer lock (${lost.message}); another deliverer may have started. Check for one before restarting.`, { cause: lost });
}

function lockDeliveries(options: DelivererOptions, onLost: (e: Error) => void) {
  return lockStoreArea(joinUri(options.storageRoot, DELIVERIES_DIR), { holder: 'the file deliverer', onLost });
}

interface Work {
  readonly dataset: BatchDataset;
  entry?: LedgerEntry;
}

/** The connection a worker keeps across datasets, replaced after a drop. */
interface SessionHolder {
  session?: RemoteSession;
}

/** Backoff before retry `attempt` (1-based): exponential, capped, half of it random so clients spread out. */
function retryDelayMs(retry: DeliveryRetry, attempt: number): number {
  const d = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return d / 2 + Math.random() * (d / 2);
}

class DeliveryPass {
  private readonly fs: FileSystem;
  private readonly ledger: DeliveryLedger;
  private readonly retry: DeliveryRetry;
  private readonly spool: SpoolSettings;
  private readonly report: DeliveryReport = { delivered: [], pending: [], alreadyDelivered: 0, unconfigured: [], problems: [] };

  constructor(private readonly o: DelivererOptions) {
    this.fs = fileSystemFor(o.storageRoot);
    this.ledger = new DeliveryLedger(o.storageRoot);
    this.retry = o.retry ?? DEFAULT_RETRY;
    this.spool = { dir: o.spoolDir ?? path.join(os.tmpdir(), 'courier-deliver-spool'), reserveBytes: o.reserveBytes ?? 64 * 2 ** 20 };
  }

  async run(): Promise<DeliveryReport> {
    this.o.metrics?.passes.inc();
    const { datasets, problems } = await findBatchDatasets(this.o.storageRoot);
    this.report.problems.push(...problems);
    const partners = new Map(this.o.partners.map((p) => [p.name, p]));
    const work = new Map<FilePartner, Work[]>();
    for (const dataset of datasets) {
      const partner = partners.get(dataset.partner);
      if (!partner) {
        if (!this.report.unconfigured.includes(dataset.partner)) this.report.unconfigured.push(dataset.partner);
        continue;
      }
      const item = await this.plan(dataset);
      if (item) work.set(partner, [...(work.get(partner) ?? []), item]);
    }
    await Promise.all([...work].map(([partner, items]) => this.deliverPartner(partner, items)));
    for (const partner of this.o.partners) {
      this.o.metrics?.pendingDatasets.labels(partner.name).set(this.report.pending.filter((p) => p.partner === partner.name).length);
    }
    return this.report;
  }

  /** The dataset's work item, or undefined when it is delivered already or cannot be delivered as it is. */
  private async plan(dataset: BatchDataset): Promise<Work | undefined> {
    let entry: LedgerEntry | undefined;
    try {
      entry = await this.ledger.read(dataset.partner, dataset.periodDir);
    } catch (e) {
      this.report.problems.push({ path: dataset.path, message: (e as Error).message });
      return undefined;
    }
    if (entry === undefined) return { dataset };
    const changed = entry.markerChecksum !== dataset.marker.checksum;
    if (entry.state === 'delivered') {
      if (!changed) this.report.alreadyDelivered++;
      else this.report.problems.push({ path: dataset.path, message: changedMessage(dataset, entry, 'was delivered') });
      return undefined;
    }
    if (!changed) return { dataset, entry };
    const sent = entry.files.filter((f) => f.state === 'delivered' || f.state === 'renaming');
    if (sent.length > 0) {
      this.report.problems.push({ path: dataset.path, message: changedMessage(dataset, entry, `had ${sent.map((f) => f.name).join(', ')} delivered`) });
      return undefined;
    }
    // Nothing reached the final name yet: start over with the new files (stale temporary uploads are swept).
    return { dataset };
  }

  private async deliverPartner(partner: FilePartner, items: Work[]): Promise<void> {
    let stop: DeliveryError | undefined;
    let next = 0;
    const worker = async () => {
      const holder: SessionHolder = {};
      try {
        while (next < items.length) {
          const item = items[next++]!;
          if (stop) {
            this.pending(item, stop.kind, `not attempted after an earlier failure: ${stop.message}`);
            continue;
          }
          try {
            await this.deliverDataset(partner, item, holder);
          } catch (e) {
            const err = asDeliveryError(e);
            this.pending(item, err.kind, err.message);
            this.o.logger.error({ partner: partner.name, dataset: item.dataset.path, kind: err.kind }, err.message);
            // A conflict or a bad local copy concerns this dataset only; the others stop the partner for this pass.
            if (err.kind !== 'conflict' && err.kind !== 'local') {
              stop ??= err;
              await holder.session?.close();
              delete holder.session;
            }
          }
        }
      } finally {
        await holder.session?.close();
      }
    };
    await Promise.all(Array.from({ length: Math.min(partner.maxConnections, items.length) }, worker));
  }

  private pending(item: Work, kind: DeliveryErrorKind, error: string): void {
    this.report.pending.push({ partner: item.dataset.partner, dataset: item.dataset.path, kind, error });
  }

  private async deliverDataset(partner: FilePartner, item: Work, holder: SessionHolder): Promise<void> {
    const d = item.dataset;
    const manifest = d.manifest ? await this.readManifest(d) : undefined;
    const header = headerBytes(partner, d, manifest);
    const entry =
      item.entry ??
      newLedgerEntry({
        partner: partner.name,
        dataset: d.path,
        period: d.period,
        markerChecksum: d.marker.checksum,
        target: describeTarget(partner),
        files: [...d.dataFiles, ...(d.manifest ? [d.manifest] : [])].map((f) => ({
          name: f.path,
          role: f === d.manifest ? 'manifest' : 'data',
          bytes: f.bytes,
          sha256: f.sha256,
          rows: f.rows,
          remotePath: posix.join(partner.remoteDir, f.path),
        })),
      });
    item.entry = entry;
    await this.ledger.write(entry);
    const sources: UploadSource[] = [];
    const sourceFor = async (file: LedgerFile): Promise<UploadSource> => {
      const stored = { fs: this.fs, uri: joinUri(d.uri, file.name), ...markerFile(d, file.name) };
      let source: UploadSource;
      if (file.role === 'manifest' && header && manifest) source = bufferSource(rewrittenManifest(manifest, entry, partner.header.length), `manifest ${stored.uri}`);
      else if (header && file.name === manifest?.['file']) source = await spooledSource(stored, this.spool, header);
      else if (this.o.spool === 'always' || schemeOf(d.uri) !== 'file') source = await spooledSource(stored, this.spool);
      else source = directSource(stored);
      sources.push(source);
      file.bytes = source.bytes;
      file.sha256 = source.sha256;
      return source;
    };
    try {
      for (const file of entry.files) {
        let source: Promise<UploadSource> | undefined;
        await this.withRetries(partner, entry, file, holder, async (session) => {
          const started = process.hrtime.bigint();
          const how = await deliverFile({
            session,
            entry,
            file,
            save: () => this.ledger.write(entry),
            source: () => (source ??= sourceFor(file)),
            ...(this.o.maxBytesPerSecond !== undefined && { maxBytesPerSecond: this.o.maxBytesPerSecond }),
            logger: this.o.logger,
          });
          if (how === 'already') return;
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          this.o.metrics?.filesDelivered.labels(partner.name, file.role, how).inc();
          this.o.metrics?.bytesDelivered.labels(partner.name).inc(how === 'uploaded' ? file.bytes : 0);
          this.o.metrics?.uploadSeconds.labels(partner.name).observe(seconds);
          this.o.logger.info(
            { partner: partner.name, dataset: d.path, file: file.name, remotePath: file.remotePath, bytes: file.bytes, seconds, how },
            `delivered ${file.name} to ${partner.name}`,
          );
        });
      }
    } finally {
      await Promise.all(sources.map((s) => s.release()));
    }
    entry.state = 'delivered';
    entry.deliveredAt = new Date().toISOString();
    delete entry.lastError;
    await this.ledger.write(entry);
    this.o.metrics?.lastDelivery.labels(partner.name).set(Date.now() / 1000);
    this.report.delivered.push({
      partner: partner.name,
      dataset: d.path,
      files: entry.files.map((f) => ({ name: f.name, remotePath: f.remotePath, bytes: f.bytes, how: f.how ?? 'uploaded' })),
    });
  }

  /** Runs `step` on a session, reconnecting with backoff after dropped connections. */
  private async withRetries(
    partner: FilePartner,
    entry: LedgerEntry,
    file: LedgerFile,
    holder: SessionHolder,
    step: (session: RemoteSession) => Promise<void>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        holder.session ??= await this.connect(partner);
        entry.target = holder.session.where;
        await step(holder.session);
        return;
      } catch (e) {
        const err = asDeliveryError(e);
        this.o.metrics?.failed(partner.name, err.kind);
        file.lastError = entry.lastError = err.message;
        await this.ledger.write(entry).catch((le: unknown) => this.o.logger.error({ err: le }, 'could not record the failure in the ledger'));
        if (!err.retryable || attempt >= this.retry.maxAttempts) throw err;
        const delayMs = retryDelayMs(this.retry, attempt);
        this.o.metrics?.retries.labels(partner.name).inc();
        this.o.logger.warn({ partner: partner.name, file: file.name, attempt, delayMs: Math.round(delayMs) }, `${err.message}; retrying from the first byte`);
        await holder.session?.close();
        delete holder.session;
        await sleep(delayMs);
      }
    }
  }

  private async connect(partner: FilePartner): Promise<RemoteSession> {
    const t = partner.target;
    if (t.kind === 'local') return openLocalDirSession(partner.name, t.dirUri);
    return openSftpSession(partner.name, t.sftp, {
      connectTimeoutMs: this.o.connectTimeoutMs ?? 20_000,
      writeWindowBytes: this.o.writeWindowBytes ?? DEFAULT_WRITE_WINDOW_BYTES,
    });
  }

  private async readManifest(d: BatchDataset): Promise<Record<string, unknown>> {
    const uri = joinUri(d.uri, d.manifest!.path);
    try {
      const value: unknown = JSON.parse((await this.fs.readBytes(uri)).toString('utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
      return value as Record<string, unknown>;
    } catch (e) {
      throw new DeliveryError('local', `manifest ${uri} is not readable JSON (${(e as Error).message}); re-run the batch formatter for ${d.period}`, { cause: e });
    }
  }
}

function markerFile(d: BatchDataset, name: string): { bytes: number; sha256: string } {
  const f = d.marker.files.find((m) => m.path === name);
  if (!f) throw new DeliveryError('local', `${d.path}: the ledger lists ${name}, but the _SUCCESS marker does not`);
  return { bytes: f.bytes, sha256: f.sha256 };
}

function changedMessage(d: BatchDataset, entry: LedgerEntry, what: string): string {
  return (
    `${d.path} was re-written after it ${what} to ${entry.partner} (marker checksum ${entry.markerChecksum.slice(0, 12)}… is now ${d.marker.checksum.slice(0, 12)}…); ` +
    `courier does not send a period twice on its own: to send the new files, remove them on the partner's server if needed and delete ${LEDGER_DIR}/${entry.partner}/${d.periodDir}.json`
  );
}

function describeTarget(p: FilePartner): string {
  return p.target.kind === 'local' ? p.target.dirUri : `sftp://${p.target.sftp.user}@${p.target.sftp.host}:${p.target.sftp.port}`;
}

function asDeliveryError(e: unknown): DeliveryError {
  if (e instanceof DeliveryError) return e;
  return new DeliveryError('local', (e as Error).message ?? String(e), { cause: e });
}

/**
 * The header to prepend to the data file, or undefined. The batch formatter writes the template's header lines
 * itself and says so in the manifest (`headerLines`); only a file whose manifest records none while the partner's
 * template has some gets them here, gzipped as a member of its own when the file is gzip (concatenated members are
 * one valid gzip stream).
 */
function headerBytes(partner: FilePartner, d: BatchDataset, manifest: Record<string, unknown> | undefined): Buffer | undefined {
  if (!manifest || manifest['headerLines'] !== 0 || partner.header.length === 0) return undefined;
  const macros: Record<string, string> = {
    DATE: d.period,
    PARTNER_NAME: partner.name,
    PARTNER_ID: String(partner.id),
    ROWS: String(typeof manifest['rows'] === 'number' ? manifest['rows'] : d.marker.rows),
  };
  const text = partner.header.map((line) => line.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => macros[name] ?? whole) + '\n').join('');
  return manifest['compression'] === 'gzip' ? gzipSync(text) : Buffer.from(text);
}

/** The manifest describing the data file as sent (with the added header). */
function rewrittenManifest(manifest: Record<string, unknown>, entry: LedgerEntry, headerLines: number): Buffer {
  const data = entry.files.find((f) => f.role === 'data' && f.name === manifest['file']);
  return Buffer.from(JSON.stringify({ ...manifest, headerLines, ...(data && { bytes: data.bytes, sha256: data.sha256 }) }, null, 2) + '\n');
}
