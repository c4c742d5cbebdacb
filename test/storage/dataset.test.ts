import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  writeDataset,
  readDataset,
  datasetFiles,
  readMarker,
  isComplete,
  fileSystemFor,
  toStorageUri,
  joinUri,
  defineSchema,
  rowsToBatch,
  batchToRows,
  DatasetStaging,
  StorageError,
  MARKER_NAME,
  type Row,
} from '../../storage/index.ts';

const schema = defineSchema({
  request_id: 'string',
  partner_id: 'int32',
  priority: 'string',
  segments: 'list<string>',
  expires_at: 'timestamp_ms',
});

function rows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    request_id: `r${i}`,
    partner_id: [17, 42, 7][i % 3]!,
    priority: i % 4 === 0 ? 'high' : 'normal',
    segments: [`s${i % 5}`, `s${i % 7}`],
    expires_at: 1_795_000_000_000 + i,
  }));
}

let dir: string;
let uri: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-ds-'));
  uri = joinUri(toStorageUri(dir), 'requests/dt=2026-11-23');
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('datasets', () => {
  it('writes Hive partitions and a marker listing every file, then reads all rows back', async () => {
    const input = rows(1000);
    const marker = await writeDataset(uri, schema, [rowsToBatch(schema, input.slice(0, 400)), rowsToBatch(schema, input.slice(400))], {
      partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'],
      extra: { run: 'test' },
    });
    expect(marker.rows).toBe(1000);
    expect(marker.files.map((f) => f.path)).toEqual([
      'partner=17/priority=high/part-00000.parquet',
      'partner=17/priority=normal/part-00000.parquet',
      'partner=42/priority=high/part-00000.parquet',
      'partner=42/priority=normal/part-00000.parquet',
      'partner=7/priority=high/part-00000.parquet',
      'partner=7/priority=normal/part-00000.parquet',
    ]);
    expect(marker.extra).toEqual({ run: 'test' });
    const onDisk = await readMarker(fileSystemFor(uri), uri);
    expect(onDisk.checksum).toBe(marker.checksum);

    const back: Row[] = [];
    for await (const b of readDataset(uri)) back.push(...batchToRows(schema, b));
    const key = (r: Row) => String(r.request_id);
    expect(back.map(key).sort()).toEqual(input.map(key).sort());
    const byId = new Map(back.map((r) => [r.request_id, r]));
    for (const r of input) expect(byId.get(r.request_id)).toEqual(r);
  });

  it('filters partitions and projects columns, restoring partition values from paths', async () => {
    await writeDataset(uri, schema, [rowsToBatch(schema, rows(90))], { partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'] });
    const out: Row[] = [];
    const proj = defineSchema({ partner_id: 'int32', request_id: 'string' });
    for await (const b of readDataset(uri, { partitions: { partner_id: [42] }, columns: ['partner_id', 'request_id'] })) out.push(...batchToRows(proj, b));
    expect(out).toHaveLength(30);
    expect(new Set(out.map((r) => r.partner_id))).toEqual(new Set([42]));
    expect(Object.keys(out[0]!)).toEqual(['partner_id', 'request_id']);
    await expect(datasetFiles(uri, { partitions: { request_id: ['r1'] } })).rejects.toThrow(/not a partition column/);
  });

  it('splits a partition into several files past rowsPerFile and bounds buffered rows', async () => {
    const marker = await writeDataset(uri, schema, [rowsToBatch(schema, rows(3000))], { rowsPerFile: 500, maxBufferedRows: 800 });
    expect(marker.files.length).toBeGreaterThanOrEqual(6);
    expect(marker.files.reduce((s, f) => s + f.rows, 0)).toBe(3000);
    let n = 0;
    for await (const b of readDataset(uri)) n += b.numRows;
    expect(n).toBe(3000);
  });

  it('keeps row order across files encoded while the next batches arrive, partitioned and not', async () => {
    async function* slowly(): AsyncGenerator<ReturnType<typeof rowsToBatch>> {
      const all = rows(5000);
      for (let at = 0; at < all.length; at += 900) {
        await new Promise((r) => setTimeout(r, 1));
        yield rowsToBatch(schema, all.slice(at, at + 900));
      }
    }
    for (const partitionBy of [[], ['partner_id']] as const) {
      const marker = await writeDataset(uri, schema, slowly(), { rowsPerFile: 700, maxBufferedRows: 1500, partitionBy, overwrite: true });
      expect(marker.rows).toBe(5000);
      expect(marker.files.every((f) => f.rows <= 700)).toBe(true);
      const back: Row[] = [];
      for await (const b of readDataset(uri, { columns: schema.fields.map((f) => f.name) })) back.push(...batchToRows(schema, b));
      // Files are read in marker (path) order; within each partition the rows keep their input order.
      for (const p of [7, 17, 42]) {
        const ids = (list: Row[]): unknown[] => list.filter((r) => r.partner_id === p).map((r) => r.request_id);
        expect(ids(back)).toEqual(ids(rows(5000)));
      }
      if (partitionBy.length === 0) expect(back.map((r) => r.request_id)).toEqual(rows(5000).map((r) => r.request_id));
      expect(back.find((r) => r.request_id === 'r4321')).toEqual(rows(5000)[4321]);
    }
  });

  it('a bad batch after a file went to encoding fails the write and leaves nothing marked or staged', async () => {
    async function* thenBad(): AsyncGenerator<ReturnType<typeof rowsToBatch>> {
      yield rowsToBatch(schema, rows(1200));
      const bad = rowsToBatch(schema, rows(10));
      (bad.columns.segments as unknown[])[6] = null;
      yield bad;
    }
    const err = await writeDataset(uri, schema, thenBad(), { rowsPerFile: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toMatch(/"segments" row 206\b/);
    expect(await isComplete(fileSystemFor(uri), uri)).toBe(false);
    expect(await fsp.readdir(path.join(dir, 'requests'))).toEqual([]);
  });

  it('refuses to read a dataset without its marker, naming what to do', async () => {
    await writeDataset(uri, schema, [rowsToBatch(schema, rows(10))]);
    await fsp.rm(path.join(dir, 'requests/dt=2026-11-23', MARKER_NAME));
    const it = readDataset(uri);
    await expect(it.next()).rejects.toThrow(/no _SUCCESS marker.*run \(or re-run\) that stage/);
  });

  it('detects a file changed after the marker was written', async () => {
    const m = await writeDataset(uri, schema, [rowsToBatch(schema, rows(10))]);
    await fsp.appendFile(path.join(dir, 'requests/dt=2026-11-23', m.files[0]!.path), 'x');
    await expect(readDataset(uri).next()).rejects.toThrow(/bytes, the marker says/);
  });

  it('detects a tampered marker', async () => {
    await writeDataset(uri, schema, [rowsToBatch(schema, rows(10))]);
    const p = path.join(dir, 'requests/dt=2026-11-23', MARKER_NAME);
    const m = JSON.parse(await fsp.readFile(p, 'utf8'));
    m.files[0].rows = 999;
    await fsp.writeFile(p, JSON.stringify(m));
    await expect(readMarker(fileSystemFor(uri), uri)).rejects.toThrow(/checksum does not match/);
  });

  it('will not overwrite a complete dataset unless asked, and replaces it when asked', async () => {
    await writeDataset(uri, schema, [rowsToBatch(schema, rows(10))]);
    await expect(writeDataset(uri, schema, [rowsToBatch(schema, rows(5))])).rejects.toThrow(/already complete.*--force/);
    const m = await writeDataset(uri, schema, [rowsToBatch(schema, rows(5))], { overwrite: true });
    expect(m.rows).toBe(5);
  });

  it('leaves no marked output and no staging directory when the input fails midway', async () => {
    async function* failing() {
      yield rowsToBatch(schema, rows(10));
      throw new Error('upstream exploded');
    }
    await expect(writeDataset(uri, schema, failing(), { rowsPerFile: 5 })).rejects.toThrow(/upstream exploded/);
    expect(await isComplete(fileSystemFor(uri), uri)).toBe(false);
    expect(await fsp.readdir(path.join(dir, 'requests'))).toEqual([]);
  });

  it('replaces an unmarked leftover of a killed run on the next write', async () => {
    await fsp.mkdir(path.join(dir, 'requests/dt=2026-11-23/partner=1'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'requests/dt=2026-11-23/partner=1/part-00000.parquet'), 'half');
    const m = await writeDataset(uri, schema, [rowsToBatch(schema, rows(3))]);
    expect(m.files.map((f) => f.path)).toEqual(['part-00000.parquet']);
    expect(await fsp.readdir(path.join(dir, 'requests/dt=2026-11-23'))).toEqual([MARKER_NAME, 'part-00000.parquet'].sort());
  });

  it('stages plain files datasets (logs, batch files) with the same marker', async () => {
    const fs = fileSystemFor(uri);
    const st = await DatasetStaging.begin(fs, uri);
    await st.addFile('hour=00/a.log', 'l1\nl2\n', 2);
    await st.addFile('hour=01/a.log', 'l3\n', 1);
    expect(await isComplete(fs, uri)).toBe(false);
    const m = await st.commit({ kind: 'files' });
    expect(m.rows).toBe(3);
    expect((await readMarker(fs, uri)).files.map((f) => f.path)).toEqual(['hour=00/a.log', 'hour=01/a.log']);
    await expect(readDataset(uri).next()).rejects.toThrow(StorageError);
  });

  it('rejects a partition column that is not in the schema', async () => {
    await expect(writeDataset(uri, schema, [], { partitionBy: ['nope'] })).rejects.toThrow(/partition column "nope" is not in the schema/);
    // A misspelt `as` must not write `undefined=17/` directories.
    await expect(writeDataset(uri, schema, [], { partitionBy: [{ column: 'partner_id', key: 'partner' } as never] })).rejects.toThrow(
      /partitionBy\[0\] is \{"column":"partner_id","key":"partner"\}: expected a column name, or \{ column, as \}/,
    );
  });
});
