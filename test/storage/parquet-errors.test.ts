/**
 * Bad input: unreadable files (truncated, wrong magic, text, empty, missing) are StorageErrors naming the
 * file and saying what to do; failed writes leave neither the target nor temp files behind and name the
 * culprit column (and row). Also the defects found on the write side and in path handling.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countParquetRows,
  defineSchema,
  readParquetFile,
  readParquetSchema,
  rowsToBatch,
  StorageError,
  writeParquetFile,
  type ColumnBatch,
} from '../../storage/index.ts';
import { useTempTargets } from './parquet-fixtures.ts';
import { drain, expectStorageError, Prng, readRows } from './parquet-test-kit.ts';

const { target: freshTarget, dir: tempDir } = useTempTargets('parquet-errors');

// ---- 4. bad input ---------------------------------------------------------------------------------

describe('bad files are StorageErrors naming the file and saying what to do', () => {
  const schema = defineSchema({ id: 'int64', s: 'string' });
  let good: string;
  const bad: Record<string, string> = {};

  beforeAll(async () => {
    const { sub, file } = await freshTarget('good.parquet');
    good = file;
    await writeParquetFile(file, schema, [rowsToBatch(schema, Array.from({ length: 3000 }, (_, i) => ({ id: i, s: `s${i}` })))]);
    const bytes = await fs.readFile(file);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
    expect(bytes.subarray(bytes.length - 4).toString('latin1')).toBe('PAR1');
    const rnd = new Prng(99);
    const write = async (name: string, content: Buffer | string): Promise<void> => {
      bad[name] = path.join(sub, `${name}.parquet`);
      await fs.writeFile(bad[name]!, content);
    };
    await write('truncated', bytes.subarray(0, bytes.length - 100));
    await write('random', Buffer.from(Array.from({ length: 4096 }, () => rnd.int(0, 255))));
    await write('text', 'id,s\n1,hello\n2,world\n'.repeat(50));
    await write('empty', '');
    await write('footer_only_magic', Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7), Buffer.from('PAR1')]));
    bad.missing = path.join(sub, 'missing.parquet');
  });

  it('the good file reads', async () => {
    expect(await countParquetRows(good)).toBe(3000);
  });

  for (const kind of ['truncated', 'random', 'text', 'empty', 'footer_only_magic', 'missing']) {
    it(`${kind}: read, schema and count all reject with a StorageError`, async () => {
      const file = bad[kind]!;
      const errors = [
        await expectStorageError(() => drain(readParquetFile(file, schema))),
        await expectStorageError(() => drain(readParquetFile(file, schema, { columns: ['s'], batchRows: 10 }))),
        await expectStorageError(() => readParquetSchema(file)),
        await expectStorageError(() => countParquetRows(file)),
      ];
      for (const err of errors) {
        expect(err.name).toBe('StorageError');
        expect(err.uri).toBe(file);
        expect(err.message).toContain(file);
        // says what to do: a hint, carried in the message
        expect(err.hint, err.message).toBeTruthy();
        expect(err.message).toContain(err.hint!);
      }
      if (kind === 'missing') expect(errors[0]!.message).toMatch(/no such|not found|does not exist/i);
      else expect(errors[0]!.message).toMatch(/not a readable Parquet|corrupt|truncated/i);
    });
  }

  it('`where` names the URI in errors instead of the local path', async () => {
    const uri = 'file:///data/dt=2026-11-23/part-00000.parquet';
    const err = await expectStorageError(() => drain(readParquetFile(bad.truncated!, schema, {}, uri)));
    expect(err.uri).toBe(uri);
    expect(err.message.startsWith(uri)).toBe(true);
  });
});

describe('failed writes leave nothing behind and name the culprit', () => {
  const schema = defineSchema({
    id: 'int32',
    name: 'string',
    note: { type: 'string', nullable: true },
    amount: 'int64',
    maybe: { type: 'float64', nullable: true },
    tags: 'list<string>',
    codes: 'list<int32>',
  });
  function goodBatch(n: number, base = 0): ColumnBatch {
    return rowsToBatch(
      schema,
      Array.from({ length: n }, (_, i) => ({
        id: base + i,
        name: `n${base + i}`,
        note: null,
        amount: base + i,
        maybe: i % 2 ? null : i / 2,
        tags: [`t${i}`],
        codes: Int32Array.of(i),
      })),
    );
  }
  function withColumn(batch: ColumnBatch, name: string, col: unknown): ColumnBatch {
    return { ...batch, columns: { ...batch.columns, [name]: col as ColumnBatch['columns'][string] } };
  }

  async function expectFailedWrite(batches: ColumnBatch[], mentions: readonly (string | RegExp)[]): Promise<StorageError> {
    const { sub, file } = await freshTarget();
    const err = await expectStorageError(() => writeParquetFile(file, schema, batches, { compression: 'zstd' }));
    expect(err.message).toContain(file);
    for (const m of mentions) {
      if (typeof m === 'string') expect(err.message).toContain(m);
      else expect(err.message).toMatch(m);
    }
    await expect(fs.access(file)).rejects.toThrow();
    expect(await fs.readdir(sub), 'no temp files left next to the target').toEqual([]);
    return err;
  }

  it('wrong typed-array type for a numeric column', async () => {
    await expectFailedWrite([withColumn(goodBatch(10), 'id', new Float64Array(10))], ['"id"', 'int32']);
    await expectFailedWrite([withColumn(goodBatch(10), 'amount', new Int32Array(10))], ['"amount"', 'int64']);
    await expectFailedWrite([withColumn(goodBatch(10), 'amount', Array.from({ length: 10 }, () => 1))], ['"amount"']);
  });

  it('a plain array where a typed one belongs, or a typed one where strings belong', async () => {
    await expectFailedWrite([withColumn(goodBatch(10), 'name', new Int32Array(10))], ['"name"']);
  });

  it('wrong column length', async () => {
    await expectFailedWrite([withColumn(goodBatch(10), 'maybe', new Float64Array(9))], ['"maybe"', '9', '10']);
    await expectFailedWrite([withColumn(goodBatch(10), 'tags', Array.from({ length: 11 }, () => ['x']))], ['"tags"', '11']);
  });

  it('a missing column', async () => {
    const b = goodBatch(5);
    const { codes: _codes, ...rest } = b.columns;
    await expectFailedWrite([{ numRows: 5, columns: rest }], ['"codes"']);
  });

  it('the bad batch is the second one (first already appended)', async () => {
    await expectFailedWrite([goodBatch(3000), withColumn(goodBatch(10, 3000), 'id', new Uint8Array(10))], ['"id"', /batch 1\b/]);
  });

  it('a null in a required string column names the column and row', async () => {
    const b = goodBatch(20);
    const names = [...(b.columns.name as (string | null)[])];
    names[13] = null;
    await expectFailedWrite([withColumn(b, 'name', names)], ['"name"', /\brow 13\b/]);
  });

  it('a null in a required list column names the column and row', async () => {
    const b = goodBatch(20);
    const tags = [...(b.columns.tags as (string[] | null)[])];
    tags[17] = null;
    await expectFailedWrite([withColumn(b, 'tags', tags)], ['"tags"', /\brow 17\b/]);
    const codes = [...(b.columns.codes as (Int32Array | null)[])];
    codes[2] = null;
    await expectFailedWrite([withColumn(b, 'codes', codes)], ['"codes"', /\brow 2\b/]);
  });

  it('a cleared validity byte on a required numeric column names the column and row', async () => {
    const valid = new Uint8Array(20).fill(1);
    valid[4] = 0;
    await expectFailedWrite([{ ...goodBatch(20), valid: { amount: valid } }], ['"amount"', /\brow 4\b/]);
  });

  it('an async source that throws midway', async () => {
    const { sub, file } = await freshTarget();
    async function* source(): AsyncGenerator<ColumnBatch> {
      yield goodBatch(2500);
      throw new Error('upstream exploded');
    }
    const err = await expectStorageError(() => writeParquetFile(file, schema, source()));
    expect(err.message).toContain('upstream exploded');
    await expect(fs.access(file)).rejects.toThrow();
    expect(await fs.readdir(sub)).toEqual([]);
  });

  it('a failed write keeps an existing target untouched', async () => {
    const { sub, file } = await freshTarget();
    await writeParquetFile(file, schema, [goodBatch(7)]);
    const before = await fs.readFile(file);
    await expectStorageError(() => writeParquetFile(file, schema, [goodBatch(5000), withColumn(goodBatch(5), 'id', new Float64Array(5))]));
    expect((await fs.readFile(file)).equals(before)).toBe(true);
    expect(await fs.readdir(sub)).toEqual(['data.parquet']);
    expect(await countParquetRows(file)).toBe(7);
  });

  it('a missing target directory is a StorageError naming the target', async () => {
    const file = path.join(tempDir(), 'no-such-dir', 'x.parquet');
    const err = await expectStorageError(() => writeParquetFile(file, schema, [goodBatch(3)]));
    expect(err.message).toContain(file);
    await expect(fs.access(path.dirname(file))).rejects.toThrow();
  });

  // Found while writing these tests: the "(row N overall)" suffix is the start of the 2048-row chunk,
  // not the row that failed.
  it('the overall row number of a bad value is that of the bad row (beyond the first 2048-row chunk)', async () => {
    const b = goodBatch(3000);
    const names = [...(b.columns.name as (string | null)[])];
    names[2500] = null;
    const err = await expectFailedWrite([withColumn(b, 'name', names)], ['"name"', /\brow 2500\b/]);
    const rowNumbers = [...err.message.matchAll(/\brow (\d+)/g)].map((m) => Number(m[1]));
    expect(rowNumbers.length).toBeGreaterThan(0);
    expect(rowNumbers.every((r) => r === 2500), `every row number in "${err.message}" should be 2500`).toBe(true);
  });

  it('the overall row number of a bad value in a later batch counts the earlier batches', async () => {
    const b = goodBatch(10, 100);
    const names = [...(b.columns.name as (string | null)[])];
    names[5] = null;
    const err = await expectFailedWrite([goodBatch(100), withColumn(b, 'name', names)], ['"name"']);
    // Row 5 of batch 1 is row 105 of the file; the message must locate it one way or the other.
    const ok = /\brow 105\b/.test(err.message) || (/\bbatch 1\b/.test(err.message) && /\brow 5\b/.test(err.message));
    expect(ok, `"${err.message}" should locate row 105 (batch 1, row 5)`).toBe(true);
    expect(err.message, 'claims the wrong overall row').not.toMatch(/row 100 overall/);
  });
});

// Found while writing these tests: the value under a cleared validity byte is not ignored by the writer.
describe('nullable numbers: the value under a cleared validity byte is ignored', () => {
  for (const type of ['int64', 'timestamp_ms'] as const) {
    it(`${type}: garbage (1.5, 2^60, Infinity) in null slots writes as null`, async () => {
      const schema = defineSchema({ v: { type, nullable: true } });
      const { file } = await freshTarget();
      const batch: ColumnBatch = {
        numRows: 5,
        columns: { v: new Float64Array([1, 1.5, 2 ** 60, Infinity, -7]) },
        valid: { v: new Uint8Array([1, 0, 0, 0, 1]) },
      };
      await writeParquetFile(file, schema, [batch]);
      expect(await readRows(file, schema)).toEqual([{ v: 1 }, { v: null }, { v: null }, { v: null }, { v: -7 }]);
    });
  }
});

// Found while writing these tests: the path is handed to DuckDB's read_parquet as a glob pattern.
describe('paths are file names, not glob patterns', () => {
  const schema = defineSchema({ v: 'int32' });
  it('reading "a[1].parquet" reads that file, not "a1.parquet"', async () => {
    const { sub } = await freshTarget();
    await writeParquetFile(path.join(sub, 'a1.parquet'), schema, [rowsToBatch(schema, [{ v: 1 }])]);
    await writeParquetFile(path.join(sub, 'a[1].parquet'), schema, [rowsToBatch(schema, [{ v: 2 }, { v: 2 }])]);
    expect(await readRows(path.join(sub, 'a[1].parquet'), schema)).toEqual([{ v: 2 }, { v: 2 }]);
    expect(await countParquetRows(path.join(sub, 'a[1].parquet'))).toBe(2);
  });
  it('reading "b*.parquet" reads that one file only', async () => {
    const { sub } = await freshTarget();
    await writeParquetFile(path.join(sub, 'b*.parquet'), schema, [rowsToBatch(schema, [{ v: 3 }])]);
    await writeParquetFile(path.join(sub, 'bx.parquet'), schema, [rowsToBatch(schema, [{ v: 4 }])]);
    expect(await readRows(path.join(sub, 'b*.parquet'), schema)).toEqual([{ v: 3 }]);
    expect(await countParquetRows(path.join(sub, 'b*.parquet'))).toBe(1);
  });
});
