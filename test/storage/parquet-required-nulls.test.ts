/**
 * Nulls where the schema says there are none (files written by other tools, e.g. matching's segment data): the
 * reader fails naming the file, column and row, and what to do, instead of handing out 0 for a null number or
 * a null list element, or null in a column typed as never null. Found by the bad-input corpora (issue 16).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSchema, type FieldType } from '../../storage/index.ts';
import { useTempTargets } from './parquet-fixtures.ts';
import { drain, expectStorageError, readRows } from './parquet-test-kit.ts';
import { readParquetFile } from '../../storage/index.ts';

const { dir } = useTempTargets('parquet-nulls');
let db: DuckDBInstance;
beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
});
afterAll(() => db.closeSync());

/** Writes `select` (with a column `v` and a row number `k`) with DuckDB, in row order. */
async function write(name: string, select: string): Promise<string> {
  const file = path.join(dir(), `${name}.parquet`);
  await fs.mkdir(dir(), { recursive: true });
  const conn = await db.connect();
  try {
    await conn.run(`COPY (SELECT v FROM (${select}) ORDER BY k) TO '${file}' (FORMAT parquet)`);
  } finally {
    conn.closeSync();
  }
  return file;
}

const rows = (values: string[]): string => values.map((v, k) => `SELECT ${k} AS k, ${v} AS v`).join(' UNION ALL ');

describe('a null in a required column is a StorageError naming file, column and row', () => {
  const cases: [name: string, type: FieldType, values: string[], row: number][] = [
    ['string', 'string', ["'a'", 'NULL::VARCHAR', "'c'"], 1],
    ['string-only-null', 'string', ['NULL::VARCHAR'], 0],
    ['int32', 'int32', ['1', 'NULL::INTEGER', '3'], 1],
    ['int64', 'int64', ['1::BIGINT', '2::BIGINT', 'NULL::BIGINT'], 2],
    ['timestamp', 'timestamp_ms', ["TIMESTAMP '2026-11-23 00:00:00'", 'NULL::TIMESTAMP'], 1],
    ['list-int32', 'list<int32>', ['[1]::INTEGER[]', 'NULL::INTEGER[]'], 1],
    ['list-string', 'list<string>', ["['a']", "['b']", 'NULL::VARCHAR[]'], 2],
  ];
  for (const [name, type, values, row] of cases) {
    it(`${name}: row ${row}`, async () => {
      const file = await write(name, rows(values));
      const err = await expectStorageError(() => drain(readParquetFile(file, defineSchema({ v: type }))));
      expect(err.uri).toBe(file);
      expect(err.message).toContain(`column "v" is null at row ${row} (0-based), but the dataset's schema says v (${type}) is not nullable`);
      expect(err.hint).toMatch(/re-run the stage that wrote the file, or re-deliver it, with a value in every row of v/);
      // Declared nullable, the same file reads, with the null in place.
      const read = await readRows(file, defineSchema({ v: { type, nullable: true } }));
      expect(read[row]!.v).toBeNull();
    });
  }
});

describe('nulls the fast path could miss', () => {
  it('a required string column whose null is made up for by a value holding the separator (U+001F)', async () => {
    const file = await write('string-separator', rows(["'a' || chr(31) || 'b'", 'NULL::VARCHAR']));
    const err = await expectStorageError(() => drain(readParquetFile(file, defineSchema({ v: 'string' }))));
    expect(err.message).toContain('column "v" is null at row 1 (0-based)');
    const read = await readRows(file, defineSchema({ v: { type: 'string', nullable: true } }));
    expect(read.map((r) => r.v)).toEqual(['a\x1fb', null]);
  });

  it('a null element inside a list<string> (it used to be dropped)', async () => {
    const file = await write('list-string-element', rows(["['x', NULL]", "['y']"]));
    const err = await expectStorageError(() => drain(readParquetFile(file, defineSchema({ v: { type: 'list<string>', nullable: true } }))));
    expect(err.message).toContain('column "v" holds a null element at row 0 (0-based); list<string> lists hold strings only');
  });

  it('a list<string> of one null element (it read as [""]), and one whose null a separator made up for', async () => {
    for (const [name, value] of [
      ['one-null', '[NULL]::VARCHAR[]'],
      ['separator', "['a' || chr(31) || 'b', NULL]"],
    ]) {
      const file = await write(`list-string-${name}`, rows(["['y']", value!]));
      const err = await expectStorageError(() => drain(readParquetFile(file, defineSchema({ v: { type: 'list<string>', nullable: true } }))));
      expect(err.message).toContain('column "v" holds a null element at row 1 (0-based)');
    }
  });

  it('empty and null list<string> values with separators elsewhere still read exactly', async () => {
    const file = await write('list-string-fine', rows(['[]::VARCHAR[]', 'NULL::VARCHAR[]', "['a' || chr(31), 'b']"]));
    const read = await readRows(file, defineSchema({ v: { type: 'list<string>', nullable: true } }));
    expect(read.map((r) => r.v)).toEqual([[], null, ['a\x1f', 'b']]);
  });
});

describe('a null element inside a list<int32> is a StorageError (it used to read as 0)', () => {
  it('names the column and row', async () => {
    const file = await write('list-element', rows(['[1001, 1002]::INTEGER[]', '[1001, NULL, 1003]::INTEGER[]', '[7]::INTEGER[]']));
    for (const nullable of [false, true]) {
      const err = await expectStorageError(() => drain(readParquetFile(file, defineSchema({ v: { type: 'list<int32>', nullable } }))));
      expect(err.message).toContain('column "v" holds a null element at row 1 (0-based); list<int32> lists hold numbers only');
      expect(err.hint).toMatch(/re-deliver/);
    }
  });

  it('lists without null elements read as before, empty ones included', async () => {
    const file = await write('list-fine', rows(['[]::INTEGER[]', '[5, 6]::INTEGER[]', 'NULL::INTEGER[]']));
    const read = await readRows(file, defineSchema({ v: { type: 'list<int32>', nullable: true } }));
    expect(read.map((r) => (r.v === null ? null : Array.from(r.v as Int32Array)))).toEqual([[], [5, 6], null]);
  });
});
