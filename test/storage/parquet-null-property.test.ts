/**
 * fast-check property of the reader's null checks (bad-input corpora, issue 16): files written by DuckDB with nulls
 * anywhere (whole values, list elements) and values holding the reader's separators, read in random batch sizes.
 * Read as required columns, a file with a null fails naming a column and row that do hold one, and a file without
 * reads back exactly; read as nullable, only null list elements fail, and everything else reads back exactly.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchToRows, defineSchema, readParquetFile, StorageError, type RecordSchema } from '../../storage/index.ts';
import { makeTempDir, removeTempDir } from './parquet-test-kit.ts';

let dir: string;
let db: DuckDBInstance;
beforeAll(async () => {
  dir = await makeTempDir('parquet-null-prop');
  db = await DuckDBInstance.create(':memory:');
});
afterAll(async () => {
  db.closeSync();
  await removeTempDir(dir);
});

interface Gen {
  s: string | null;
  i: number | null;
  l: (number | null)[] | null;
  ls: (string | null)[] | null;
}

const PIECES = ['a', 'b', '\u001f', '\u001e', 'é', ' '];
const text = fc.array(fc.constantFrom(...PIECES), { maxLength: 4 }).map((p) => p.join(''));
const maybe = <T,>(a: fc.Arbitrary<T>, nulls: number): fc.Arbitrary<T | null> => fc.oneof({ weight: nulls, arbitrary: fc.constant(null) }, { weight: 20, arbitrary: a });
const row = (nulls: number): fc.Arbitrary<Gen> =>
  fc.record({
    s: maybe(text, nulls),
    i: maybe(fc.integer({ min: -2147483648, max: 2147483647 }), nulls),
    l: maybe(fc.array(maybe(fc.integer({ min: -5, max: 5 }), nulls), { maxLength: 3 }), nulls),
    ls: maybe(fc.array(maybe(text, nulls), { maxLength: 3 }), nulls),
  });

const sqlText = (s: string): string => (s === '' ? "''" : [...s].map((c) => (c === '\u001f' || c === '\u001e' ? `chr(${c.charCodeAt(0)})` : `'${c}'`)).join(' || '));
const sqlOf = (g: Gen, k: number): string =>
  `SELECT ${k} AS k, ${g.s === null ? 'NULL::VARCHAR' : sqlText(g.s)} AS s, ${g.i === null ? 'NULL::INTEGER' : `(${g.i})::INTEGER`} AS i, ` +
  `${g.l === null ? 'NULL::INTEGER[]' : `[${g.l.map((x) => (x === null ? 'NULL' : String(x))).join(', ')}]::INTEGER[]`} AS l, ` +
  `${g.ls === null ? 'NULL::VARCHAR[]' : `[${g.ls.map((x) => (x === null ? 'NULL' : sqlText(x))).join(', ')}]::VARCHAR[]`} AS ls`;

const required: RecordSchema = defineSchema({ s: 'string', i: 'int32', l: 'list<int32>', ls: 'list<string>' });
const nullable: RecordSchema = defineSchema({
  s: { type: 'string', nullable: true },
  i: { type: 'int32', nullable: true },
  l: { type: 'list<int32>', nullable: true },
  ls: { type: 'list<string>', nullable: true },
});

async function readAll(file: string, schema: RecordSchema, batchRows: number): Promise<unknown[] | StorageError> {
  try {
    const out: unknown[] = [];
    for await (const b of readParquetFile(file, schema, { batchRows })) {
      for (const r of batchToRows(schema, b)) out.push({ ...r, l: r.l === null ? null : Array.from(r.l as Int32Array), ls: r.ls === null ? null : [...(r.ls as string[])] });
    }
    return out;
  } catch (e) {
    if (e instanceof StorageError) return e;
    throw e;
  }
}

const hasNullElement = (g: Gen): boolean => (g.l?.includes(null) ?? false) || (g.ls?.includes(null) ?? false);
const hasNull = (g: Gen): boolean => g.s === null || g.i === null || g.l === null || g.ls === null || hasNullElement(g);

describe('fast-check: nulls where the schema has none', () => {
  it('fail naming a column and row that hold one; files without read back exactly', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }).chain((nulls) => fc.array(row(nulls), { minLength: 1, maxLength: 30 })), fc.integer({ min: 1, max: 7 }), async (rows, batchRows) => {
        const file = path.join(dir, `f${n++}.parquet`);
        const conn = await db.connect();
        try {
          await conn.run(`COPY (SELECT s, i, l, ls FROM (${rows.map(sqlOf).join(' UNION ALL ')}) ORDER BY k) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 4)`);
        } finally {
          conn.closeSync();
        }
        const exact = rows.map((g) => ({ ...g }));
        const asRequired = await readAll(file, required, batchRows);
        if (rows.some(hasNull)) {
          expect(asRequired).toBeInstanceOf(StorageError);
          const m = /column "(\w+)" (?:is null|holds a null element) at row (\d+)/.exec((asRequired as StorageError).message);
          expect(m, (asRequired as StorageError).message).not.toBeNull();
          const [, column, at] = m!;
          const value = rows[Number(at)]![column as keyof Gen];
          expect(value === null || (Array.isArray(value) && value.includes(null)), `${column} at row ${at}`).toBe(true);
          expect((asRequired as StorageError).hint).toMatch(/re-run the stage that wrote the file, or re-deliver it/);
        } else {
          expect(asRequired).toEqual(exact);
        }
        const asNullable = await readAll(file, nullable, batchRows);
        if (rows.some(hasNullElement)) {
          expect(asNullable).toBeInstanceOf(StorageError);
          const m = /column "(l|ls)" holds a null element at row (\d+)/.exec((asNullable as StorageError).message);
          expect(m, (asNullable as StorageError).message).not.toBeNull();
          expect((rows[Number(m![2])]![m![1] as 'l' | 'ls'] ?? []).includes(null)).toBe(true);
        } else {
          expect(asNullable).toEqual(exact);
        }
        await fs.rm(file);
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
