/**
 * Parquet record I/O: round trips of every field type through writeParquetFile / readParquetFile (all
 * three compressions), column projection, and files read by an independent reader (hyparquet).
 * The separator fallback, bad input and failed writes, and the property test live in their own files.
 */
import * as fs from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import {
  batchToRows,
  countParquetRows,
  defineSchema,
  readParquetFile,
  readParquetSchema,
  rowsToBatch,
  StorageError,
  writeParquetFile,
  type ColumnBatch,
  type ParquetCompression,
  type RecordSchema,
  type Row,
} from '../../storage/index.ts';
import { ALL_SCHEMA, canonical, COMPRESSIONS, edgeRows, useTempTargets } from './parquet-fixtures.ts';
import { drain, expectSameRows, expectStorageError, readBatches, readRows } from './parquet-test-kit.ts';

const { target: freshTarget } = useTempTargets('parquet-io');

// ---- 1. round trip of every type ---------------------------------------------------------------

describe('round trip of every field type', () => {
  const rows = edgeRows(5000, 7);
  const expected = canonical(ALL_SCHEMA, rows);

  it('the fixture really holds the edge cases (nulls, separators, 12/13-byte strings)', () => {
    expect(expected.some((r) => r.string_opt === null)).toBe(true);
    expect(expected.some((r) => r.int64_opt === null)).toBe(true);
    expect(expected.some((r) => r.list_string_opt === null)).toBe(true);
    expect(expected.some((r) => r.string_req === 'abcdefghijkl\x1e')).toBe(true);
    expect(expected.some((r) => r.int64_req === -(2 ** 53 - 1))).toBe(true);
    expect(expected.some((r) => Array.isArray(r.list_string_req) && r.list_string_req.length === 1 && r.list_string_req[0] === '')).toBe(true);
    expect(Buffer.byteLength('😀😀😀')).toBe(12);
    expect(Buffer.byteLength('ééééééa')).toBe(13);
  });

  for (const compression of COMPRESSIONS) {
    it(`${compression}: 5000 rows in 3 batches read back exactly, by default and in 1000-row batches`, async () => {
      const { sub, file } = await freshTarget();
      const batches = [rowsToBatch(ALL_SCHEMA, rows.slice(0, 1500)), rowsToBatch(ALL_SCHEMA, rows.slice(1500, 1501)), rowsToBatch(ALL_SCHEMA, rows.slice(1501))];
      const result = await writeParquetFile(file, ALL_SCHEMA, batches, { compression });
      expect(result.rows).toBe(5000);
      expect(result.bytes).toBe((await fs.stat(file)).size);
      expect(await fs.readdir(sub)).toEqual(['data.parquet']);
      expect(await countParquetRows(file)).toBe(5000);

      expectSameRows(await readRows(file, ALL_SCHEMA), expected, `${compression} default batches`);

      const small = await readBatches(file, ALL_SCHEMA, { batchRows: 1000 });
      expect(small.map((b) => b.numRows)).toEqual([1000, 1000, 1000, 1000, 1000]);
      expectSameRows(
        small.flatMap((b) => batchToRows(ALL_SCHEMA, b)),
        expected,
        `${compression} 1000-row batches`,
      );
    });
  }

  it('emitted batches use the documented column array types', async () => {
    const { file } = await freshTarget();
    await writeParquetFile(file, ALL_SCHEMA, [rowsToBatch(ALL_SCHEMA, rows.slice(0, 300))]);
    const [batch] = await readBatches(file, ALL_SCHEMA);
    expect(batch!.numRows).toBe(300);
    const c = batch!.columns;
    for (const suffix of ['_req', '_opt']) {
      expect(Array.isArray(c[`string${suffix}`])).toBe(true);
      expect(c[`int32${suffix}`]).toBeInstanceOf(Int32Array);
      expect(c[`int64${suffix}`]).toBeInstanceOf(Float64Array);
      expect(c[`float64${suffix}`]).toBeInstanceOf(Float64Array);
      expect(c[`bool${suffix}`]).toBeInstanceOf(Uint8Array);
      expect(c[`ts${suffix}`]).toBeInstanceOf(Float64Array);
      expect(Array.isArray(c[`list_string${suffix}`])).toBe(true);
      expect(Array.isArray(c[`list_int32${suffix}`])).toBe(true);
      expect((c[`list_int32${suffix}`] as unknown[]).find((x) => x !== null)).toBeInstanceOf(Int32Array);
    }
    for (const name of ['int32_opt', 'int64_opt', 'float64_opt', 'bool_opt', 'ts_opt']) {
      const v = batch!.valid?.[name];
      expect(v, name).toBeInstanceOf(Uint8Array);
      expect(v!.length).toBe(300);
    }
    // bool values are 0/1 bytes
    expect(new Set(c.bool_req as Uint8Array)).toEqual(new Set([0, 1]));
  });

  it('readParquetSchema reports every type back', async () => {
    const { file } = await freshTarget();
    await writeParquetFile(file, ALL_SCHEMA, [rowsToBatch(ALL_SCHEMA, rows.slice(0, 10))]);
    const s = await readParquetSchema(file);
    expect(s.fields.map((f) => [f.name, f.type])).toEqual(ALL_SCHEMA.fields.map((f) => [f.name, f.type]));
  });

  it('reads files below Hive-style directories (dt=2026-11-23/) as they are: no partition columns invented', async () => {
    const { sub } = await freshTarget();
    const file = `${sub}/dt=2026-11-23/part=x/data.parquet`;
    await fs.mkdir(`${sub}/dt=2026-11-23/part=x`, { recursive: true });
    await writeParquetFile(file, ALL_SCHEMA, [rowsToBatch(ALL_SCHEMA, rows.slice(0, 5))]);
    expect((await readParquetSchema(file)).fields.map((f) => f.name)).toEqual(ALL_SCHEMA.fields.map((f) => f.name));
    expect(await countParquetRows(file)).toBe(5);
    expect(await readRows(file, ALL_SCHEMA)).toHaveLength(5);
  });

  it('zero-row files: no batches, no rows, count 0, schema kept', async () => {
    for (const batches of [[], [rowsToBatch(ALL_SCHEMA, [])], [rowsToBatch(ALL_SCHEMA, []), rowsToBatch(ALL_SCHEMA, [])]]) {
      const { sub, file } = await freshTarget();
      const result = await writeParquetFile(file, ALL_SCHEMA, batches, { compression: 'snappy' });
      expect(result.rows).toBe(0);
      expect(await fs.readdir(sub)).toEqual(['data.parquet']);
      expect(await countParquetRows(file)).toBe(0);
      const read = await readBatches(file, ALL_SCHEMA);
      expect(read.reduce((s, b) => s + b.numRows, 0)).toBe(0);
      expect((await readParquetSchema(file)).fields.map((f) => f.type)).toEqual(ALL_SCHEMA.fields.map((f) => f.type));
    }
  });

  it('batches whose typed columns are views into larger buffers (non-zero byteOffset) write the viewed values', async () => {
    const schema = defineSchema({ a: 'int32', b: { type: 'int64', nullable: true }, c: 'float64', d: 'bool', e: 'timestamp_ms', l: 'list<int32>' });
    const big = new Int32Array(10_000).map((_, i) => i * 3 - 7);
    const big64 = new Float64Array(10_000).map((_, i) => (i - 5000) * 2 ** 40);
    const bigF = new Float64Array(10_000).map((_, i) => i / 8);
    const bigB = new Uint8Array(10_000).map((_, i) => i % 2);
    const bigV = new Uint8Array(10_000).map((_, i) => (i % 5 === 0 ? 0 : 1));
    const listBacking = new Int32Array(100).map((_, i) => 1000 + i);
    const batches: ColumnBatch[] = [];
    const expectedRows: Row[] = [];
    for (const [from, to] of [
      [3, 2503],
      [2503, 2503],
      [5001, 9999],
    ] as const) {
      const n = to - from;
      batches.push({
        numRows: n,
        columns: {
          a: big.subarray(from, to),
          b: big64.subarray(from, to),
          c: bigF.subarray(from, to),
          d: bigB.subarray(from, to),
          e: big64.subarray(from, to),
          l: Array.from({ length: n }, (_, i) => listBacking.subarray((from + i) % 50, ((from + i) % 50) + 3)),
        },
        valid: { b: bigV.subarray(from, to) },
      });
      for (let i = from; i < to; i++) {
        expectedRows.push({
          a: big[i]!,
          b: bigV[i] ? big64[i]! : null,
          c: bigF[i]!,
          d: bigB[i] === 1,
          e: big64[i]!,
          l: Int32Array.from(listBacking.subarray(i % 50, (i % 50) + 3)),
        });
      }
    }
    const { file } = await freshTarget();
    expect((await writeParquetFile(file, schema, batches)).rows).toBe(2500 + 4998);
    expectSameRows(await readRows(file, schema, { batchRows: 3000 }), expectedRows, 'subarray batches');
  });

  it('writes from an async iterable of batches', async () => {
    const schema = defineSchema({ id: 'int64', s: { type: 'string', nullable: true } });
    async function* gen(): AsyncGenerator<ColumnBatch> {
      for (let b = 0; b < 4; b++) {
        await new Promise((r) => setTimeout(r, 1));
        yield rowsToBatch(
          schema,
          Array.from({ length: 700 }, (_, i) => ({ id: b * 700 + i, s: i % 3 === 0 ? null : `b${b}-${i}` })),
        );
      }
    }
    const { file } = await freshTarget();
    expect((await writeParquetFile(file, schema, gen(), { compression: 'none', rowGroupSize: 1000 })).rows).toBe(2800);
    const got = await readRows(file, schema);
    expect(got).toHaveLength(2800);
    expect(got[0]).toEqual({ id: 0, s: null });
    expect(got[701]).toEqual({ id: 701, s: 'b1-1' });
    expect(got[2798]).toEqual({ id: 2798, s: 'b3-698' });
    expect(got[2799]).toEqual({ id: 2799, s: null });
    expect(got.every((r, i) => r.id === i)).toBe(true);
  });

  it('rejects int64 values outside ±(2^53-1) and fractions, naming the column', async () => {
    const schema = defineSchema({ big: 'int64' });
    for (const bad of [2 ** 53, -(2 ** 53), 1.5, NaN, Infinity]) {
      const { sub, file } = await freshTarget();
      const err = await expectStorageError(() => writeParquetFile(file, schema, [{ numRows: 2, columns: { big: new Float64Array([1, bad]) } }]));
      expect(err.message).toContain('"big"');
      expect(err.message).toContain(file);
      expect(await fs.readdir(sub)).toEqual([]);
    }
  });

  it('a successful write replaces an existing file', async () => {
    const schema = defineSchema({ v: 'int32' });
    const { sub, file } = await freshTarget();
    await writeParquetFile(file, schema, [rowsToBatch(schema, [{ v: 1 }, { v: 2 }])]);
    await writeParquetFile(file, schema, [rowsToBatch(schema, [{ v: 3 }])]);
    expect(await readRows(file, schema)).toEqual([{ v: 3 }]);
    expect(await fs.readdir(sub)).toEqual(['data.parquet']);
  });

  it('paths with spaces and quotes work', async () => {
    const schema = defineSchema({ v: 'string' });
    const { file } = await freshTarget(`it's a "file" ü.parquet`);
    await writeParquetFile(file, schema, [rowsToBatch(schema, [{ v: 'ok' }])]);
    expect(await readRows(file, schema)).toEqual([{ v: 'ok' }]);
    expect(await countParquetRows(file)).toBe(1);
  });

  it('concurrent writes and reads do not mix their data', async () => {
    const schema = defineSchema({ k: 'int64', s: { type: 'string', nullable: true }, ls: 'list<string>', li: 'list<int32>' });
    const targets = await Promise.all([0, 1, 2, 3].map(() => freshTarget()));
    const data = targets.map((_, t) =>
      Array.from({ length: 3000 + t * 500 }, (_, i): Row => ({
        k: t * 1_000_000_000_000 + i,
        s: i % 11 === 0 ? null : `t${t}r${i}${i % 97 === 0 ? '\x1f' : ''}`,
        ls: i % 13 === 0 ? [] : [`t${t}`, `${i}${i % 89 === 0 ? '\x1e' : ''}`],
        li: Int32Array.of(t, i),
      })),
    );
    await Promise.all(targets.map(({ file }, t) => writeParquetFile(file, schema, [rowsToBatch(schema, data[t]!)], { compression: COMPRESSIONS[t % 3] })));
    const read = await Promise.all(targets.map(({ file }) => readRows(file, schema, { batchRows: 1000 })));
    read.forEach((rows, t) => expectSameRows(rows, canonical(schema, data[t]!), `concurrent file ${t}`));
  });

  it('a reader abandoned early (break, or a throw in the loop) releases its connection; later reads work', async () => {
    const schema = defineSchema({ v: 'int32', s: 'string' });
    const { file } = await freshTarget();
    const rows = Array.from({ length: 5000 }, (_, i) => ({ v: i, s: `s${i}` }));
    await writeParquetFile(file, schema, [rowsToBatch(schema, rows)]);
    for (let round = 0; round < 5; round++) {
      for await (const b of readParquetFile(file, schema, { batchRows: 100 })) {
        expect(b.numRows).toBe(100);
        break;
      }
      await expect(
        (async () => {
          for await (const _ of readParquetFile(file, schema, { batchRows: 100 })) throw new Error('consumer failed');
        })(),
      ).rejects.toThrow('consumer failed');
    }
    expectSameRows(await readRows(file, schema), rows, 'after abandoned reads');
  });
});

