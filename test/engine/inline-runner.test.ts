import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineSchema, fileSystemFor, joinUri } from '../../storage/index.ts';
import { defineJob, inlineRunner, JobError, BadRecordRateError, logicalDate, type MapContext } from '../../engine/index.ts';
import { runConformanceSuite } from './conformance-suite.ts';
import { runPropertySuite } from './property-suite.ts';
import { makeTempRoot, readRows, removeTempRoot, writeInput, type TempRoot } from './conformance/fixtures.ts';

runConformanceSuite(() => inlineRunner());
runPropertySuite(() => inlineRunner());
// Tiny batches: map, combine and output batching at their edges.
runPropertySuite(() => inlineRunner({ batchRows: 7, outputBatchRows: 5 }), 'inline, tiny batches');

const kv = defineSchema({ k: 'string', n: 'int32' });
const out = defineSchema({ k: 'string', first: 'int32', seen: 'int32', list: 'list<int32>', note: { type: 'string', nullable: true } });

/** Emits [k, n]; reduce reads `take` values of each group (all when take < 0). */
function groupJob(options: { take?: number; combine?: boolean; throwAt?: number; rate?: number; dataset?: string } = {}) {
  return defineJob({
    name: 'groups',
    params: logicalDate,
    steps: (step) => [
      step({
        name: 'g',
        inputs: { kv: { dataset: (p) => options.dataset ?? `kv/dt=${p.date}`, schema: kv } },
        map: {
          kv: (r: { k: string; n: number }, ctx: MapContext<[string, number], number>) => {
            if (r.n === options.throwAt) throw new Error(`n is ${r.n}`);
            ctx.emit([r.k, r.n], 1);
          },
        },
        combine: options.combine ? (key, values, ctx) => ctx.emit(key, [...values].reduce((a, b) => a + b, 0)) : undefined,
        reduce: (key, values, ctx) => {
          const take = options.take ?? -1;
          const list: number[] = [];
          for (const v of values) {
            if (take >= 0 && list.length >= take) break;
            list.push(v);
          }
          ctx.write({ k: key[0], first: key[1], seen: list.length, list });
        },
        shuffle: { groupFields: 1 },
        maxBadRecordRate: options.rate,
        output: { schema: out, dataset: (p) => `groups/dt=${p.date}` },
      }),
    ],
  });
}

describe('inline runner', () => {
  let t: TempRoot;
  const date = '2026-11-23';
  beforeEach(async () => {
    t = await makeTempRoot();
    const rows = [];
    for (const k of ['b', 'a', 'c']) for (const n of [5, 3, 9, 1, 7, 3]) rows.push({ k, n });
    await writeInput(t, `kv/dt=${date}`, kv, rows, { rowsPerFile: 5 });
  });
  afterEach(async () => {
    await removeTempRoot(t);
  });

  it('says what it is', () => {
    expect(inlineRunner().kind).toBe('inline');
  });

  it('gives reduce the group\'s first key; values a reducer leaves unread do not leak into the next group', async () => {
    const result = await inlineRunner().run(groupJob({ take: 2 }), { date }, { storageRoot: t.root });
    expect(result.steps[0]!.reduceGroups).toBe(3);
    expect(await readRows(result.steps[0]!.output)).toEqual([
      { first: 1, k: 'a', list: [1, 1], note: null, seen: 2 },
      { first: 1, k: 'b', list: [1, 1], note: null, seen: 2 },
      { first: 1, k: 'c', list: [1, 1], note: null, seen: 2 },
    ]);
  });

  it('combines per map batch', async () => {
    // Six equal keys in one file read 4 rows at a time: reduce gets one combined value per batch.
    await writeInput(t, 'kv/dt=2026-11-24', kv, Array.from({ length: 6 }, () => ({ k: 'a', n: 1 })));
    const result = await inlineRunner({ batchRows: 4 }).run(groupJob({ combine: true }), { date: '2026-11-24' }, { storageRoot: t.root });
    expect(result.steps[0]!.mapOutputRecords).toBe(6);
    expect(await readRows(result.steps[0]!.output)).toEqual([{ first: 1, k: 'a', list: [4, 2], note: null, seen: 2 }]);
  });

  it('with maxBadRecordRate 0 fails on the first bad record, its own error as cause', async () => {
    const e = await inlineRunner()
      .run(groupJob({ throwAt: 9 }), { date }, { storageRoot: t.root, maxBadRecordRate: 0 })
      .then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(BadRecordRateError);
    const err = e as BadRecordRateError;
    expect(err.badRecords).toBe(1);
    expect((err.cause as Error).message).toBe('n is 9');
    expect((err.cause as Error).stack).toMatch(/inline-runner\.test\.ts/);
    expect(err.firstBadRecord).toMatchObject({ phase: 'map', input: 'kv', row: 2 });
    expect(err.firstBadRecord.file).toMatch(/part-00000\.parquet$/);
  });

  it('a step\'s maxBadRecordRate overrides the run option', async () => {
    const job = groupJob({ throwAt: 9, rate: 0.5 });
    const result = await inlineRunner().run(job, { date }, { storageRoot: t.root, maxBadRecordRate: 0 });
    expect(result.steps[0]!.badRecords).toBe(3);
  });

  it('keeps intermediate outputs in the given work dir when asked', async () => {
    const workDir = joinUri(t.root, 'my-work');
    const two = defineJob({
      name: 'two',
      params: logicalDate,
      steps: [
        { ...groupJob().steps[0]!, output: { schema: out } },
        {
          name: 'copy',
          inputs: { g: { step: 'g', columns: ['k', 'seen'] } },
          map: { g: (r, ctx) => ctx.emit([String(r.k)], Number(r.seen)) },
          reduce: (key, values, ctx) => {
            for (const v of values) ctx.write({ k: String(key[0]), first: 0, seen: v as number, list: [] });
          },
          output: { schema: out, dataset: () => 'copied' },
        },
      ],
    });
    const result = await inlineRunner().run(two, { date }, { storageRoot: t.root, workDir, keepIntermediate: true });
    expect(result.workDir).toBe(workDir);
    expect(result.steps[0]!.output).toBe(joinUri(workDir, 'steps', 'g'));
    expect(await readRows(result.steps[0]!.output)).toHaveLength(3);
    expect((await readRows(result.steps[1]!.output)).map((r) => r.seen)).toEqual([6, 6, 6]);
  });

  it('reads inputs given as full URIs and refuses absolute paths', async () => {
    const uri = joinUri(t.root, `kv/dt=${date}`);
    const ok = await inlineRunner().run(groupJob({ dataset: uri }), { date }, { storageRoot: joinUri(t.root, 'elsewhere') });
    expect(ok.steps[0]!.recordsIn).toBe(18);
    const e = await inlineRunner()
      .run(groupJob({ dataset: '/kv' }), { date }, { storageRoot: t.root })
      .then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(JobError);
    expect((e as Error).message).toMatch(/input "kv": "\/kv" is an absolute path; return a path relative to the storage root/);
    expect(await fileSystemFor(t.root).exists(joinUri(t.root, 'groups'))).toBe(false);
  });
});
