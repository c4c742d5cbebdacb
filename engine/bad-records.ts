/**
 * Bad records: a record whose map call (or a key whose combine or reduce call) throws is counted, sampled
 * with its error into the step's quarantine dataset, and dropped. Records a mapper rejects (`ctx.reject`,
 * expected garbage such as a malformed log line) are sampled there too, but never count toward the rate. The step fails only when the share of bad
 * records passes `maxBadRecordRate`, with an error that names the top messages, where the first one was
 * met, and carries the first error (with its real stack) as `cause`.
 */
import { defineSchema, type RecordSchema, type Row } from '../storage/index.ts';
import { BadRecordRateError, type BadRecordLocation } from './engine-error.ts';

/** The schema of a quarantine dataset (one row per sampled bad record). */
export const QUARANTINE_SCHEMA: RecordSchema = defineSchema({
  step: 'string',
  /** `map`, `combine` or `reduce` for bad records (error and stack set); `rejected` for `ctx.reject` (reason and detail). */
  phase: 'string',
  input: { type: 'string', nullable: true },
  file: { type: 'string', nullable: true },
  row: { type: 'int64', nullable: true },
  error: { type: 'string', nullable: true },
  stack: { type: 'string', nullable: true },
  reason: { type: 'string', nullable: true },
  detail: { type: 'string', nullable: true },
  record_json: 'string',
});

/** Default rows kept per step in the quarantine dataset; every bad record is counted regardless. */
export const DEFAULT_QUARANTINE_SAMPLE = 10_000;

const MAX_RECORD_JSON = 64 * 1024;

/** Options of a step's bad-record log. */
export interface BadRecordLogOptions {
  readonly job: string;
  readonly step: string;
  readonly maxRate: number;
  /** Records the step will read (from the input markers): lets the step fail as soon as the rate is certainly passed. */
  readonly expectedRecordsIn: number;
  readonly quarantine: string;
  readonly sampleSize?: number;
}

/** A bad-record log as plain data (see `BadRecordLog.toState`). */
export interface BadRecordState {
  readonly count: number;
  readonly sample: readonly Row[];
  readonly messages: readonly (readonly [string, number])[];
  readonly first?: { readonly location: BadRecordLocation; readonly error: unknown };
  readonly rejected: { readonly count: number; readonly sample: readonly Row[] };
}

/** The state of a log that recorded nothing (a task that failed before it ran). */
export const EMPTY_BAD_RECORD_STATE: BadRecordState = { count: 0, sample: [], messages: [], rejected: { count: 0, sample: [] } };

/** Where a rejected record was read. */
export interface RejectLocation {
  readonly input: string;
  readonly file: string;
  readonly row: number;
}

/** Counts, samples and judges one step's bad records. */
export class BadRecordLog {
  count = 0;
  readonly sample: Row[] = [];
  /** Records map calls rejected (`ctx.reject`): sampled like bad records, never judged against the rate. */
  rejectedCount = 0;
  readonly rejectedSample: Row[] = [];
  private readonly messages = new Map<string, number>();
  private first: { location: BadRecordLocation; error: unknown } | undefined;
  private readonly allowed: number;

  constructor(readonly options: BadRecordLogOptions) {
    this.allowed = Math.floor(options.maxRate * options.expectedRecordsIn + 1e-9);
  }

  /** Records one bad record; throws BadRecordRateError once more are bad than the rate can allow. */
  add(location: BadRecordLocation, error: unknown, record: unknown): void {
    this.count++;
    const message = `${location.phase}: ${errorLine(error)}`;
    this.messages.set(message, (this.messages.get(message) ?? 0) + 1);
    this.first ??= { location, error };
    if (this.sample.length < this.sampleSize) {
      this.sample.push({
        step: this.options.step,
        phase: location.phase,
        input: location.input,
        file: location.file,
        row: location.row,
        error: errorLine(error),
        stack: errorStack(error),
        reason: null,
        detail: null,
        record_json: recordJson(record),
      });
    }
    if (this.count > this.allowed) throw this.failure(this.options.expectedRecordsIn);
  }

  /** Records one rejected record (counted by the caller under counter group `rejected`). */
  reject(location: RejectLocation, reason: string, detail: string | null, record: unknown): void {
    this.rejectedCount++;
    if (this.rejectedSample.length < this.sampleSize) {
      this.rejectedSample.push({
        step: this.options.step,
        phase: 'rejected',
        input: location.input,
        file: location.file,
        row: location.row,
        error: null,
        stack: null,
        reason,
        detail,
        record_json: recordJson(record),
      });
    }
  }

