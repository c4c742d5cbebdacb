/**
 * The reader folds runs of rows into one joined string per column (separators \x1f and \x1e) and falls
 * back to a value-by-value path when values contain those separators: these tests aim at that fallback.
 */
import { describe, expect, it } from 'vitest';
import { batchToRows, defineSchema, readParquetFile, rowsToBatch, writeParquetFile, type Row } from '../../storage/index.ts';
import { canonical, useTempTargets } from './parquet-fixtures.ts';
import { expectSameRows, readBatches, readRows } from './parquet-test-kit.ts';

const { target: freshTarget } = useTempTargets('parquet-fallback');

// ---- the reader's fallback path ------------------------------------------------------------------

describe('separator fallback (values holding \\x1f / \\x1e)', () => {
  const schema = defineSchema({
    id: 'int32',
    s: { type: 'string', nullable: true },
    ls: { type: 'list<string>', nullable: true },
    n: { type: 'int64', nullable: true },
  });

  function plainRows(n: number): Row[] {
    return Array.from({ length: n }, (_, i) => ({
      id: i,
      s: i % 10 === 4 ? null : i % 10 === 5 ? '' : `v${i}`,
      ls: i % 10 === 6 ? null : i % 10 === 7 ? [] : i % 10 === 8 ? [''] : [`a${i}`, `b${i}`],
      n: i % 10 === 9 ? null : i * 1_000_003 - 2 ** 40,
    }));
  }

  for (const at of [0, 5, 550, 999]) {
    it(`one string with \\x1f at row ${at}: only its group falls back, every row still exact`, async () => {
      const rows = plainRows(1000);
      rows[at]!.s = `x\x1fy${at}`;
      const { file } = await freshTarget();
      await writeParquetFile(file, schema, [rowsToBatch(schema, rows)]);
      const got = await readRows(file, schema, { batchRows: 100 });
      expectSameRows(got, canonical(schema, rows), `\\x1f at ${at}`);
      expect(got[at]!.s).toBe(`x\x1fy${at}`);
    });
  }

  for (const at of [1, 333, 998]) {
    it(`one list element with \\x1e at row ${at}, next to null lists, [] and [''] in the same group`, async () => {
      const rows = plainRows(1000);
      rows[at]!.ls = ['p', `q\x1e${at}`, ''];
      const { file } = await freshTarget();
      await writeParquetFile(file, schema, [rowsToBatch(schema, rows)], { compression: 'none' });
      const got = await readRows(file, schema, { batchRows: 100 });
      expectSameRows(got, canonical(schema, rows), `\\x1e at ${at}`);
      expect(got[at]!.ls).toEqual(['p', `q\x1e${at}`, '']);
      const groupStart = Math.floor(at / 100) * 100;
      // the neighbours in that group keep their null / [] / [''] apart
      expect(got[groupStart + 6]!.ls).toBeNull();
      expect(got[groupStart + 7]!.ls).toEqual([]);
      expect(got[groupStart + 8]!.ls).toEqual(['']);
    });
  }

  it('list elements holding \\x1f (element count would be wrong on the fast path)', async () => {
    const rows = plainRows(300);
    rows[120]!.ls = ['a\x1fb'];
    rows[121]!.ls = ['\x1f', '\x1f'];
    rows[122]!.ls = ['\x1f\x1e\x1f'];
    rows[123]!.s = '\x1e';
    const { file } = await freshTarget();
    await writeParquetFile(file, schema, [rowsToBatch(schema, rows)]);
    const got = await readRows(file, schema, { batchRows: 64 });
    expectSameRows(got, canonical(schema, rows), 'elements with \\x1f');
    expect(got[120]!.ls).toEqual(['a\x1fb']);
    expect(got[121]!.ls).toEqual(['\x1f', '\x1f']);
    expect(got[122]!.ls).toEqual(['\x1f\x1e\x1f']);
    expect(got[123]!.s).toBe('\x1e');
  });

  it('groups made only of separators, empties and nulls', async () => {
    const values: (string | null)[] = ['\x1f', '', null, '\x1e', '\x1f\x1f', '', null, '\x1f'];
    const lists: (string[] | null)[] = [['\x1e'], [], null, [''], ['', '\x1f', ''], ['\x1e', '\x1e'], [], null];
    const rows = values.map((s, i): Row => ({ id: i, s, ls: lists[i]!, n: i % 2 ? null : 3 - 7 * i }));
    const { file } = await freshTarget();
    await writeParquetFile(file, schema, [rowsToBatch(schema, rows)]);
    for (const batchRows of [1, 3, 8, 100]) {
      expectSameRows(await readRows(file, schema, { batchRows }), canonical(schema, rows), `batchRows ${batchRows}`);
    }
  });

  it('a file where every group falls back, with many groups (> 2048, several result chunks)', async () => {
    const rows = Array.from({ length: 6000 }, (_, i): Row => ({
      id: i,
      s: i % 500 === 0 ? `\x1f${i}` : i % 3 === 0 ? null : `s${i}`,
      ls: i % 700 === 1 ? [`${i}\x1e`, ''] : i % 4 === 0 ? [] : [`e${i}`],
      n: i % 5 === 0 ? null : i,
    }));
    const { file } = await freshTarget();
    await writeParquetFile(file, schema, [rowsToBatch(schema, rows)], { rowGroupSize: 2048 });
    const batches = await readBatches(file, schema, { batchRows: 2 });
    expect(batches).toHaveLength(3000);
    expect(batches.every((b) => b.numRows === 2)).toBe(true);
    expectSameRows(
      batches.flatMap((b) => batchToRows(schema, b)),
      canonical(schema, rows),
      'batchRows 2',
    );
  });

  it('long lists of separator-holding elements keep their element order', async () => {
    const rows = Array.from({ length: 4000 }, (_, i): Row => ({
      id: i,
      s: `r${i}`,
      ls: Array.from({ length: 40 }, (_, j) => `${i}:${j}${j % 2 ? '\x1f' : '\x1e'}`),
      n: i,
    }));
    const { file } = await freshTarget();
    await writeParquetFile(file, schema, [rowsToBatch(schema, rows)], { rowGroupSize: 2048 });
    expectSameRows(await readRows(file, schema), canonical(schema, rows), 'long lists');
  });
});

