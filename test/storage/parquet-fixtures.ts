/**
 * Shared fixtures of the Parquet tests: edge values of every field type, a schema holding every type
 * required and nullable, rows cycling through the edge values, and per-file temp targets.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { batchToRows, defineSchema, rowsToBatch, type FieldType, type ParquetCompression, type RecordSchema, type Row } from '../../storage/index.ts';
import { makeTempDir, Prng, removeTempDir } from './parquet-test-kit.ts';

/**
 * Registers a temp dir for the calling test file (created in beforeAll, removed in afterAll) and returns
 * a factory of fresh targets: each in its own sub-directory, so leftover temp files are attributable.
 */
export function useTempTargets(prefix: string): {
  target: (name?: string) => Promise<{ sub: string; file: string }>;
  dir: () => string;
} {
  let dir: string | undefined;
  let fileNo = 0;
  beforeAll(async () => {
    dir = await makeTempDir(prefix);
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });
  return {
    dir: () => dir!,
    target: async (name = 'data.parquet') => {
      const sub = path.join(dir!, `case-${++fileNo}`);
      await fs.mkdir(sub);
      return { sub, file: path.join(sub, name) };
    },
  };
}

export const COMPRESSIONS: readonly ParquetCompression[] = ['zstd', 'snappy', 'none'];

// ---- edge values, per type -------------------------------------------------------------------

export const STRINGS: readonly string[] = [
  '',
  'a',
  ' ',
  '\x1f',
  '\x1e',
  '\x1f\x1e',
  'a\x1fb',
  'a\x1eb',
  'x\x1f',
  '\x1fx',
  '\x1e\x1e\x1e',
  '😀',
  'héllo wörld',
  '日本語テキスト',
  'abcdefghijkl', // 12 bytes: inlined by DuckDB
  'abcdefghijklm', // 13 bytes: stored by pointer
  'éééééé', // 12 bytes in UTF-8
  'ééééééa', // 13 bytes
  '😀😀😀', // 12 bytes
  '😀😀😀a', // 13 bytes
  'abcdefghijk\x1f', // 12 bytes ending in the unit separator
  'abcdefghijkl\x1e', // 13 bytes ending in the record separator
  'nul\0inside',
  'tab\tnew\nline\r',
  `quote'double"back\\`,
  'x'.repeat(5000),
  '€'.repeat(4), // 12 bytes of 3-byte characters
  '€'.repeat(4) + 'é', // 14 bytes
];

export const STRING_LISTS: readonly string[][] = [
  [],
  [''],
  ['', ''],
  ['', '', ''],
  ['a'],
  ['\x1f'],
  ['\x1e'],
  ['a\x1fb', 'c'],
  ['a', '\x1e', ''],
  ['\x1f', '\x1e', '\x1f\x1e'],
  ['😀', 'é', '日本'],
  ['abcdefghijkl', 'abcdefghijklm'],
  ['😀😀😀', '😀😀😀a', 'éééééé', 'ééééééa'],
  Array.from({ length: 50 }, (_, i) => `item-${i}`),
  ['x'.repeat(3000), ''],
];

export const INT32S: readonly number[] = [0, 1, -1, 2147483647, -2147483648, 12345, -987654];

export const INT64S: readonly number[] = [
  0,
  1,
  -1,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2 ** 53 - 2,
  -(2 ** 53) + 2,
  2 ** 32,
  -(2 ** 32),
  2 ** 32 - 1,
  -(2 ** 32) - 1,
  2 ** 32 + 1,
  2 ** 31,
  -(2 ** 31) - 1,
  1_234_567_890_123,
  -1_234_567_890_123,
];

export const FLOATS: readonly number[] = [0, -0, 1.5, -1.5, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1e-300, Math.PI, 0.1 + 0.2, 2 ** 53 + 2];

export const TIMESTAMPS: readonly number[] = [
  0,
  1,
  -1,
  -86_400_000,
  1_700_000_000_123,
  Date.UTC(2026, 10, 23, 12, 34, 56, 789),
  Date.UTC(1, 0, 1), // year 1
  Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  Date.UTC(1900, 1, 28, 0, 0, 0, 1),
];

export const INT32_LISTS: readonly number[][] = [[], [0], [-2147483648, 2147483647], [1, 2, 3], Array.from({ length: 100 }, (_, i) => i * 7919 - 300_000), [-1]];

export const ALL_TYPES: readonly FieldType[] = ['string', 'int32', 'int64', 'float64', 'bool', 'timestamp_ms', 'list<string>', 'list<int32>'];

export function nameOf(t: FieldType): string {
  return t.replace('list<', 'list_').replace('>', '').replace('timestamp_ms', 'ts');
}

/** Every type twice: `<type>_req` (required) and `<type>_opt` (nullable). */
export const ALL_SCHEMA: RecordSchema = defineSchema(
  Object.fromEntries(ALL_TYPES.flatMap((t) => [[`${nameOf(t)}_req`, { type: t }], [`${nameOf(t)}_opt`, { type: t, nullable: true }]])),
);

export function edgeValue(t: FieldType, i: number): string | number | boolean | string[] | number[] {
  switch (t) {
    case 'string':
      return STRINGS[i % STRINGS.length]!;
    case 'int32':
      return INT32S[i % INT32S.length]!;
    case 'int64':
      return INT64S[i % INT64S.length]!;
    case 'float64':
      return FLOATS[i % FLOATS.length]!;
    case 'bool':
      return i % 3 === 0;
    case 'timestamp_ms':
      return TIMESTAMPS[i % TIMESTAMPS.length]!;
    case 'list<string>':
      return STRING_LISTS[i % STRING_LISTS.length]!;
    case 'list<int32>':
      return INT32_LISTS[i % INT32_LISTS.length]!;
  }
}

/** `n` rows cycling through the edge values with different strides; nullable columns null now and then. */
export function edgeRows(n: number, seed: number): Row[] {
  const rnd = new Prng(seed);
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const row: Row = {};
    ALL_TYPES.forEach((t, k) => {
      row[`${nameOf(t)}_req`] = edgeValue(t, i * (k + 1) + k) as Row[string];
      row[`${nameOf(t)}_opt`] = rnd.chance(0.2) ? null : (edgeValue(t, i * (k + 3) + 1) as Row[string]);
    });
    rows.push(row);
  }
  return rows;
}

/** The canonical row form (what batchToRows gives for the input). */
export function canonical(schema: RecordSchema, rows: readonly Row[]): Row[] {
  return batchToRows(schema, rowsToBatch(schema, rows));
}
