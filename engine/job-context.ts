/**
 * What user code sees while it runs: `ctx.emit` in map and combine, `ctx.write` in reduce, `ctx.count`
 * everywhere. The collectors behind them buffer one call's effects and keep them only if the call returns,
 * so a record that throws contributes nothing but its bad-record entry, in every runner.
 */
import { CounterSet, checkCounterArgs } from './counters.ts';
import { compareKeys, type Key } from './key-order.ts';
import { checkKey, copyValue } from './shippable.ts';
import type { OutputColumns } from './output-columns.ts';

/** What every context offers. */
export interface StepContext<P = unknown> {
  /** The job's parameters, as its params schema parsed them. */
  readonly params: P;
  readonly job: string;
  readonly step: string;
  /** Adds `n` (default 1) to counter `group`/`name`; the runner sums counters per step. */
  count(group: string, name: string, n?: number): void;
}

/** The context of a map call. */
export interface MapContext<K extends Key = Key, V = unknown, P = unknown> extends StepContext<P> {
  /** The name of the input the record came from. */
  readonly input: string;
  /** Emits one key/value pair to the shuffle; the key and value are copied. */
  emit(key: K, value: V): void;
  /**
   * Rejects the record as expected garbage (a malformed log line): counts counter `rejected`/`reason` and
   * samples the record with its file, row, reason and `detail` into the quarantine, without counting it as a
   * bad record. Pairs the call emits still go to the shuffle; if the call throws, the reject is dropped with them.
   */
  reject(reason: string, detail?: string): void;
}

/** The context of a combine call: it must emit the key it was given (values of the same type). */
export interface CombineContext<K extends Key = Key, V = unknown, P = unknown> extends StepContext<P> {
  emit(key: K, value: V): void;
}

/**
 * A record a reducer writes: the output schema's fields (a missing field is null). Lists may be plain
 * arrays (`list<int32>` also an Int32Array); timestamps are epoch milliseconds.
 */
export type OutputRecord = Readonly<Record<string, string | number | boolean | readonly string[] | readonly number[] | Int32Array | null | undefined>>;

/** The context of a reduce call. */
export interface ReduceContext<P = unknown> extends StepContext<P> {
  /** Writes one output record; it is checked against the step's output schema (unknown fields are an error). */
  write(record: OutputRecord): void;
}

/** One key/value pair of map output on its way through the shuffle. */
export interface ShufflePair {
  readonly key: Key;
  readonly value: unknown;
}

/** Where a collector's context lives: job, step, params and the step's counters. */
export interface TaskEnv<P = unknown> {
  readonly job: string;
  readonly step: string;
  readonly params: P;
  readonly counters: CounterSet;
}

/** What every user-code context shares: counters and output kept per call, dropped when a call throws. */
abstract class Collector<P, T> implements StepContext<P> {
  out: T[] = [];
  private mark = 0;
  readonly params: P;
  readonly job: string;
  readonly step: string;
  // A call's counts, kept in parallel arrays: a map call may count once per record, and a tuple per count cost
  // ~1 s of 37 in the refresher's map phase.
  private readonly pendingGroups: string[] = [];
  private readonly pendingNames: string[] = [];
  private readonly pendingNs: number[] = [];
  private pendingCount = 0;

  constructor(protected readonly env: TaskEnv<P>) {
    this.params = env.params;
    this.job = env.job;
    this.step = env.step;
  }

  count(group: string, name: string, n = 1): void {
    checkCounterArgs(group, name, n);
    const k = this.pendingCount++;
    this.pendingGroups[k] = group;
    this.pendingNames[k] = name;
    this.pendingNs[k] = n;
  }

  /** Starts a call. */
  begin(): void {
    this.mark = this.out.length;
  }

  /** Keeps the call's output and counts. */
  commit(): void {
    for (let k = 0; k < this.pendingCount; k++) this.env.counters.add(this.pendingGroups[k]!, this.pendingNames[k]!, this.pendingNs[k]!);
    this.pendingCount = 0;
  }

