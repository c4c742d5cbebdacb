/**
 * Reader robustness: two failure modes found while writing parquet-io.test.ts, made reproducible.
 * Kept in their own file because the first one can crash the worker process (a use-after-free in native
 * memory), which would otherwise hide the results of every other test in the same file.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { defineSchema, rowsToBatch, writeParquetFile, type Row } from '../../storage/index.ts';
import { canonical, useTempTargets } from './parquet-fixtures.ts';
import { expectSameRows, readBatches, readRows } from './parquet-test-kit.ts';

const { target: freshTarget } = useTempTargets('parquet-robust');

// Found while writing these tests: reads that go through the fallback and reads of large files with
// small batches were intermittently wrong; these make the failures reproducible.
describe('reader robustness', () => {
  /** The global gc(), exposed at run time when node was not started with --expose-gc. */
  function gcFunction(): () => void {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) return g;
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  }

  it('a fallback group does not corrupt the columns decoded after it, even when GC runs meanwhile', async () => {
    const schema = defineSchema({
      s: 'string',
      i: { type: 'int32', nullable: true },
      l: { type: 'int64', nullable: true },
      li: { type: 'list<int32>', nullable: true },
    });
    const rows: Row[] = Array.from({ length: 5000 }, (_, k) => ({
      s: k % 50 === 0 ? `x\x1f${k}` : `s${k}`,
      i: k % 7 === 0 ? null : k,
      l: k % 5 === 0 ? null : -k * 1_000_003,
      li: k % 9 === 0 ? null : Int32Array.of(k, -k),
    }));
    const { file } = await freshTarget();
    await writeParquetFile(file, schema, [rowsToBatch(schema, rows)]);
    const expected = canonical(schema, rows);
    const gc = gcFunction();
    const timer = setInterval(gc, 1);
    try {
      for (let round = 0; round < 8; round++) {
        expectSameRows(await readRows(file, schema, { batchRows: 1000 }), expected, `round ${round} under GC`);
      }
    } finally {
      clearInterval(timer);
    }
  });

  it('large file, small row groups, small batches: every read succeeds and is in order', async () => {
    const schema = defineSchema({ i: 'int32', s: { type: 'string', nullable: true } });
    const n = 40_000;
    const rows: Row[] = Array.from({ length: n }, (_, k) => ({ i: k, s: k % 3 === 0 ? null : `r${k}` }));
    const { file } = await freshTarget();
    await writeParquetFile(file, schema, [rowsToBatch(schema, rows)], { rowGroupSize: 2048 });
    for (let round = 0; round < 12; round++) {
      const batches = await readBatches(file, schema, { batchRows: 1000 });
      expect(batches.map((b) => b.numRows)).toEqual(Array.from({ length: 40 }, () => 1000));
      const ids = new Int32Array(n);
      let at = 0;
      for (const b of batches) {
        ids.set(b.columns.i as Int32Array, at);
        at += b.numRows;
      }
      const firstWrong = ids.findIndex((v, k) => v !== k);
      expect(firstWrong, `round ${round}: first row out of place`).toBe(-1);
      const strings = batches.flatMap((b) => b.columns.s as (string | null)[]);
      expect(strings).toHaveLength(n);
      expect(strings[39_998]).toBe('r39998');
      expect(strings[39_999]).toBeNull(); // 39999 % 3 === 0
    }
  });
});
