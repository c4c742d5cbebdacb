/**
 * Shared helpers of the Parquet tests: temp dirs, a seeded PRNG, reading a whole file back as rows,
 * comparing large row sets with a readable failure (the first differing row, not a 40,000-row diff).
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { batchToRows, readParquetFile, StorageError, type ColumnBatch, type ParquetReadOptions, type RecordSchema, type Row } from '../../storage/index.ts';

/** A fresh temp dir under the OS temp dir; remove it with `removeTempDir`. */
export async function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `courier-${prefix}-`));
}

export async function removeTempDir(dir: string | undefined): Promise<void> {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}

/** mulberry32: tiny, fast, good enough to pick test data; same seed, same data. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Reads a whole file, keeping the batches as emitted (to check sizes and independence). */
export async function readBatches(file: string, schema: RecordSchema, options: ParquetReadOptions = {}): Promise<ColumnBatch[]> {
  const out: ColumnBatch[] = [];
  for await (const b of readParquetFile(file, schema, options)) out.push(b);
  return out;
}

/** Reads a whole file as rows, in file order. */
export async function readRows(file: string, schema: RecordSchema, options: ParquetReadOptions = {}): Promise<Row[]> {
  const rowSchema = options.columns ? { fields: options.columns.map((n) => schema.fields.find((f) => f.name === n)!) } : schema;
  const batches = await readBatches(file, schema, options);
  return batches.flatMap((b) => batchToRows(rowSchema, b));
}

/**
 * Asserts two row lists are equal (NaN equals NaN, -0 differs from 0, Int32Array compared by content),
 * reporting the first differing row with its index.
 */
export function expectSameRows(actual: readonly Row[], expected: readonly Row[], label: string): void {
  expect(actual.length, `${label}: row count`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!isDeepStrictEqual(actual[i], expected[i])) {
      expect(actual[i], `${label}: row ${i} differs`).toEqual(expected[i]);
      // toEqual is looser than isDeepStrictEqual in places (e.g. undefined properties): be exact.
      expect.fail(`${label}: row ${i} differs: ${describeRow(actual[i])} vs expected ${describeRow(expected[i])}`);
    }
  }
}

function describeRow(r: Row | undefined): string {
  if (!r) return String(r);
  return JSON.stringify(r, (_k, v: unknown) => {
    if (v instanceof Int32Array) return { Int32Array: Array.from(v) };
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (typeof v === 'number' && Object.is(v, -0)) return '-0';
    return v;
  });
}

/** Runs `fn`, expecting it to reject with a StorageError; returns it. */
export async function expectStorageError(fn: () => Promise<unknown>): Promise<StorageError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected the call to reject').toBeDefined();
  expect(caught).toBeInstanceOf(StorageError);
  return caught as StorageError;
}

/** Drains a read into nothing (to trigger its errors). */
export async function drain(it: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of it) void _;
}
