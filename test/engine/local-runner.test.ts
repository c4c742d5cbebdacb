import { readdirSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSystemFor, isComplete, joinUri, localPath } from '../../storage/index.ts';
import { BadRecordRateError, inlineRunner, JobError, localRunner, type JobResult, type JobRunner } from '../../engine/index.ts';
import { seededRandom } from '../../udfs/index.ts';
import { runConformanceSuite } from './conformance-suite.ts';
import { runPropertySuite } from './property-suite.ts';
import { makeTempRoot, readRows, removeTempRoot, writeInput, type TempRoot } from './conformance/fixtures.ts';
import { linesSchema, wordCountJob } from './conformance/word-count.ts';
import { misnamedJob, numbersJob, numbersSchema } from './local-jobs.ts';
import { MergedPairs, mergePasses, RunReader, RunWriter } from '../../engine/shuffle-runs.ts';
import { compareKeys, type Key } from '../../engine/index.ts';

function readdirFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

runConformanceSuite(() => localRunner({ workers: 2 }), 'local, 2 workers');
runPropertySuite(() => localRunner({ workers: 2 }), 'local, 2 workers');

// The property suite again with a memory cap of a few KiB, so every map task spills sorted runs.
let spilledInSuite = 0;
function spillCounting(runner: JobRunner): JobRunner {
  return {
    kind: runner.kind,
    async run(job, params, options): Promise<JobResult> {
      const result = await runner.run(job, params, options);
      for (const s of result.steps) spilledInSuite += s.spilledRuns ?? 0;
      return result;
    },
  };
}
runPropertySuite(() => spillCounting(localRunner({ workers: 2, memoryMb: 0.004, batchRows: 16 })), 'local, spilling');
describe('engine properties (local, spilling)', () => {
  it('did spill sorted runs', () => {
    expect(spilledInSuite).toBeGreaterThan(0);
  });
});

