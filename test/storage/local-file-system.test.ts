import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileSystemFor, toStorageUri, joinUri, StorageError, schemeOf, baseName, parentUri, WebHdfsFileSystem } from '../../storage/index.ts';

let dir: string;
let root: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-fs-'));
  root = toStorageUri(dir);
});
afterEach(async () => {
  await fsp.chmod(dir, 0o755).catch(() => undefined);
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('storage URIs', () => {
  it('turns paths into file URIs and joins segments', () => {
    expect(toStorageUri('/data/x/')).toBe('file:///data/x');
    expect(joinUri('file:///data/', '/a/', 'b')).toBe('file:///data/a/b');
    expect(baseName('file:///data/a/b')).toBe('b');
    expect(parentUri('file:///data/a/b')).toBe('file:///data/a');
    expect(schemeOf('webhdfs://nn:9870/x')).toBe('webhdfs');
  });

  it('rejects unknown schemes with what to use instead', () => {
    expect(() => schemeOf('s3://bucket/x')).toThrow(/file:\/\/\/absolute\/path, webhdfs/);
  });

  it('serves webhdfs:// (one file system per namenode) and says plainly that gs:// is not served', () => {
    expect(fileSystemFor('webhdfs://nn:9870/x')).toBeInstanceOf(WebHdfsFileSystem);
    expect(fileSystemFor('webhdfs://nn:9870/y')).toBe(fileSystemFor('webhdfs://nn:9870/x'));
    expect(() => fileSystemFor('gs://bucket/x')).toThrow(StorageError);
    expect(() => fileSystemFor('gs://bucket/x')).toThrow(/use a file:\/\/ or webhdfs:\/\/ storage root/);
  });
});

describe('local file system', () => {
  it('writes atomically and reports size and sha256', async () => {
    const fs = fileSystemFor(root);
    const uri = joinUri(root, 'a/b/c.txt');
    const w = await fs.writeAtomic(uri, 'hello');
    expect(w.bytes).toBe(5);
    expect(w.sha256).toBe(createHash('sha256').update('hello').digest('hex'));
    expect((await fs.readBytes(uri)).toString()).toBe('hello');
    // No temp files left beside it.
    expect(await fsp.readdir(path.join(dir, 'a/b'))).toEqual(['c.txt']);
  });

  it('streams a write from an async iterable and reads it back as a stream', async () => {
    const fs = fileSystemFor(root);
    const uri = joinUri(root, 'big.bin');
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i));
    const w = await fs.writeAtomic(uri, Readable.from(chunks));
    expect(w.bytes).toBe(500_000);
    let n = 0;
    for await (const c of await fs.openRead(uri)) n += (c as Buffer).length;
    expect(n).toBe(500_000);
  });

  it('leaves the old file and no temp file when a streamed write fails midway', async () => {
    const fs = fileSystemFor(root);
    const uri = joinUri(root, 'x.txt');
    await fs.writeAtomic(uri, 'old');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('new part');
      throw new Error('source died');
    }
    await expect(fs.writeAtomic(uri, failing())).rejects.toThrow(/source died/);
    expect((await fs.readBytes(uri)).toString()).toBe('old');
    expect(await fsp.readdir(dir)).toEqual(['x.txt']);
  });

  it('lists sorted, recursively, and treats a missing directory as empty', async () => {
    const fs = fileSystemFor(root);
    await fs.writeAtomic(joinUri(root, 'b/2.txt'), '2');
    await fs.writeAtomic(joinUri(root, 'a.txt'), '1');
    expect((await fs.list(root)).map((e) => e.name)).toEqual(['a.txt', 'b']);
    expect((await fs.list(root, { recursive: true })).map((e) => e.name)).toEqual(['a.txt', 'b', '2.txt']);
    expect(await fs.list(joinUri(root, 'missing'))).toEqual([]);
  });

  it('deletes, renames, and answers exists/stat', async () => {
    const fs = fileSystemFor(root);
    const a = joinUri(root, 'a.txt');
    await fs.writeAtomic(a, 'x');
    expect(await fs.exists(a)).toBe(true);
    await fs.rename(a, joinUri(root, 'd/b.txt'));
    expect(await fs.exists(a)).toBe(false);
    expect((await fs.stat(joinUri(root, 'd/b.txt')))?.size).toBe(1);
    await fs.delete(joinUri(root, 'd'), { recursive: true });
    expect(await fs.exists(joinUri(root, 'd'))).toBe(false);
    await fs.delete(joinUri(root, 'never-was')); // missing is fine
  });

  it('names the URI and the cause when a file cannot be read', async () => {
    const fs = fileSystemFor(root);
    const uri = joinUri(root, 'nope.txt');
    await expect(fs.openRead(uri)).rejects.toThrow(StorageError);
    await expect(fs.readBytes(uri)).rejects.toThrow(new RegExp(`${uri}.*ENOENT.*does not exist`));
  });

  it('explains a write under a path whose parent is a file', async () => {
    const fs = fileSystemFor(root);
    await fs.writeAtomic(joinUri(root, 'plain'), 'x');
    await expect(fs.writeAtomic(joinUri(root, 'plain/child.txt'), 'y')).rejects.toThrow(/plain\/child.txt: writing failed: (ENOTDIR|EEXIST)/);
  });
});

describe('local file system under a read-only tree', () => {
  it('fails (instead of hanging) when creating directories under /proc', async () => {
    const fs = fileSystemFor('file:///proc/courier-nope');
    await expect(fs.mkdirs('file:///proc/courier-nope/a')).rejects.toThrow(StorageError);
    await expect(fs.writeAtomic('file:///proc/courier-nope/a/b.txt', 'x')).rejects.toThrow(/writing failed/);
  });
});
