/**
 * The local runner on the DuckDB shuffle (`engine.local.shuffle: duckdb`): the conformance and property
 * suites unchanged, a run whose DuckDB sort is forced to spill, and the record bytes' trip through DuckDB.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineRunner, localRunner, type JobResult, type JobRunner } from '../../engine/index.ts';
import { compareSortKeys, readSortKey, writeSortKey, type Key } from '../../engine/key-order.ts';
import { ParquetRunWriter, sortedRuns, wholeGroups } from '../../engine/duckdb-shuffle.ts';
import { PairBuffer } from '../../engine/shuffle-runs.ts';
import { localPath } from '../../storage/index.ts';
import { seededRandom } from '../../udfs/index.ts';
import { runConformanceSuite } from './conformance-suite.ts';
import { runPropertySuite } from './property-suite.ts';
import { makeTempRoot, readRows, removeTempRoot, writeInput, type TempRoot } from './conformance/fixtures.ts';
import { numbersJob, numbersSchema } from './local-jobs.ts';

runConformanceSuite(() => localRunner({ workers: 2, shuffle: 'duckdb' }), 'local, DuckDB shuffle');
runPropertySuite(() => localRunner({ workers: 2, shuffle: 'duckdb' }), 'local, DuckDB shuffle');

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
runPropertySuite(() => spillCounting(localRunner({ workers: 2, memoryMb: 0.004, batchRows: 16, shuffle: 'duckdb' })), 'local, DuckDB shuffle, map tasks spilling');
describe('engine properties (local, DuckDB shuffle, map tasks spilling)', () => {
  it('did spill runs', () => {
    expect(spilledInSuite).toBeGreaterThan(0);
  });
});

describe('DuckDB shuffle', () => {
  let t: TempRoot;
  const date = '2026-11-23';
  beforeEach(async () => {
    t = await makeTempRoot('courier-duckdb-shuffle-');
  });
  afterEach(async () => {
    await removeTempRoot(t);
  });

  it('sorts runs by sort-key bytes, then run, then row, and hands over whole groups', async () => {
    const rnd = seededRandom(11);
    const parts = ['', 'a', 'ab', 'B', 'é', '😀', '｡', 'x'.repeat(40), '\u0000', 'zz'];
    const all: { key: Key; value: unknown; run: number; row: number }[] = [];
    const files: string[] = [];
    for (let run = 0; run < 4; run++) {
      const buffer = new PairBuffer();
      const n = 500 + rnd.int(3000);
      for (let row = 0; row < n; row++) {
        const key: Key = rnd.chance(0.3) ? [rnd.int(50) - 25, rnd.pick(parts)] : [rnd.pick(parts) + rnd.pick(parts), rnd.int(3)];
        const value = { run, row, pad: 'v'.repeat(rnd.int(30)) };
        buffer.add(key, value);
        all.push({ key, value, run, row });
      }
      const file = path.join(t.dir, `t${String(run).padStart(5, '0')}-p0000-r0000.parquet`);
      const writer = await ParquetRunWriter.open(file);
      buffer.drainInOrder((data, start, end) => writer.copy(data, start, end));
      await writer.close();
      files.push(file);
    }
    const bytesOf = (k: Key): Buffer => {
      const b = Buffer.alloc(4096);
      return b.subarray(0, writeSortKey(k, b, 0));
    };
    const expected = [...all].sort((a, b) => {
      const x = bytesOf(a.key);
      const y = bytesOf(b.key);
      return compareSortKeys(x, 0, x.length, y, 0, y.length) || a.run - b.run || a.row - b.row;
    });
    const got: { key: Key; value: unknown }[] = [];
    const stats = { spilledFiles: 0 };
    for await (const piece of wholeGroups(sortedRuns(files, stats), 1)) {
      const first = got.length;
      while (piece.next()) got.push({ key: piece.key, value: piece.value });
      // A piece ends at a group boundary: the next piece starts a new first key part.
      if (got.length > first) expect(got[got.length - 1]!.key[0]).toBeDefined();
    }
    expect(got.map((g) => g.value)).toEqual(expected.map((e) => e.value));
    expect(got.map((g) => g.key)).toEqual(expected.map((e) => readSortKey(bytesOf(e.key), 0, bytesOf(e.key).length)));
  });

  it('spills its sort under a small DuckDB memory limit and still equals the inline runner', async () => {
    const rnd = seededRandom(5);
    const words = Array.from({ length: 300_000 }, (_, i) => `w${i}-${'p'.repeat(rnd.int(100))}`);
    const rows = Array.from({ length: 400_000 }, () => ({ n: rnd.int(1000), word: rnd.pick(words) }));
    await writeInput(t, `numbers/dt=${date}`, numbersSchema, rows, { rowsPerFile: 100_000 });
    const job = numbersJob({ reducers: 1 });
    const spilled = await localRunner({ workers: 2, shuffle: 'duckdb', duckDbMemoryMb: 16 }).run(job, { date }, { storageRoot: t.root });
    const step = spilled.steps[0]!;
    expect(step.spilledRuns).toBeGreaterThan(0);
    const reference = await inlineRunner().run(job, { date }, { storageRoot: t.root, overwrite: true });
    expect(await readRows(step.output)).toEqual(await readRows(reference.steps[0]!.output));
    await expect(fsp.readdir(path.join(localPath(spilled.workDir), '_spill'))).rejects.toThrow();
  }, 120_000);
});