describe('local runner', () => {
  let t: TempRoot;
  const date = '2026-11-23';
  beforeEach(async () => {
    t = await makeTempRoot('courier-local-');
  });
  afterEach(async () => {
    await removeTempRoot(t);
  });

  it('says what it is', () => {
    expect(localRunner().kind).toBe('local');
  });

  it('merges more runs than the merge factor in passes, keeping the earlier run first on equal keys', async () => {
    const rnd = seededRandom(3);
    const dir = path.join(t.dir, 'runs');
    await fsp.mkdir(dir);
    const all: { key: Key; value: unknown }[] = [];
    const runs: string[] = [];
    for (let r = 0; r < 11; r++) {
      const pairs = Array.from({ length: rnd.int(30) }, (_, i) => ({ key: [rnd.pick(['a', 'b', 'é', '😀']), rnd.int(5)] as Key, value: { r, i } }));
      pairs.sort((a, b) => compareKeys(a.key, b.key));
      all.push(...pairs);
      const file = path.join(dir, `run-${r}.run`);
      const writer = new RunWriter(file);
      for (const p of pairs) writer.add(p.key, p.value);
      writer.close();
      runs.push(file);
    }
    const merged = await mergePasses(runs, path.join(dir, 'merged'), 3);
    expect(merged.length).toBeLessThanOrEqual(3);
    const readers = merged.map((file) => new RunReader(file));
    // A stable sort of all pairs in run order is the inline runner's order.
    const expected = [...all].sort((a, b) => compareKeys(a.key, b.key));
    const got: { key: Key; value: unknown }[] = [];
    for (const m = new MergedPairs(readers); m.next(); ) got.push({ key: m.key, value: m.value });
    expect(got).toEqual(expected);
    for (const r of readers) r.close();
  });

  it('spills sorted runs under a tiny memory cap and still equals the inline runner', async () => {
    const rnd = seededRandom(7);
    const words = Array.from({ length: 300 }, (_, i) => `w${i}${rnd.pick(['', 'é', '😀'])}`);
    const rows = Array.from({ length: 6000 }, () => ({ n: rnd.int(1000), word: rnd.pick(words) }));
    await writeInput(t, `numbers/dt=${date}`, numbersSchema, rows, { rowsPerFile: 1000 });
    const job = numbersJob({ reducers: 3 });
    const spilled = await localRunner({ workers: 2, memoryMb: 0.01, batchRows: 100 }).run(job, { date }, { storageRoot: t.root, keepIntermediate: true });
    const step = spilled.steps[0]!;
    expect(step.spilledRuns).toBeGreaterThan(0);
    expect(step.recordsIn).toBe(6000);
    expect(step.mapOutputRecords).toBe(6000);
    const local = await readRows(step.output);

    const reference = await inlineRunner().run(job, { date }, { storageRoot: t.root, overwrite: true });
    expect(local).toEqual(await readRows(reference.steps[0]!.output));
    expect(local).toHaveLength(300);
    // Spill files are removed after the step.
    await expect(fsp.readdir(path.join(localPath(spilled.workDir), '_spill'))).rejects.toThrow();

    const unspilled = await localRunner({ workers: 2 }).run(job, { date }, { storageRoot: t.root, overwrite: true });
    expect(unspilled.steps[0]!.spilledRuns).toBe(0);
    expect(unspilled.steps[0]!.marker.files.length).toBeGreaterThan(0);
    expect(await readRows(unspilled.steps[0]!.output)).toEqual(local);
  });

  it('reads a large Parquet file as several row-range map tasks: same output as inline, bad records located by file row', async () => {
    // 300k rows in one file: more than the smallest split (2 row groups of 122,880), so two workers share it.
    const rows = Array.from({ length: 300_000 }, (_, i) => ({ n: i + 1, word: `w${i % 101}` }));
    await writeInput(t, `numbers/dt=${date}`, numbersSchema, rows, { rowsPerFile: 300_000 });
    const job = numbersJob({ throwEvery: 40_000 });
    const progressIn: number[] = [];
    const local = await localRunner({ workers: 2 }).run(job, { date }, { storageRoot: t.root, maxBadRecordRate: 0.01, onProgress: (p) => progressIn.push(p.recordsIn) });
    const step = local.steps[0]!;
    expect(step.recordsIn).toBe(300_000);
    expect(progressIn.at(-1)).toBe(300_000);
    const bad = (await readRows(step.quarantine!)).map((q) => q.row as number).sort((a, b) => a - b);
    // n = 40000k sits at row 40000k - 1 of the file, in whichever range it falls.
    expect(bad).toEqual([39_999, 79_999, 119_999, 159_999, 199_999, 239_999, 279_999]);
    const reference = await inlineRunner().run(job, { date }, { storageRoot: t.root, overwrite: true, maxBadRecordRate: 0.01 });
    expect(await readRows(step.output)).toEqual(await readRows(reference.steps[0]!.output));
  });

  it('stops combining a map task whose combiner does not shrink its output, and still equals the inline runner', async () => {
    // 30k rows: the first 25k words distinct (the combiner keeps every value, so the task stops combining
    // after its trial), then 5k rows over 50 words that the reducers must still sum with the rest.
    const rows = Array.from({ length: 30_000 }, (_, i) => ({ n: i, word: i < 25_000 ? `u${i}` : `w${i % 50}` }));
    rows.push(...Array.from({ length: 50 }, (_, i) => ({ n: 7, word: `u${i}` })));
    await writeInput(t, `numbers/dt=${date}`, numbersSchema, rows, { rowsPerFile: 40_000 });
    const job = numbersJob({ reducers: 2 });
    const local = await localRunner({ workers: 2 }).run(job, { date }, { storageRoot: t.root });
    const reference = await inlineRunner().run(job, { date }, { storageRoot: t.root, overwrite: true });
    const out = await readRows(local.steps[0]!.output);
    expect(out).toEqual(await readRows(reference.steps[0]!.output));
    expect(out).toHaveLength(25_050);
    expect(out.find((r) => r.word === 'u3')).toEqual({ word: 'u3', total: 10, count: 2 });
  });

  it('spills into the spillDir option when given (engine.local.spillDir), and removes its files after the step', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ({ n: i, word: `w${i % 97}` }));
    await writeInput(t, `numbers/dt=${date}`, numbersSchema, rows, { rowsPerFile: 500 });
    const spillDir = path.join(t.dir, 'my-spill');
    const seen: string[] = [];
    const job = numbersJob({ reducers: 2 });
    const result = await localRunner({ workers: 2, memoryMb: 0.01, batchRows: 100, spillDir }).run(job, { date }, {
      storageRoot: t.root,
      onProgress: (p) => {
        // The first reduce progress comes after every map task wrote its runs.
        if (p.phase === 'reduce' && seen.length === 0) seen.push(...readdirFiles(spillDir));
      },
    });
    expect(result.steps[0]!.spilledRuns).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((f) => f.endsWith('.run'))).toBe(true);
    expect(readdirFiles(spillDir)).toEqual([]);
    await expect(fsp.readdir(path.join(localPath(result.workDir), '_spill'))).rejects.toThrow();
    const reference = await inlineRunner().run(job, { date }, { storageRoot: t.root, overwrite: true });
    expect(await readRows(result.steps[0]!.output)).toEqual(await readRows(reference.steps[0]!.output));
  });

  it('a map that throws past the rate fails the step: no _SUCCESS, quarantine written, real error and location', async () => {
    const rows = Array.from({ length: 400 }, (_, i) => ({ n: i + 1, word: `w${i % 7}` }));
    await writeInput(t, `numbers/dt=${date}`, numbersSchema, rows, { rowsPerFile: 100 });
    const workDir = joinUri(t.root, 'work');
    const e = await localRunner({ workers: 2 })
      .run(numbersJob({ throwEvery: 50 }), { date }, { storageRoot: t.root, workDir, maxBadRecordRate: 0.01 })
      .then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(BadRecordRateError);
    const err = e as BadRecordRateError;
    // 400 records allow 4 bad ones; the fifth (n = 250, in the third file) fails the step.
    expect(err.badRecords).toBe(5);
    expect(err.firstBadRecord).toMatchObject({ phase: 'map', input: 'numbers', row: 49 });
    expect(err.firstBadRecord.file).toMatch(/part-00000\.parquet$/);
    expect(err.cause).toBeInstanceOf(RangeError);
    expect((err.cause as Error).message).toBe('n 50 is a multiple of 50');
    expect((err.cause as Error).stack).toMatch(/local-jobs\.ts/);
    // It ran on a worker thread.
    expect((err.cause as Error).stack).toMatch(/local-worker\.ts/);
    expect(err.message).toContain('1 × map: RangeError: n 50 is a multiple of 50');

    const output = joinUri(t.root, `totals/dt=${date}`);
    expect(await isComplete(fileSystemFor(output), output)).toBe(false);
    expect(await fileSystemFor(output).exists(joinUri(output, '_SUCCESS'))).toBe(false);
    const quarantine = await readRows(joinUri(workDir, '_quarantine', 'totals'));
    expect(quarantine.map((q) => q.row).sort()).toEqual([49, 49, 49, 99, 99]);
    expect(quarantine.every((q) => q.phase === 'map' && /RangeError: n \d+ is a multiple of 50/.test(String(q.error)))).toBe(true);
  });

  it('runs a job without a source in its own thread, and names a source that does not load', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ n: i, word: `w${i % 5}` }));
    await writeInput(t, `numbers/dt=${date}`, numbersSchema, rows, { rowsPerFile: 20 });
    const { source: _source, ...definition } = numbersJob();
    const threadless = await localRunner({ workers: 2 }).run(definition, { date }, { storageRoot: t.root });
    expect(threadless.steps[0]!.recordsOut).toBe(5);

    const e = await localRunner({ workers: 2 })
      .run(misnamedJob, { date }, { storageRoot: t.root, overwrite: true })
      .then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(JobError);
    expect((e as Error).message).toMatch(/map task of .*part-00000\.parquet failed: .*has no export "noSuchJob"/);
    const output = joinUri(t.root, `totals/dt=${date}`);
    // The earlier complete output stays as it was.
    expect(await isComplete(fileSystemFor(output), output)).toBe(true);
  });

  it('word count with workers: 0 equals the same run on workers', async () => {
    const lines = Array.from({ length: 120 }, (_, i) => ({ line_no: i, text: `a b c${i % 9} d${i % 4}` }));
    await writeInput(t, `text/dt=${date}`, linesSchema, lines, { rowsPerFile: 30 });
    const a = await localRunner({ workers: 0 }).run(wordCountJob(), { date }, { storageRoot: t.root });
    const rowsA = await readRows(a.steps[0]!.output);
    const b = await localRunner({ workers: 2, reducers: 5 }).run(wordCountJob(), { date }, { storageRoot: t.root, overwrite: true });
    expect(await readRows(b.steps[0]!.output)).toEqual(rowsA);
    expect(rowsA.find((r) => r.word === 'a')).toEqual({ word: 'a', count: 120 });
  });
});
