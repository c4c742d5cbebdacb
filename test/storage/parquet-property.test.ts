/**
 * Property test of Parquet I/O: 30 seeded random schemas and row sets (0..40,000 rows), written in random
 * multi-batch slices with random compression and row-group size, read back in random batch sizes: the
 * rows must come back exactly and in order. Separators (\x1f, \x1e) appear never, rarely or often, so
 * both the reader's folded fast path and its value-by-value fallback are exercised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import * as fs from 'node:fs/promises';
import {
  batchToRows,
  countParquetRows,
  defineSchema,
  rowsToBatch,
  writeParquetFile,
  type ColumnBatch,
  type ColumnValues,
  type FieldType,
  type ParquetCompression,
  type RecordSchema,
  type Row,
} from '../../storage/index.ts';
import { expectSameRows, makeTempDir, Prng, readBatches, removeTempDir } from './parquet-test-kit.ts';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('parquet-prop');
});
afterAll(async () => {
  await removeTempDir(dir);
});

const TYPES: readonly FieldType[] = ['string', 'int32', 'int64', 'float64', 'bool', 'timestamp_ms', 'list<string>', 'list<int32>'];

const SPECIAL_STRINGS: readonly string[] = [
  '',
  'abcdefghijkl', // 12 bytes
  'abcdefghijklm', // 13 bytes
  'éééééé', // 12 bytes
  'ééééééa', // 13 bytes
  '😀😀😀', // 12 bytes
  '😀😀😀a', // 13 bytes
  '日本語テ', // 12 bytes
  'x'.repeat(200),
];
const SEP_STRINGS: readonly string[] = ['\x1f', '\x1e', 'a\x1fb', 'c\x1ed', '\x1f\x1e', 'abcdefghijk\x1f', 'abcdefghijkl\x1e'];
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz0123456789 _-', 'é', 'ß', '日', '本', '😀', '🚀'];
const SPECIAL_INT32 = [0, 1, -1, 2147483647, -2147483648];
const SPECIAL_INT64 = [0, -1, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 32, -(2 ** 32), 2 ** 32 - 1, -(2 ** 32) - 1, 2 ** 31, -(2 ** 31) - 1];
const SPECIAL_FLOAT = [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53 + 2];

interface Run {
  seed: number;
  schema: RecordSchema;
  rows: Row[];
  cuts: number[];
  compression: ParquetCompression;
  rowGroupSize: number | undefined;
  batchRows: number | undefined;
  /** Chance that a generated string carries a separator. */
  sepP: number;
  viewBatches: boolean;
}

function makeRun(seed: number): Run {
  const rnd = new Prng(seed * 2654435761);
  const nFields = rnd.int(1, 7);
  const fields: Record<string, { type: FieldType; nullable: boolean }> = {};
  for (let k = 0; k < nFields; k++) {
    const type = rnd.pick(TYPES);
    fields[`f${k}_${type.replace(/[<>]/g, '_')}`] = { type, nullable: rnd.chance(0.5) };
  }
  const schema = defineSchema(fields);

  const sizeClass = seed % 10 === 0 ? 'zero' : rnd.pick(['tiny', 'medium', 'medium', 'large', 'large'] as const);
  const n = sizeClass === 'zero' ? 0 : sizeClass === 'tiny' ? rnd.int(1, 40) : sizeClass === 'medium' ? rnd.int(41, 6000) : rnd.int(6001, 40_000);
  const batchRows = rnd.pick([undefined, 1000, 1000, 777, 4096, 16_384, 50_000]);
  // Heavy separators only where few groups would fall back, to keep the whole file fast.
  const groups = Math.ceil(n / (batchRows ?? 8192));
  const sepClass = rnd.pick(['none', 'none', 'rare', 'heavy'] as const);
  const sepP = sepClass === 'none' ? 0 : sepClass === 'rare' || groups > 20 ? 3 / Math.max(1, n * nFields) : 0.05;

  const gen = new ValueGen(rnd, sepP);
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const row: Row = {};
    for (const f of schema.fields) row[f.name] = gen.value(f.type, f.nullable ?? false);
    rows.push(row);
  }

  // Random batch boundaries, empty batches allowed.
  const nBatches = rnd.int(1, 6);
  const cuts = [0];
  for (let b = 1; b < nBatches; b++) cuts.push(rnd.int(0, n));
  cuts.push(n);
  cuts.sort((a, b) => a - b);

  return {
    seed,
    schema,
    rows,
    cuts,
    compression: rnd.pick(['zstd', 'snappy', 'none'] as const),
    rowGroupSize: rnd.pick([undefined, 2048, 5000, 10_000]),
    batchRows,
    sepP,
    viewBatches: rnd.chance(0.5),
  };
}