  /** Drops the call's output and counts. */
  rollback(): void {
    this.out.length = this.mark;
    this.pendingCount = 0;
  }

  /** Hands over the output collected so far. */
  take(): T[] {
    const out = this.out;
    this.out = [];
    this.mark = 0;
    return out;
  }
}

/**
 * Where a map collector's pairs go instead of its `out` array: the local runner encodes each pair into its
 * shuffle buffers at emit, with no copy and no pair object.
 */
export interface PairSink {
  /** Checks and takes one pair; throws what `checkKey` or `copyValue` would throw for a bad key or value. */
  emit(key: Key, value: unknown, where: string): void;
  /** Keeps the pairs emitted since the last commit or rollback. */
  commit(): void;
  /** Drops the pairs emitted since the last commit or rollback (the map call threw). */
  rollback(): void;
}

/** Collects the pairs map calls emit (in `out`, or into a sink); a failed call's pairs are dropped. */
export class MapCollector<P = unknown> extends Collector<P, ShufflePair> implements MapContext<Key, unknown, P> {
  input = '';
  /** The current call's rejects, `[reason, detail]`, kept on commit by the map task (which knows the record's location). */
  readonly rejects: [reason: string, detail: string | null][] = [];
  /** Pairs kept from calls that returned. */
  pairsOut = 0;
  private callPairs = 0;
  private readonly where: string;

  constructor(
    env: TaskEnv<P>,
    private readonly sink?: PairSink,
  ) {
    super(env);
    this.where = `step "${env.step}" map emit`;
  }

  emit(key: Key, value: unknown): void {
    if (this.sink) this.sink.emit(key, value, this.where);
    else this.out.push({ key: checkKey(key, this.where), value: copyValue(value, this.where) });
    this.callPairs++;
  }

  override commit(): void {
    super.commit();
    this.sink?.commit();
    this.pairsOut += this.callPairs;
    this.callPairs = 0;
  }

  reject(reason: string, detail?: string): void {
    if (typeof reason !== 'string' || reason === '') throw new TypeError(`reject(reason, detail?): reason must be a non-empty string, got ${String(reason)}`);
    if (detail !== undefined && typeof detail !== 'string') throw new TypeError(`reject("${reason}", detail): detail must be a string when given, got ${typeof detail}`);
    this.count('rejected', reason);
    this.rejects.push([reason, detail ?? null]);
  }

  override rollback(): void {
    super.rollback();
    this.sink?.rollback();
    this.callPairs = 0;
    this.rejects.length = 0;
  }
}

/** Collects what combine calls emit, checking each keeps the key it was given. */
export class CombineCollector<P = unknown> extends Collector<P, ShufflePair> implements CombineContext<Key, unknown, P> {
  key: Key = [];
  private readonly where: string;

  constructor(env: TaskEnv<P>) {
    super(env);
    this.where = `step "${env.step}" combine emit`;
  }

  emit(key: Key, value: unknown): void {
    const k = checkKey(key, this.where);
    if (compareKeys(k, this.key) !== 0) {
      throw new TypeError(
        `${this.where}: a combiner must emit the key it was given (${JSON.stringify(this.key)}), got ${JSON.stringify(k)}`,
      );
    }
    this.out.push({ key: this.key, value: copyValue(value, this.where) });
  }

  /** Starts a call for `key`. */
  override begin(key: Key = this.key): void {
    this.key = key;
    super.begin();
  }
}

/**
 * Puts the records reduce calls write into the output columns, checked against the output schema; a call that
 * throws leaves none of its records there.
 */
export class ReduceCollector<P = unknown> extends Collector<P, never> implements ReduceContext<P> {
  private rowMark = 0;

  constructor(
    env: TaskEnv<P>,
    private readonly output: OutputColumns,
  ) {
    super(env);
  }

  write(record: OutputRecord): void {
    this.output.append(record);
  }

  override begin(): void {
    super.begin();
    this.rowMark = this.output.rows;
  }

  override rollback(): void {
    super.rollback();
    this.output.truncate(this.rowMark);
  }
}
