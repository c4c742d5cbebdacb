/**
 * The reduce side of a step, free of I/O: walks key-sorted pairs, cuts them into groups on the first
 * `groupFields` key parts, calls the reducer once per group with a single-pass stream of its values, and
 * yields the records it writes as column batches. Sorted pairs may come from memory (inline) or a merge of
 * spilled runs.
 */
import type { ColumnBatch } from '../storage/index.ts';
import type { AnyStep } from './job-definition.ts';
import { ReduceCollector, type ShufflePair } from './job-context.ts';
import { compareKeys, type Key } from './key-order.ts';
import { OutputColumns } from './output-columns.ts';
import { isThenable, type MapTaskEnv } from './map-task.ts';

const SAMPLE_VALUES = 20;

/** Reduces one partition's sorted pairs. */
export class ReduceTask<P = unknown> {
  private readonly reducer: (key: Key, values: Iterable<unknown>, ctx: ReduceCollector<P>) => unknown;
  private readonly ctx: ReduceCollector<P>;
  private readonly output: OutputColumns;
  /** Reduce calls made. */
  groups = 0;

  constructor(
    private readonly env: MapTaskEnv<P>,
    step: AnyStep<P>,
    private readonly groupFields: number,
  ) {
    this.reducer = step.reduce as (key: Key, values: Iterable<unknown>, ctx: ReduceCollector<P>) => unknown;
    this.output = new OutputColumns(step.output.schema, `step "${step.name}" reduce write`);
    this.ctx = new ReduceCollector(env, this.output);
  }

  /**
   * Yields the records the reducer writes for `sorted` (pairs in key order) as batches of at least `batchRows`
   * rows (cut between groups), the last one smaller.
   */
  *reduceSorted(sorted: SortedPairs, batchRows: number): Generator<ColumnBatch> {
    const cursor = new PairCursor(sorted);
    const gf = this.groupFields;
    const where = `step "${this.env.step}" reduce`;
    while (!cursor.done) {
      const groupKey = cursor.key;
      const values = new GroupValues(cursor, groupKey, gf, where);
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
      while (values.next().done === false);
      if (threw) {
        ctx.rollback();
        const key = JSON.stringify(groupKey);
        this.env.bad.add({ phase: 'reduce', input: null, file: null, row: null, key }, failed, { key: groupKey, values: values.sample, valueCount: values.count });
      } else {
        ctx.commit();
      }
      if (this.output.rows >= batchRows) yield this.output.take();
    }
    if (this.output.rows > 0) yield this.output.take();
  }
}

/**
 * Key-sorted pairs as a cursor: the merge of spilled runs decodes one pair at a time into it, so no object
 * is made per pair.
 */
export interface SortedPairs {
  /** Moves to the next pair; false past the last. */
  next(): boolean;
  /** The current pair's key. */
  readonly key: Key;
  /** The current pair's value. */
  readonly value: unknown;
}

/** Pairs already sorted in memory (the inline runner's) as a cursor. */
export class ArrayPairs implements SortedPairs {
  private i = -1;
  key: Key = [];
  value: unknown;

  constructor(private readonly pairs: readonly ShufflePair[]) {}

  next(): boolean {
    const p = this.pairs[++this.i];
    if (!p) return false;
    this.key = p.key;
    this.value = p.value;
    return true;
  }
}

/** The next unconsumed pair of a sorted stream. */
class PairCursor {
  key: Key = [];
  value: unknown;
  done = false;

  constructor(private readonly pairs: SortedPairs) {
    this.advance();
  }

  advance(): void {
    if (this.pairs.next()) {
      this.key = this.pairs.key;
      this.value = this.pairs.value;
    } else {
      this.done = true;
    }
  }
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * The values of one group as a single-pass iterable, pulled from the cursor while keys stay in the group. A
 * class rather than closures: one is made per group, and closures cost a name definition each under tsx.
 */
class GroupValues implements Iterable<unknown>, Iterator<unknown> {
  readonly sample: unknown[] = [];
  count = 0;
  private started = false;
  private ended = false;

  constructor(
    private readonly cursor: PairCursor,
    private readonly groupKey: Key,
    private readonly groupFields: number,
    private readonly where: string,
  ) {}

  [Symbol.iterator](): Iterator<unknown> {
    if (this.started) throw new TypeError(`${this.where}: values can be iterated once (they stream from the shuffle); copy them with Array.from(values) for a second pass`);
    this.started = true;
    return this;
  }

  next(): IteratorResult<unknown> {
    const c = this.cursor;
    if (this.ended || c.done || (c.key !== this.groupKey && compareKeys(c.key, this.groupKey, this.groupFields) !== 0)) {
      this.ended = true;
      return DONE;
    }
    const v = c.value;
    if (this.sample.length < SAMPLE_VALUES) this.sample.push(v);
    this.count++;
    c.advance();
    return { done: false, value: v };
  }
}