// ---- 3. projection ---------------------------------------------------------------------------------

describe('column projection', () => {
  const schema = defineSchema({
    a: 'int32',
    b: { type: 'string', nullable: true },
    c: { type: 'int64', nullable: true },
    d: 'list<string>',
    e: 'bool',
  });
  const rows: Row[] = Array.from({ length: 2500 }, (_, i) => ({
    a: i,
    b: i % 4 === 0 ? null : `b${i}${i === 1777 ? '\x1f' : ''}`,
    c: i % 6 === 0 ? null : -i * 2 ** 33,
    d: i % 9 === 0 ? [] : [`d${i}`],
    e: i % 2 === 0,
  }));
  let file: string;
  beforeAll(async () => {
    file = (await freshTarget()).file;
    await writeParquetFile(file, schema, [rowsToBatch(schema, rows)]);
  });

  it('returns only the asked columns, in the asked order', async () => {
    const batches = await readBatches(file, schema, { columns: ['d', 'a', 'c'], batchRows: 1000 });
    expect(batches.map((b) => b.numRows)).toEqual([1000, 1000, 500]);
    for (const b of batches) {
      expect(Object.keys(b.columns)).toEqual(['d', 'a', 'c']);
      expect(Object.keys(b.valid ?? {}).every((k) => k === 'c')).toBe(true);
    }
    const got = await readRows(file, schema, { columns: ['d', 'a', 'c'] });
    expect(got.map((r) => Object.keys(r))).toEqual(rows.map(() => ['d', 'a', 'c']));
    expectSameRows(
      got,
      rows.map((r) => ({ d: r.d!, a: r.a!, c: r.c! })),
      'projection d,a,c',
    );
  });

  it('a single string column, including its fallback group', async () => {
    const got = await readRows(file, schema, { columns: ['b'], batchRows: 500 });
    expect(got).toEqual(rows.map((r) => ({ b: r.b })));
    expect(got[1777]).toEqual({ b: 'b1777\x1f' });
  });

  it('an unknown column is an error naming it (and the file)', async () => {
    const err = await expectStorageError(() => drain(readParquetFile(file, schema, { columns: ['a', 'nope'] })));
    expect(err.message).toContain('nope');
    expect(err.message).toContain(file);
  });

  it('a schema column missing from the file is an error naming it', async () => {
    const wider = defineSchema({ a: 'int32', zz_missing: 'string' });
    const err = await expectStorageError(() => drain(readParquetFile(file, wider, { columns: ['zz_missing'] })));
    expect(err.message).toContain('zz_missing');
    expect(err.message).toContain(file);
  });
});

