/**
 * The map side of a step, free of I/O so every runner (inline, worker threads, a cluster bundle) runs the
 * same code: map each record of one input, drop and log the records that throw, then combine the batch's
 * pairs per key.
 */
import type { Row } from '../storage/index.ts';
import type { AnyStep } from './job-definition.ts';
import { CombineCollector, MapCollector, type PairSink, type ShufflePair, type TaskEnv } from './job-context.ts';
import type { Key } from './key-order.ts';
import type { BadRecordLog } from './bad-records.ts';
import { onceIterable } from './once-iterable.ts';

/** A task's environment plus the step's bad-record log. */
export interface MapTaskEnv<P> extends TaskEnv<P> {
  readonly bad: BadRecordLog;
}

/** Maps the records of one input of one step. */
export class MapTask<P = unknown> {
  private readonly mapper: (record: Row, ctx: MapCollector<P>) => unknown;
  private readonly ctx: MapCollector<P>;
  private readonly combiner: CombineTask<P> | undefined;

  /**
   * `combinePerBatch: false` leaves combining to the caller (the local runner combines each sorted run
   * instead); a `sink` takes the pairs as they are emitted (`mapRows` then returns none).
   */
  constructor(
    private readonly env: MapTaskEnv<P>,
    step: AnyStep<P>,
    readonly input: string,
    options: { combinePerBatch?: boolean; sink?: PairSink } = {},
  ) {
    this.mapper = step.map[input] as (record: Row, ctx: MapCollector<P>) => unknown;
    this.ctx = new MapCollector(env, options.sink);
    this.ctx.input = input;
    this.combiner = step.combine && options.combinePerBatch !== false ? new CombineTask(env, step) : undefined;
  }

  /** Pairs emitted by map calls that returned, before combining. */
  get mapOutputRecords(): number {
    return this.ctx.pairsOut;
  }

  /** Maps rows read from `file` (the first at row index `firstRow`), then combines them (unless told not to); returns the pairs. */
  mapRows(rows: readonly Row[], file: string, firstRow: number): ShufflePair[] {
    const ctx = this.ctx;
    for (let i = 0; i < rows.length; i++) {
      const record = rows[i]!;
      ctx.begin();
      try {
        const r = this.mapper(record, ctx);
        if (isThenable(r)) throw new TypeError(`step "${this.env.step}" map.${this.input} returned a Promise; mappers are synchronous`);
        ctx.commit();
        if (ctx.rejects.length > 0) {
          for (const [reason, detail] of ctx.rejects) this.env.bad.reject({ input: this.input, file, row: firstRow + i }, reason, detail, record);
          ctx.rejects.length = 0;
        }
      } catch (error) {
        ctx.rollback();
        this.env.bad.add({ phase: 'map', input: this.input, file, row: firstRow + i }, error, record);
      }
    }
    const pairs = ctx.take();
    return this.combiner ? this.combiner.combine(pairs) : pairs;
  }
}

/** Applies a step's combiner to one batch of map output, per distinct key. */
export class CombineTask<P = unknown> {
  private readonly combiner: (key: unknown, values: Iterable<unknown>, ctx: CombineCollector<P>) => unknown;
  private readonly ctx: CombineCollector<P>;

  constructor(
    private readonly env: MapTaskEnv<P>,
    step: AnyStep<P>,
  ) {
    this.combiner = step.combine as (key: unknown, values: Iterable<unknown>, ctx: CombineCollector<P>) => unknown;
    this.ctx = new CombineCollector(env);
  }

  /** Combines pairs with equal keys (all parts); keys keep their first-seen order. */
  combine(pairs: readonly ShufflePair[]): ShufflePair[] {
    const groups = new Map<string, ShufflePair[]>();
    for (const p of pairs) {
      const id = JSON.stringify(p.key);
      const g = groups.get(id);
      if (g) g.push(p);
      else groups.set(id, [p]);
    }
    this.ctx.out = [];
    for (const group of groups.values()) this.combineGroup(group[0]!.key, group.map((p) => p.value));
    return this.take();
  }

  /**
   * Calls the combiner on one key's values; its pairs collect until `take`. A call that throws is a bad
   * record of phase combine, and its pairs are dropped.
   */
  combineGroup(key: Key, values: readonly unknown[]): void {
    const ctx = this.ctx;
    ctx.begin(key);
    try {
      const r = this.combiner(key, onceIterable(values, `step "${this.env.step}" combine`), ctx);
      if (isThenable(r)) throw new TypeError(`step "${this.env.step}" combine returned a Promise; combiners are synchronous`);
      ctx.commit();
    } catch (error) {
      ctx.rollback();
      this.env.bad.add({ phase: 'combine', input: null, file: null, row: null, key: JSON.stringify(key) }, error, { key, values: values.slice(0, 20), valueCount: values.length });
    }
  }

  /** Hands over the pairs combined since the last take. */
  take(): ShufflePair[] {
    return this.ctx.take();
  }
}

/** True for a Promise or other thenable. */
export function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
