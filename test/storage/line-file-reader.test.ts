import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DatasetStaging, fileSystemFor, joinUri, listDatasetFiles, readLineFile, StorageError, toStorageUri, type DatasetFile, type LineBatch } from '../../storage/index.ts';

describe('readLineFile', () => {
  let dir: string;
  let root: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-lines-'));
    root = toStorageUri(dir);
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  /** Writes a files dataset of one file and returns that file as listed. */
  async function oneFile(name: string, data: string | Uint8Array): Promise<DatasetFile> {
    const uri = joinUri(root, 'logs/dt=2026-11-23');
    const staging = await DatasetStaging.begin(fileSystemFor(uri), uri, { overwrite: true });
    await staging.addFile(`hour=07/${name}`, data, 0);
    await staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
    const { schema, files } = await listDatasetFiles(uri);
    expect(schema).toBeUndefined();
    expect(files[0]!.partition).toEqual({ hour: '07' });
    return files[0]!;
  }

  async function readAll(file: DatasetFile, batchRows: number): Promise<LineBatch[]> {
    const out: LineBatch[] = [];
    for await (const b of readLineFile(file, { batchRows })) out.push(b);
    return out;
  }

  it('splits lines across batches, strips \\n and \\r\\n, keeps empty lines and a last line without newline', async () => {
    const file = await oneFile('a.log', 'one\r\ntwo\n\nfour\r\nfive');
    const batches = await readAll(file, 2);
    expect(batches.map((b) => [b.firstLine, b.lines])).toEqual([
      [0, ['one', 'two']],
      [2, ['', 'four']],
      [4, ['five']],
    ]);
    expect(batches.at(-1)!.bytesRead).toBe(file.bytes);
  });

  it('gunzips .gz files (several gzip members too), counting compressed bytes', async () => {
    const text = Array.from({ length: 50_000 }, (_, i) => `line ${i} é`).join('\n') + '\n';
    const half = text.indexOf('\n', text.length / 2) + 1;
    const data = Buffer.concat([gzipSync(text.slice(0, half)), gzipSync(text.slice(half))]);
    const file = await oneFile('a.log.gz', data);
    const batches = await readAll(file, 8192);
    const lines = batches.flatMap((b) => b.lines);
    expect(lines.length).toBe(50_000);
    expect(lines[49_999]).toBe('line 49999 é');
    expect(batches.map((b) => b.firstLine)).toEqual([0, 8192, 16384, 24576, 32768, 40960, 49152]);
    const read = batches.map((b) => b.bytesRead);
    expect([...read].sort((a, b) => a - b)).toEqual(read);
    expect(read.at(-1)).toBeLessThanOrEqual(file.bytes);
  });

  it('names the file and the line reached for truncated and corrupt gzip data', async () => {
    const full = gzipSync(Array.from({ length: 30_000 }, (_, i) => `line ${i}`).join('\n'));
    const cut = await oneFile('cut.log.gz', full.subarray(0, full.length - 100));
    const err = await readAll(cut, 1000).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toMatch(/cut\.log\.gz: gzip data is truncated at line \d+/);

    const bad = Buffer.from(full);
    bad.fill(0x55, 2000, 2100);
    const corrupt = await oneFile('corrupt.log.gz', bad);
    const err2 = await readAll(corrupt, 1000).then(() => undefined, (e: unknown) => e);
    expect((err2 as Error).message).toMatch(/corrupt\.log\.gz: gzip data is corrupt at line \d+ \(0-based\)/);

    const plain = await oneFile('plain.log.gz', 'not gzip\n');
    await expect(readAll(plain, 10)).rejects.toThrow(/plain\.log\.gz: is not gzip data/);

    // Bytes after a good member are damage, not a sign the file is something other than gzip.
    const trailing = await oneFile('trailing.log.gz', Buffer.concat([gzipSync('a\nb\n'), Buffer.from('junk after the member')]));
    await expect(readAll(trailing, 10)).rejects.toThrow(/trailing\.log\.gz: gzip data is corrupt at line \d+ \(0-based\): incorrect header check/);
  });

  it('cuts a line longer than maxLineChars and skips its rest, in time linear in the file (a gzip bomb of one line)', async () => {
    const huge = Buffer.concat([Buffer.from('first\n'), Buffer.alloc(48 * 1024 * 1024, 0x41), Buffer.from('\r\nlast')]);
    const file = await oneFile('bomb.log.gz', gzipSync(huge));
    expect(file.bytes).toBeLessThan(64 * 1024);
    const t = performance.now();
    const batches: LineBatch[] = [];
    for await (const b of readLineFile(file, { batchRows: 2, maxLineChars: 1000 })) batches.push(b);
    // Re-splitting the unfinished line with each chunk took minutes for this file.
    expect(performance.now() - t).toBeLessThan(5_000);
    expect(batches.map((b) => [b.firstLine, b.lines.map((l) => (l.length > 10 ? `${l[0]}×${l.length}` : l))])).toEqual([
      [0, ['first', 'A×1000']],
      [2, ['last']],
    ]);
    const small = await oneFile('lines.log', `${'x'.repeat(30)}\nshort\n${'y'.repeat(30)}`);
    const lines: string[] = [];
    for await (const b of readLineFile(small, { maxLineChars: 10 })) lines.push(...b.lines);
    // Complete lines within one chunk and the last line without a newline are cut the same way.
    expect(lines).toEqual(['x'.repeat(10), 'short', 'y'.repeat(10)]);
  }, 30_000);
});
