import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineSchema, readParquetFile, rowsToBatch, writeParquetFile, type ColumnBatch } from '../../storage/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'courier-range-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = defineSchema({ id: 'int32', s: 'string' });

async function readIds(file: string, options: { fromRow?: number; toRow?: number; batchRows?: number }): Promise<number[]> {
  const ids: number[] = [];
  for await (const b of readParquetFile(file, schema, options) as AsyncGenerator<ColumnBatch>) {
    const id = b.columns['id'] as Int32Array;
    const s = b.columns['s'] as string[];
    for (let i = 0; i < b.numRows; i++) {
      expect(s[i]).toBe(`s${id[i]}`);
      ids.push(id[i]!);
    }
  }
  return ids;
}

describe('readParquetFile row ranges', () => {
  it('reads exactly rows fromRow..toRow-1 in file order, across range and row-group boundaries', async () => {
    const file = path.join(dir, 'range.parquet');
    const n = 1_100_000;
    await writeParquetFile(file, schema, [rowsToBatch(schema, Array.from({ length: n }, (_, i) => ({ id: i, s: `s${i}` })))]);
    const seq = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    expect(await readIds(file, { fromRow: 3, toRow: 10, batchRows: 4 })).toEqual(seq(3, 10));
    expect(await readIds(file, { fromRow: 491_000, toRow: 492_000 })).toEqual(seq(491_000, 492_000));
    expect(await readIds(file, { fromRow: 1_099_990 })).toEqual(seq(1_099_990, n));
    expect(await readIds(file, { fromRow: n })).toEqual([]);
    expect((await readIds(file, { toRow: 500_000 })).length).toBe(500_000);
  }, 120_000);
});