class ValueGen {
  constructor(
    private readonly rnd: Prng,
    private readonly sepP: number,
  ) {}

  string(): string {
    const r = this.rnd;
    if (this.sepP > 0 && r.chance(this.sepP)) {
      const s = r.pick(SEP_STRINGS);
      return r.chance(0.5) ? s : `${this.plain()}${s}${this.plain()}`;
    }
    if (r.chance(0.15)) return r.pick(SPECIAL_STRINGS);
    return this.plain();
  }

  private plain(): string {
    const len = this.rnd.int(0, 16);
    let s = '';
    for (let i = 0; i < len; i++) s += this.rnd.pick(ALPHABET);
    return s;
  }

  value(type: FieldType, nullable: boolean): Row[string] {
    const r = this.rnd;
    if (nullable && r.chance(0.15)) return null;
    switch (type) {
      case 'string':
        return this.string();
      case 'int32':
        return r.chance(0.2) ? r.pick(SPECIAL_INT32) : r.int(-2147483648, 2147483647);
      case 'int64':
        return r.chance(0.2) ? r.pick(SPECIAL_INT64) : Math.trunc((r.next() * 2 - 1) * (2 ** 53 - 1));
      case 'float64':
        return r.chance(0.2) ? r.pick(SPECIAL_FLOAT) : (r.next() - 0.5) * 10 ** r.int(-12, 12);
      case 'bool':
        return r.chance(0.5);
      case 'timestamp_ms':
        return Math.trunc((r.next() * 2 - 1) * 2e13);
      case 'list<string>': {
        const len = r.pick([0, 0, 1, 1, 2, 3, 5]);
        return Array.from({ length: len }, () => (r.chance(0.2) ? '' : this.string()));
      }
      case 'list<int32>': {
        const len = r.pick([0, 1, 2, 3, 6]);
        return Array.from({ length: len }, () => r.int(-2147483648, 2147483647)) as unknown as Row[string];
      }
    }
  }
}

/** Slices a batch into a view: typed arrays by subarray (non-zero byteOffset), plain arrays by slice. */
function sliceBatch(schema: RecordSchema, batch: ColumnBatch, from: number, to: number): ColumnBatch {
  const columns: Record<string, ColumnValues> = {};
  for (const f of schema.fields) {
    const col = batch.columns[f.name]!;
    columns[f.name] = (Array.isArray(col) ? col.slice(from, to) : (col as Int32Array).subarray(from, to)) as ColumnValues;
  }
  const valid: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(batch.valid ?? {})) valid[k] = v.subarray(from, to);
  return batch.valid ? { numRows: to - from, columns, valid } : { numRows: to - from, columns };
}

function batchesOf(run: Run): ColumnBatch[] {
  const whole = run.viewBatches ? rowsToBatch(run.schema, run.rows) : undefined;
  const out: ColumnBatch[] = [];
  for (let b = 0; b + 1 < run.cuts.length; b++) {
    const from = run.cuts[b]!;
    const to = run.cuts[b + 1]!;
    out.push(whole ? sliceBatch(run.schema, whole, from, to) : rowsToBatch(run.schema, run.rows.slice(from, to)));
  }
  return out;
}

