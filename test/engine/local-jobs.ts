/**
 * Jobs of the local runner's own tests, importable by worker threads (each names its `source`). Kept free
 * of vitest so a worker can load it.
 */
import { defineSchema } from '../../storage/index.ts';
import { defineJob, logicalDate, type MapContext } from '../../engine/index.ts';

export const numbersSchema = defineSchema({ n: 'int32', word: 'string' });
export const totalsSchema = defineSchema({ word: 'string', total: 'int64', count: 'int32' });

/** Sums `n` per word; map throws on every record whose n is a multiple of `throwEvery` (0: never). */
export function numbersJob(options: { throwEvery?: number; reducers?: number } = {}) {
  return defineJob({
    name: 'numbers',
    params: logicalDate,
    source: { module: import.meta.url, export: 'numbersJob', args: [options] },
    steps: (step) => [
      step({
        name: 'totals',
        inputs: { numbers: { dataset: (p) => `numbers/dt=${p.date}`, schema: numbersSchema } },
        map: {
          numbers: (r: { n: number; word: string }, ctx: MapContext<[string], { total: number; count: number }>) => {
            if (options.throwEvery && r.n % options.throwEvery === 0) throw new RangeError(`n ${r.n} is a multiple of ${options.throwEvery}`);
            ctx.emit([r.word], { total: r.n, count: 1 });
          },
        },
        combine: (key, values, ctx) => {
          let total = 0;
          let count = 0;
          for (const v of values) {
            total += v.total;
            count += v.count;
          }
          ctx.emit(key, { total, count });
        },
        reduce: (key, values, ctx) => {
          let total = 0;
          let count = 0;
          for (const v of values) {
            total += v.total;
            count += v.count;
          }
          ctx.write({ word: key[0], total, count });
        },
        shuffle: { reducers: options.reducers ?? 3 },
        output: { schema: totalsSchema, dataset: (p) => `totals/dt=${p.date}` },
      }),
    ],
  });
}

/** A job whose source names an export that does not exist. */
export const misnamedJob = defineJob({
  ...numbersJob(),
  source: { module: import.meta.url, export: 'noSuchJob' },
});