// ---- 5. an independent reader ------------------------------------------------------------------------

/** hyparquet's values in our row form: bigint → number, Date → epoch ms, undefined → null, int lists → Int32Array. */
function normaliseHyparquet(schema: RecordSchema, rows: Record<string, unknown>[]): Row[] {
  return rows.map((r) => {
    const out: Row = {};
    for (const f of schema.fields) {
      const v = r[f.name];
      if (v === undefined || v === null) out[f.name] = null;
      else if (typeof v === 'bigint') out[f.name] = Number(v);
      else if (v instanceof Date) out[f.name] = v.getTime();
      else if (f.type === 'list<int32>') out[f.name] = Int32Array.from(v as number[]);
      else if (f.type === 'list<string>') out[f.name] = [...(v as string[])];
      else out[f.name] = v as Row[string];
    }
    return out;
  });
}

async function readWithHyparquet(file: string): Promise<{ rows: Record<string, unknown>[]; metadata: ReturnType<typeof parquetMetadata> }> {
  const buf = await fs.readFile(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file: ab, compressors })) as Record<string, unknown>[];
  return { rows, metadata: parquetMetadata(ab) };
}

describe('strings over 12 bytes, written in bulk per chunk', () => {
  // The writer joins a chunk's long ASCII strings into one string handed to DuckDB once and points each slot
  // into it; a long string with a non-ASCII character sends its chunk's long strings one by one.
  const schema = defineSchema({ id: 'string', maybe: { type: 'string', nullable: true }, tags: 'list<string>' });
  const ascii = (i: number, len: number) => (`k${i}-`.padEnd(len, String.fromCharCode(97 + (i % 26))) + '|').slice(0, len);
  function rowsOf(n: number, twist: (i: number) => string | undefined): Row[] {
    return Array.from({ length: n }, (_, i) => ({
      id: twist(i) ?? ascii(i, 13 + (i % 300)),
      maybe: i % 7 === 0 ? null : i % 5 === 0 ? `short${i % 10}` : ascii(i * 3, 13 + (i % 40)),
      tags: Array.from({ length: i % 4 }, (_, j) => (j === 1 ? 'tiny' : ascii(i + j, 12 + j * 9))),
    }));
  }
  const cases: [string, (i: number) => string | undefined][] = [
    ['all ASCII (every chunk in bulk)', () => undefined],
    ['a non-ASCII character past the prefix in one chunk', (i) => (i === 3000 ? `${ascii(i, 20)}é${ascii(i, 20)}` : undefined)],
    ['non-ASCII within the 4-byte prefix now and then', (i) => (i % 997 === 0 ? `日本${ascii(i, 30)}` : undefined)],
    ['4-byte characters and separators in long strings', (i) => (i % 501 === 0 ? `😀${ascii(i, 14)}\x1f${ascii(i, 15)}` : undefined)],
  ];
  for (const [name, twist] of cases) {
    it(`${name}: exact through DuckDB and hyparquet`, async () => {
      const rows = rowsOf(10_000, twist);
      const { file } = await freshTarget();
      // Batches of uneven size, so chunks start mid-batch and the last chunk is short.
      const batches = [0, 1234, 5000, 5001, 10_000].slice(1).map((to, k, tos) => rowsToBatch(schema, rows.slice(k === 0 ? 0 : tos[k - 1], to)));
      await writeParquetFile(file, schema, batches);
      expectSameRows(await readRows(file, schema), rows, name);
      expectSameRows(normaliseHyparquet(schema, (await readWithHyparquet(file)).rows), rows, `${name} (hyparquet)`);
    });
  }
});