  private get sampleSize(): number {
    return this.options.sampleSize ?? DEFAULT_QUARANTINE_SAMPLE;
  }

  /** The log as plain data, to send from a worker task to the runner (errors survive structured cloning). */
  toState(): BadRecordState {
    return {
      count: this.count,
      sample: this.sample,
      messages: [...this.messages],
      ...(this.first ? { first: this.first } : {}),
      rejected: { count: this.rejectedCount, sample: this.rejectedSample },
    };
  }

  /**
   * Adds another task's log (merged in task order, so the first bad record and the sample are those an
   * inline run meets); throws BadRecordRateError as soon as the merged count passes the rate, as `add` does.
   */
  merge(state: BadRecordState): void {
    this.rejectedCount += state.rejected.count;
    for (const row of state.rejected.sample) {
      if (this.rejectedSample.length >= this.sampleSize) break;
      this.rejectedSample.push(row);
    }
    const rest = new Map(state.messages);
    for (let i = 0; i < state.sample.length; i++) {
      const row = state.sample[i]!;
      const message = `${String(row.phase)}: ${String(row.error)}`;
      rest.set(message, (rest.get(message) ?? 1) - 1);
      this.count++;
      this.messages.set(message, (this.messages.get(message) ?? 0) + 1);
      if (i === 0 && state.first) this.first ??= state.first;
      if (this.sample.length < this.sampleSize) this.sample.push(row);
      if (this.count > this.allowed) throw this.failure(this.options.expectedRecordsIn);
    }
    if (state.sample.length === 0 && state.first) this.first ??= state.first;
    for (const [message, n] of rest) {
      if (n <= 0) continue;
      this.count += n;
      this.messages.set(message, (this.messages.get(message) ?? 0) + n);
    }
    if (this.count > this.allowed) throw this.failure(this.options.expectedRecordsIn);
  }

  /** Throws BadRecordRateError when the final rate passes the limit. */
  check(recordsIn: number): void {
    if (this.count > 0 && this.count > this.options.maxRate * recordsIn) throw this.failure(recordsIn);
  }

  /** The most frequent error messages, most frequent first. */
  topErrors(n = 5): { message: string; count: number }[] {
    return [...this.messages]
      .map(([message, count]) => ({ message, count }))
      .sort((a, b) => b.count - a.count || (a.message < b.message ? -1 : 1))
      .slice(0, n);
  }

  private failure(recordsIn: number): BadRecordRateError {
    const { job, step, maxRate, quarantine } = this.options;
    const first = this.first!;
    const top = this.topErrors();
    const pct = (x: number): string => `${(x * 100).toFixed(x < 0.01 ? 3 : 2)}%`;
    const lines = [
      `${this.count} bad record${this.count === 1 ? '' : 's'} of ${recordsIn} records in (${pct(recordsIn ? this.count / recordsIn : 1)}) ` +
        `exceed maxBadRecordRate ${maxRate} (${pct(maxRate)}).`,
      'Top errors:',
      ...top.map((t) => `  ${t.count} × ${t.message}`),
      `First bad record: ${describeLocation(first.location)}.`,
      `Sampled bad records (error, stack, record) go to the quarantine dataset ${quarantine}.`,
      'Fix the job code or the input; raise maxBadRecordRate only if such records may be dropped.',
      `Stack of the first error:\n${indent(errorStack(first.error))}`,
    ];
    return new BadRecordRateError(job, step, lines.join('\n'), this.count, recordsIn, top, first.location, quarantine, first.error);
  }
}

/** "map of input "lines" at file:///…/part-00000.parquet row 4" or "reduce of key ["a"]". */
export function describeLocation(l: BadRecordLocation): string {
  if (l.phase === 'map') return `map of input "${l.input}" at ${l.file} row ${l.row}`;
  return `${l.phase} of key ${l.key}`;
}

/** `Name: first line of the message` of anything thrown. */
export function errorLine(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.split('\n')[0]}`;
  return `thrown ${typeof error}: ${String(error).split('\n')[0]}`;
}

function errorStack(error: unknown): string {
  if (error instanceof Error) return error.stack ?? errorLine(error);
  return `${errorLine(error)} (a non-Error was thrown, so there is no stack; throw new Error(...) instead)`;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n');
}

/** A record as JSON for the quarantine (typed arrays as arrays), cut at 64 KiB. */
export function recordJson(record: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(record, (_k, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v)) ?? 'undefined';
  } catch (e) {
    s = `<not serialisable: ${(e as Error).message}>`;
  }
  return s.length > MAX_RECORD_JSON ? s.slice(0, MAX_RECORD_JSON) + '…(cut)' : s;
}
