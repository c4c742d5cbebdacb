/**
 * Synthetic inputs for trying and testing Courier: webapp sync logs and segment data, reproducible from a seed.
 * `generateSyntheticData` is what `courier generate` calls; see docs/formats.md for the formats produced.
 */
import { randomBytes } from 'node:crypto';
import { fileSystemFor, isComplete, joinUri, StorageError } from '../../storage/index.ts';
import { addCounts, emptyLogCounts, planLogLines, planLogRun, writeLogDay, type LogCounts } from './generate-webapp-logs.ts';
import { segmentCatalogue, writeSegments, type SegmentCounts } from './generate-segments.ts';
import { resolvePartnerIds, webappHosts } from './synthetic-ids.ts';

export { MALFORMED_KINDS, type MalformedKind, type LogCounts, DIURNAL_WEIGHTS, cookiePoolSize, logFilePath } from './generate-webapp-logs.ts';
export {
  segmentDataSchema,
  segmentCatalogue,
  SEGMENT_DAILY_CHANGE_SHARE,
  SEGMENT_DAILY_NEW_SHARE,
  type SegmentCounts,
} from './generate-segments.ts';
export { resolvePartnerIds, webappHosts, partnerUidStyle, cookieIdOf, PARTNER_UID_STYLES, type PartnerUidStyle } from './synthetic-ids.ts';

/** Largest accepted counts (a guard against typos such as an extra zero-digit run). */
export const LIMITS = { logs: 2_000_000_000, segments: 500_000_000, partners: 10_000, days: 366, hosts: 64 } as const;
/** Webapp hosts whose logs are generated. */
export const DEFAULT_HOSTS = 4;

/** What to generate and where. */
export interface GenerateOptions {
  /** Storage URI of the output root (`logs/` and `segments/` go below it). */
  out: string;
  /** Log lines in total, over all days, hours and hosts. */
  logs: number;
  /** Segment rows (one per cookie) of the last day's snapshot; earlier days have slightly fewer (new cookies appear). */
  segments: number;
  /** Number of partners syncing; see `resolvePartnerIds`. */
  partners: number;
  /** Partner ids of the job config, used first. */
  configuredPartnerIds?: readonly number[];
  /** Our segment ids the config maps (segmentMap keys), put first in the segment catalogue. */
  configuredSegmentIds?: readonly number[];
  /** Days of logs, ending with `date`. */
  days: number;
  /** The last day, YYYY-MM-DD. */
  date: string;
  seed: number;
  /** Replace complete outputs. */
  force?: boolean;
  /** Webapp hosts (files per hour); default 4. */
  hosts?: number;
}

/** Progress of a run: lines of logs, then rows of segments (over every day's snapshot). */
export interface GenerateProgress {
  phase: 'logs' | 'segments';
  done: number;
  total: number;
}

/** What a run wrote. */
export interface GenerateSummary {
  out: string;
  seed: number;
  dates: string[];
  partnerIds: number[];
  hosts: string[];
  cookiePool: number;
  /** Data files written: log files plus Parquet files of every segment snapshot. */
  files: number;
  logFiles: number;
  /** Parquet files over every day's segment snapshot. */
  segmentFiles: number;
  lines: number;
  syncLines: number;
  otherLines: number;
  malformedLines: number;
  malformedByKind: LogCounts['malformedByKind'];
  /** Rows of the last day's segment snapshot (the next three too). */
  segmentRows: number;
  piiRows: number;
  /** Segment rows whose cookie is in the log cookie pool. */
  segmentPoolRows: number;
  /** Rows of each day's segment snapshot. */
  segmentRowsByDate: Record<string, number>;
  logBytes: number;
  seconds: number;
  linesPerSecond: number;
  datasets: string[];
}

/** An option value is wrong; `option` is its name without dashes (`logs`, `out`, ...). */
export class GenerateOptionError extends Error {
  override readonly name = 'GenerateOptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`--${option}: ${message}`);
  }
}