function describeRun(run: Run): string {
  const fields = run.schema.fields.map((f) => `${f.name}${f.nullable ? '?' : ''}`).join(',');
  return (
    `seed ${run.seed}: ${run.rows.length} rows in ${run.cuts.length - 1} batches [${run.cuts.join(' ')}], ` +
    `${run.compression}, rowGroupSize ${run.rowGroupSize ?? 'default'}, batchRows ${run.batchRows ?? 'default'}, ` +
    `separator chance ${run.sepP.toPrecision(2)}, ${run.viewBatches ? 'view' : 'fresh'} batches, fields ${fields}`
  );
}

describe('property: random schemas and rows round-trip exactly and in order', () => {
  const seeds = Array.from({ length: 30 }, (_, i) => i + 1);

  it('the seeds cover zero-row files, large files, separators and several read groups', () => {
    const runs = seeds.map(makeRun);
    expect(runs.filter((r) => r.rows.length === 0).length).toBeGreaterThanOrEqual(3);
    expect(runs.some((r) => r.rows.length > 20_000)).toBe(true);
    expect(runs.some((r) => r.sepP > 0.01)).toBe(true);
    expect(runs.some((r) => r.batchRows !== undefined && r.rows.length > 3 * r.batchRows)).toBe(true);
    expect(runs.some((r) => r.cuts.length > 3)).toBe(true);
    const types = new Set(runs.flatMap((r) => r.schema.fields.map((f) => `${f.type}${f.nullable ? '?' : ''}`)));
    expect(types.size).toBe(16);
  });

  for (const seed of seeds) {
    it(`seed ${seed}`, async () => {
      const run = makeRun(seed);
      const label = describeRun(run);
      const file = path.join(dir, `seed-${seed}.parquet`);
      const expected = batchToRows(run.schema, rowsToBatch(run.schema, run.rows));

      const result = await writeParquetFile(file, run.schema, batchesOf(run), {
        compression: run.compression,
        ...(run.rowGroupSize ? { rowGroupSize: run.rowGroupSize } : {}),
      });
      expect(result.rows, label).toBe(run.rows.length);
      expect(result.bytes, label).toBe((await fs.stat(file)).size);
      expect(await countParquetRows(file), label).toBe(run.rows.length);

      // Collect every batch before converting: emitted batches must not share buffers that are reused later.
      const batches = await readBatches(file, run.schema, run.batchRows ? { batchRows: run.batchRows } : {});
      expect(batches.reduce((s, b) => s + b.numRows, 0), label).toBe(run.rows.length);
      expect(batches.every((b) => b.numRows > 0), `${label}: no empty batches`).toBe(true);
      if (run.batchRows) {
        expect(batches.every((b) => b.numRows <= run.batchRows!), `${label}: batches of at most batchRows`).toBe(true);
        expect(batches.length, label).toBe(Math.ceil(run.rows.length / run.batchRows));
      }
      expectSameRows(
        batches.flatMap((b) => batchToRows(run.schema, b)),
        expected,
        label,
      );

      // A projection of some columns, reversed, on the smaller files.
      if (run.rows.length <= 6000 && run.schema.fields.length > 1) {
        const names = run.schema.fields.filter((_, k) => k % 2 === 0).map((f) => f.name).reverse();
        const proj = { fields: names.map((nm) => run.schema.fields.find((f) => f.name === nm)!) };
        const got = (await readBatches(file, run.schema, { columns: names, batchRows: 500 })).flatMap((b) => batchToRows(proj, b));
        expectSameRows(
          got,
          expected.map((r) => Object.fromEntries(names.map((nm) => [nm, r[nm]!]))),
          `${label} projection ${names.join(',')}`,
        );
      }
      await fs.rm(file);
    });
  }
});