describe('files are readable by an independent reader (hyparquet)', () => {
  const rows = edgeRows(3000, 11);
  const expected = canonical(ALL_SCHEMA, rows);
  const CODECS: Record<ParquetCompression, string> = { zstd: 'ZSTD', snappy: 'SNAPPY', none: 'UNCOMPRESSED' };

  for (const compression of COMPRESSIONS) {
    it(`${compression}: every value, and the codec asked for`, async () => {
      const { file } = await freshTarget();
      await writeParquetFile(file, ALL_SCHEMA, [rowsToBatch(ALL_SCHEMA, rows)], { compression });
      const { rows: got, metadata } = await readWithHyparquet(file);
      expect(Number(metadata.num_rows)).toBe(3000);
      expect(metadata.row_groups.reduce((s, g) => s + Number(g.num_rows), 0)).toBe(3000);
      for (const g of metadata.row_groups) for (const c of g.columns) expect(c.meta_data?.codec).toBe(CODECS[compression]);
      expectSameRows(normaliseHyparquet(ALL_SCHEMA, got), expected, `hyparquet ${compression}`);
    });
  }

  it('rowGroupSize splits the file into row groups (DuckDB rounds to its 2048-row vectors)', async () => {
    const schema = defineSchema({ n: 'int32', s: 'string' });
    const { file } = await freshTarget();
    const many = Array.from({ length: 10_000 }, (_, i) => ({ n: i, s: `r${i}` }));
    await writeParquetFile(file, schema, [rowsToBatch(schema, many)], { compression: 'snappy', rowGroupSize: 1000 });
    const { rows: got, metadata } = await readWithHyparquet(file);
    expect(metadata.row_groups.length).toBeGreaterThanOrEqual(3);
    expect(metadata.row_groups.every((g) => Number(g.num_rows) <= 4096)).toBe(true);
    expect(metadata.row_groups.reduce((s, g) => s + Number(g.num_rows), 0)).toBe(10_000);
    expect(got.map((r) => r.n)).toEqual(many.map((r) => r.n));
    expect(got[9999]).toEqual({ n: 9999, s: 'r9999' });
    // and our reader crosses the row-group boundaries in order
    expectSameRows(await readRows(file, schema, { batchRows: 3000 }), many, 'row groups');
  });

  it('types in the file are what other tools expect (INT64 millis timestamps, UTF8 strings, lists)', async () => {
    const { file } = await freshTarget();
    await writeParquetFile(file, ALL_SCHEMA, [rowsToBatch(ALL_SCHEMA, rows.slice(0, 5))]);
    const { metadata } = await readWithHyparquet(file);
    const byName = new Map(metadata.schema.map((e) => [e.name, e]));
    expect(byName.get('ts_req')?.type).toBe('INT64');
    expect(byName.get('ts_req')?.logical_type).toMatchObject({ type: 'TIMESTAMP', unit: 'MILLIS' });
    expect(byName.get('int64_req')?.type).toBe('INT64');
    expect(byName.get('int32_req')?.type).toBe('INT32');
    expect(byName.get('float64_req')?.type).toBe('DOUBLE');
    expect(byName.get('bool_req')?.type).toBe('BOOLEAN');
    expect(byName.get('string_req')?.type).toBe('BYTE_ARRAY');
    expect(byName.get('string_req')?.converted_type).toBe('UTF8');
    expect(byName.get('list_string_req')?.converted_type).toBe('LIST');
    expect(byName.get('list_int32_req')?.converted_type).toBe('LIST');
  });

  it('hyparquet sees exact values at the edges (spot checks)', async () => {
    const schema = defineSchema({ s: { type: 'string', nullable: true }, l: 'int64', t: 'timestamp_ms', ls: 'list<string>' });
    const { file } = await freshTarget();
    await writeParquetFile(
      file,
      schema,
      [
        rowsToBatch(schema, [
          { s: 'abcdefghijk\x1f', l: 2 ** 53 - 1, t: Date.UTC(2026, 10, 23, 1, 2, 3, 4), ls: [''] },
          { s: null, l: -(2 ** 53 - 1), t: -1, ls: [] },
          { s: '😀😀😀a', l: -(2 ** 32) - 1, t: 0, ls: ['\x1e', 'é'] },
        ]),
      ],
      { compression: 'snappy' },
    );
    const { rows: got } = await readWithHyparquet(file);
    expect(got[0]!.s).toBe('abcdefghijk\x1f');
    expect(got[0]!.l).toBe(9007199254740991n);
    expect((got[0]!.t as Date).toISOString()).toBe('2026-11-23T01:02:03.004Z');
    expect(got[0]!.ls).toEqual(['']);
    expect(got[1]!.s ?? null).toBeNull();
    expect(got[1]!.l).toBe(-9007199254740991n);
    expect((got[1]!.t as Date).getTime()).toBe(-1);
    expect(got[1]!.ls).toEqual([]);
    expect(got[2]!.s).toBe('😀😀😀a');
    expect(got[2]!.l).toBe(-4294967297n);
    expect(got[2]!.ls).toEqual(['\x1e', 'é']);
  });
});

describe('StorageError', () => {
  it('is exported and carries uri and hint', () => {
    const e = new StorageError('file:///x', 'broke', 'fix it');
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe('file:///x: broke (fix it)');
    expect(e.uri).toBe('file:///x');
  });
});

