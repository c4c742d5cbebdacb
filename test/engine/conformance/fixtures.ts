/**
 * Helpers of the engine conformance and property suites: a temp storage root per test, writing input
 * datasets, reading outputs back as canonical rows, and golden files (regenerated with UPDATE_GOLDEN=1).
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import {
  batchToRows,
  datasetFiles,
  DatasetStaging,
  fileSystemFor,
  joinUri,
  readDataset,
  rowsToBatch,
  toStorageUri,
  writeDataset,
  type DatasetMarker,
  type PartitionSpec,
  type RecordSchema,
  type Row,
} from '../../../storage/index.ts';
import type { JobResult } from '../../../engine/index.ts';

/** A temp storage root for one test. */
export interface TempRoot {
  readonly dir: string;
  readonly root: string;
}

/** Creates a temp directory under the OS temp dir and its storage URI. */
export async function makeTempRoot(prefix = 'courier-engine-'): Promise<TempRoot> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, root: toStorageUri(dir) };
}

/** Removes a temp root. */
export async function removeTempRoot(t: TempRoot | undefined): Promise<void> {
  if (t) await fsp.rm(t.dir, { recursive: true, force: true });
}

/** Writes rows as a complete dataset at `relative` under the root, cut into `files` files. */
export async function writeInput(
  t: TempRoot,
  relative: string,
  schema: RecordSchema,
  rows: readonly Row[],
  options: { partitionBy?: readonly PartitionSpec[]; rowsPerFile?: number; overwrite?: boolean } = {},
): Promise<DatasetMarker> {
  return writeDataset(joinUri(t.root, relative), schema, [rowsToBatch(schema, rows)], options);
}

/** One file of a `files` dataset written by `writeFilesInput`. */
export interface InputTextFile {
  /** Path inside the dataset, e.g. `hour=00/webapp-a.log.gz`. */
  readonly path: string;
  readonly data: string | Uint8Array;
  /** Lines in the file, as the marker records them. */
  readonly rows: number;
}

/** Writes a complete `files` dataset (as the webapp log generator does: staged, `_SUCCESS` kind files, by hour). */
export async function writeFilesInput(t: TempRoot, relative: string, files: readonly InputTextFile[]): Promise<DatasetMarker> {
  const uri = joinUri(t.root, relative);
  const staging = await DatasetStaging.begin(fileSystemFor(uri), uri, { overwrite: true });
  for (const f of files) await staging.addFile(f.path, f.data, f.rows);
  return staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
}

/** A row with typed arrays turned into plain arrays, for JSON and deep equality. */
export function plainRow(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Int32Array ? Array.from(v) : v;
  return out;
}

/** Reads a complete dataset back as plain rows, sorted canonically. */
export async function readRows(uri: string): Promise<Record<string, unknown>[]> {
  const { schema } = await datasetFiles(uri);
  const rows: Record<string, unknown>[] = [];
  for await (const b of readDataset(uri)) for (const r of batchToRows(schema, b)) rows.push(plainRow(r));
  return canonicalRows(rows);
}

/** Stable JSON: object keys sorted at every level. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** Rows sorted by their stable JSON, each with keys sorted: the order golden files use. */
export function canonicalRows<T>(rows: readonly T[]): T[] {
  return rows
    .map((r) => [stableJson(r), r] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([s]) => JSON.parse(s) as T);
}

/** The engine-independent facts of a run's steps, for golden files. */
export function stepFacts(result: JobResult): unknown[] {
  return result.steps.map((s) => ({
    name: s.name,
    recordsIn: s.recordsIn,
    mapOutputRecords: s.mapOutputRecords,
    reduceGroups: s.reduceGroups,
    recordsOut: s.recordsOut,
    badRecords: s.badRecords,
    counters: s.counters,
  }));
}

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'golden');

/** JSON with small objects and arrays on one line, so rows read one per line. */
export function formatGolden(v: unknown, indent = ''): string {
  const flat = JSON.stringify(v);
  if (flat === undefined) throw new Error('golden values must be JSON');
  if (flat.length + indent.length <= 120 || v === null || typeof v !== 'object') return flat;
  const inner = indent + '  ';
  if (Array.isArray(v)) return `[\n${v.map((x) => inner + formatGolden(x, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${formatGolden(x, inner)}`).join(',\n')}\n${indent}}`;
}

/**
 * Compares `actual` with `test/engine/golden/<name>.json` exactly (as formatted text); with
 * UPDATE_GOLDEN=1 it writes the file instead. A missing golden file is a failure that says how to create it.
 */
export async function expectGolden(name: string, actual: unknown): Promise<void> {
  const file = path.join(GOLDEN_DIR, `${name}.json`);
  const text = formatGolden(actual) + '\n';
  if (process.env.UPDATE_GOLDEN === '1') {
    await fsp.mkdir(GOLDEN_DIR, { recursive: true });
    await fsp.writeFile(file, text);
    return;
  }
  let expected: string;
  try {
    expected = await fsp.readFile(file, 'utf8');
  } catch {
    throw new Error(`golden file ${file} is missing; run UPDATE_GOLDEN=1 npx vitest run test/engine, review it, and commit it`);
  }
  expect(text, `output differs from golden file ${path.relative(process.cwd(), file)} (UPDATE_GOLDEN=1 regenerates it after review)`).toBe(expected);
}

/** Replaces the temp root in strings (URIs in errors, quarantine rows) with `<root>`. */
export function withoutRoot<T>(v: T, t: TempRoot): T {
  return JSON.parse(JSON.stringify(v).split(t.root).join('<root>')) as T;
}
