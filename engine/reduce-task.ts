/**
 * The reduce side of a step, free of I/O: walks key-sorted pairs, cuts them into groups on the first
 * `groupFields` key parts, calls the reducer once per group with a single-pass stream of its values, and
 * yields the records it writes. Sorted pairs may come from memory (inline) or a merge of spilled runs.
 */
import type { Row } from '../storage/index.ts';
import type { AnyStep } from './job-definition.ts';
import { ReduceCollector, type ShufflePair } from './job-context.ts';
import { compareKeys, type Key } from './key-order.ts';
import { outputRecordCheck } from './output-record.ts';
import { isThenable, type MapTaskEnv } from './map-task.ts';

const SAMPLE_VALUES = 20;

/** Reduces one partition's sorted pairs. */
export class ReduceTask<P = unknown> {
  private readonly reducer: (key: Key, values: Iterable<unknown>, ctx: ReduceCollector<P>) => unknown;
  private readonly ctx: ReduceCollector<P>;
  /** Reduce calls made. */
  groups = 0;

  constructor(
    private readonly env: MapTaskEnv<P>,
    step: AnyStep<P>,
    private readonly groupFields: number,
  ) {
    this.reducer = step.reduce as (key: Key, values: Iterable<unknown>, ctx: ReduceCollector<P>) => unknown;
    this.ctx = new ReduceCollector(env, outputRecordCheck(step.output.schema, `step "${step.name}" reduce write`));
  }

  /** Yields, group by group, the records the reducer writes for `sorted` (pairs in key order). */
  *reduceSorted(sorted: Iterable<ShufflePair>): Generator<Row[]> {
    const it = sorted[Symbol.iterator]();
    let cur = it.next();
    const gf = this.groupFields;
    const where = `step "${this.env.step}" reduce`;
    while (!cur.done) {
      const groupKey = cur.value.key;
      const sample: unknown[] = [];
      let count = 0;
      let started = false;
      let ended = false;
      const inGroup = (): boolean => !cur.done && compareKeys(cur.value.key, groupKey, gf) === 0;
      const next = (): IteratorResult<unknown> => {
        if (ended || !inGroup()) {
          ended = true;
          return { done: true, value: undefined };
        }
        const v = (cur as IteratorYieldResult<ShufflePair>).value.value;
        if (sample.length < SAMPLE_VALUES) sample.push(v);
        count++;
        cur = it.next();
        return { done: false, value: v };
      };
      const values: Iterable<unknown> = {
        [Symbol.iterator]() {
          if (started) throw new TypeError(`${where}: values can be iterated once (they stream from the shuffle); copy them with Array.from(values) for a second pass`);
          started = true;
          return { next };
        },
      };
      this.groups++;
      const ctx = this.ctx;
      ctx.begin();
      let failed: unknown;
      let threw = false;
      try {
        const r = this.reducer(groupKey, values, ctx);
        if (isThenable(r)) throw new TypeError(`${where} returned a Promise; reducers are synchronous`);
      } catch (error) {
        threw = true;
        failed = error;
      }
      // Values the reducer left unread belong to this group all the same.
      while (next().done === false);
      if (threw) {
        ctx.rollback();
        const key = JSON.stringify(groupKey);
        this.env.bad.add({ phase: 'reduce', input: null, file: null, row: null, key }, failed, { key: groupKey, values: sample, valueCount: count });
      } else {
        ctx.commit();
      }
      const rows = ctx.take();
      if (rows.length > 0) yield rows;
    }
  }
}
