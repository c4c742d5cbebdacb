/**
 * Helpers of the workflow tests: a temp storage root, small real datasets written with storage's writeDataset
 * (so markers, staging and completeness are the real thing), and a log of what stages did and when.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { defineSchema, joinUri, readDataset, batchToRows, rowsToBatch, toStorageUri, writeDataset, type Row } from '../../storage/index.ts';

export const numbers = defineSchema({ n: 'int32', label: 'string' });

/** A temp storage root for one test. */
export interface TempRoot {
  readonly dir: string;
  readonly root: string;
}

export async function makeTempRoot(prefix = 'courier-wf-'): Promise<TempRoot> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, root: toStorageUri(dir) };
}

export async function removeTempRoot(t: TempRoot | undefined): Promise<void> {
  if (t) await fsp.rm(t.dir, { recursive: true, force: true });
}

/** Writes `rows` (n = 0..rows-1, label = `${label}-n`) as a complete dataset at `relative`. */
export async function writeNumbers(root: string, relative: string, rows: number, label: string, options: { overwrite?: boolean } = {}): Promise<void> {
  const data: Row[] = Array.from({ length: rows }, (_, n) => ({ n, label: `${label}-${n}` }));
  await writeDataset(joinUri(root, relative), numbers, [rowsToBatch(numbers, data)], options);
}

/** Reads a dataset back as rows sorted by n. */
export async function readNumbers(root: string, relative: string): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const batch of readDataset(joinUri(root, relative))) rows.push(...batchToRows(numbers, batch));
  return rows.sort((a, b) => Number(a['n']) - Number(b['n']));
}

/** Every file below a directory (relative paths, sorted), for "touches nothing" checks. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      out.push(`${path.relative(dir, p)}${e.isDirectory() ? '/' : ''}`);
    }
  };
  await walk(dir);
  return out.sort();
}

/** What stages did, in order: `start:<stage>@<period>` and `end:<stage>@<period>`. */
export class StageLog {
  readonly entries: string[] = [];
  private active = 0;
  maxActive = 0;

  async around<T>(stage: string, period: string, body: () => Promise<T>): Promise<T> {
    this.entries.push(`start:${stage}@${period}`);
    this.maxActive = Math.max(this.maxActive, ++this.active);
    try {
      return await body();
    } finally {
      this.active--;
      this.entries.push(`end:${stage}@${period}`);
    }
  }

  index(entry: string): number {
    const i = this.entries.indexOf(entry);
    if (i < 0) throw new Error(`no "${entry}" in the stage log: ${this.entries.join(', ')}`);
    return i;
  }

  started(stage: string, period: string): boolean {
    return this.entries.includes(`start:${stage}@${period}`);
  }
}

/** Resolves when `condition` holds, polling; fails after `timeoutMs` with `what`. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