// ---- batches made lazily from a range's result -----------------------------------------------------

describe('batches decoded as they are consumed', () => {
  const schema = defineSchema({ id: 'int32', s: { type: 'string', nullable: true }, li: { type: 'list<int32>', nullable: true }, ts: 'timestamp_ms' });

  it('stay exact when the consumer awaits and churns the heap between batches (views must outlive awaits)', async () => {
    // 600k rows span two of the reader's ranges; 1000-row batches make many groups per range.
    const n = 600_000;
    const { file } = await freshTarget();
    const row = (i: number): Row => ({
      id: i,
      s: i === 450_123 ? 'sep\x1fin the second range' : i % 97 === 0 ? null : `value-${i}-${'x'.repeat(i % 20)}`,
      li: i % 89 === 0 ? null : Int32Array.of(i, -i, i % 13),
      ts: 1_795_000_000_000 + i,
    });
    const batches = [];
    for (let at = 0; at < n; at += 50_000) batches.push(rowsToBatch(schema, Array.from({ length: Math.min(50_000, n - at) }, (_, k) => row(at + k))));
    await writeParquetFile(file, schema, batches);
    let next = 0;
    let churn: unknown[] = [];
    for await (const b of readParquetFile(file, schema, { batchRows: 1000 })) {
      churn = Array.from({ length: 5_000 }, (_, k) => ({ k, s: `garbage ${k}` }));
      await new Promise((r) => setImmediate(r));
      for (const r of batchToRows(schema, b)) {
        const want = row(next++);
        if (r.id !== want.id || r.s !== want.s || r.ts !== want.ts || String(r.li) !== String(want.li)) {
          expect(r, `row ${next - 1}`).toEqual(want);
        }
      }
    }
    expect(churn.length).toBe(5_000);
    expect(next).toBe(n);
  }, 60_000);
});