/** Outputs exist and are complete, and `force` was not given. */
export class OutputExistsError extends Error {
  override readonly name = 'OutputExistsError';
  constructor(readonly datasets: readonly string[]) {
    super(
      `${datasets.length === 1 ? 'output is' : `${datasets.length} outputs are`} already complete (_SUCCESS written): ${datasets.join(', ')}; ` +
        'use --force to replace them, or choose another --out / --date',
    );
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Checks a YYYY-MM-DD date names a real day. */
export function isValidDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(t).toISOString().slice(0, 10) === text;
}

/** The `days` dates ending with `last`, oldest first. */
export function datesEndingWith(last: string, days: number): string[] {
  const end = Date.parse(`${last}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => new Date(end - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

function checkCount(option: keyof typeof LIMITS, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > LIMITS[option]) {
    throw new GenerateOptionError(option, `expected a whole number from ${min} to ${LIMITS[option]}, got ${value}`);
  }
}

/** Validates options; throws GenerateOptionError naming the first wrong one. */
export function checkGenerateOptions(o: GenerateOptions): void {
  checkCount('logs', o.logs, 0);
  checkCount('segments', o.segments, 0);
  checkCount('partners', o.partners, 1);
  checkCount('days', o.days, 1);
  checkCount('hosts', o.hosts ?? DEFAULT_HOSTS, 1);
  if (!isValidDate(o.date)) throw new GenerateOptionError('date', `expected a day as YYYY-MM-DD, got "${o.date}"`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) {
    throw new GenerateOptionError('seed', `expected a whole number from 0 to 4294967295, got ${o.seed}`);
  }
  for (const id of o.configuredPartnerIds ?? []) {
    if (!Number.isSafeInteger(id) || id < 1) throw new GenerateOptionError('partners', `configured partner id ${id} is not a positive whole number`);
  }
}

/** Fails with GenerateOptionError('out') unless `out` is a directory we can create files in. */
async function checkWritable(out: string): Promise<void> {
  let fs;
  try {
    fs = fileSystemFor(out);
  } catch (e) {
    throw new GenerateOptionError('out', (e as Error).message);
  }
  const probe = joinUri(out, `.courier-generate-probe-${randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdirs(out);
    await fs.writeAtomic(probe, '');
    await fs.delete(probe);
  } catch (e) {
    throw new GenerateOptionError('out', `cannot write there: ${e instanceof StorageError ? e.message : String(e)}`);
  }
}

/** The dataset URIs a run writes. */
export function outputDatasets(out: string, dates: readonly string[]): { logs: string[]; segments: string[] } {
  return {
    logs: dates.map((d) => joinUri(out, 'logs', `dt=${d}`)),
    segments: dates.map((d) => joinUri(out, 'segments', `dt=${d}`)),
  };
}

/**
 * Generates `days` days of webapp sync logs and a segment snapshot for each day under `out`. Same options (and
 * seed), same log file bytes and segment rows. Refuses complete outputs unless `force`; each dataset is
 * staged and appears only complete.
 */
export async function generateSyntheticData(options: GenerateOptions, onProgress?: (p: GenerateProgress) => void): Promise<GenerateSummary> {
  checkGenerateOptions(options);
  const started = performance.now();
  const out = options.out.replace(/\/+$/, '');
  const dates = datesEndingWith(options.date, options.days);
  const targets = outputDatasets(out, dates);
  await checkWritable(out);
  if (!options.force) {
    const fs = fileSystemFor(out);
    const existing: string[] = [];
    for (const uri of [...targets.logs, ...targets.segments]) if (await isComplete(fs, uri)) existing.push(uri);
    if (existing.length) throw new OutputExistsError(existing);
  }

  const partnerIds = resolvePartnerIds(options.configuredPartnerIds ?? [], options.partners);
  const hosts = webappHosts(options.hosts ?? DEFAULT_HOSTS);
  const run = planLogRun(options.seed, options.logs, partnerIds, hosts);
  const plan = planLogLines(options.logs, dates, options.seed);
  const force = options.force ?? false;

  const counts = emptyLogCounts();
  let logFiles = 0;
  let logBytes = 0;
  let linesDone = 0;
  const onLines = (n: number): void => {
    linesDone += n;
    onProgress?.({ phase: 'logs', done: linesDone, total: options.logs });
  };
  onProgress?.({ phase: 'logs', done: 0, total: options.logs });
  for (let d = 0; d < dates.length; d++) {
    const day = await writeLogDay(out, run, { date: dates[d]!, hourLines: plan[d]! }, { force, onLines });
    addCounts(counts, day.counts);
    logFiles += day.marker.files.length;
    logBytes += day.marker.files.reduce((s, f) => s + f.bytes, 0);
  }
  const logSeconds = (performance.now() - started) / 1000;

  let segRows = 0;
  const segTotal = options.segments * dates.length;
  onProgress?.({ phase: 'segments', done: 0, total: segTotal });
  const catalogue = segmentCatalogue(options.configuredSegmentIds ?? []);
  const snapshots: Awaited<ReturnType<typeof writeSegments>>[] = [];
  for (let day = 0; day < dates.length; day++) {
    snapshots.push(
      await writeSegments(targets.segments[day]!, run, {
        rows: options.segments,
        dates,
        day,
        catalogue,
        force,
        onRows: (n) => {
          segRows += n;
          onProgress?.({ phase: 'segments', done: segRows, total: segTotal });
        },
      }),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  return summarize();

  function summarize(): GenerateSummary {
    const seg: SegmentCounts = snapshots[snapshots.length - 1]!.counts;
    const segmentFiles = snapshots.reduce((s, x) => s + x.marker.files.length, 0);
    return {
      out,
      seed: options.seed,
      dates,
      partnerIds,
      hosts,
      cookiePool: run.poolSize,
      files: logFiles + segmentFiles,
      logFiles,
      segmentFiles,
      lines: counts.lines,
      syncLines: counts.syncLines,
      otherLines: counts.otherLines,
      malformedLines: counts.malformedLines,
      malformedByKind: counts.malformedByKind,
      segmentRows: seg.rows,
      piiRows: seg.piiRows,
      segmentPoolRows: seg.poolCookies,
      segmentRowsByDate: Object.fromEntries(dates.map((d, i) => [d, snapshots[i]!.counts.rows])),
      logBytes,
      seconds: round3(seconds),
      linesPerSecond: logSeconds > 0 ? Math.round(counts.lines / logSeconds) : 0,
      datasets: [...targets.logs, ...targets.segments],
    };
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
