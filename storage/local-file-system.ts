import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileEntry, FileSystem, LocalWrite, ReadRange, WriteSource, WrittenFile } from './file-system.ts';
import { localPath } from './storage-uri.ts';
import { StorageError } from './storage-error.ts';

function explain(uri: string, e: unknown, doing: string): StorageError {
  const err = e as NodeJS.ErrnoException;
  const hints: Record<string, string> = {
    ENOENT: 'the path does not exist; check the storage root and the dataset path',
    EACCES: 'permission denied; check the owner and mode of the path',
    EPERM: 'operation not permitted; check the owner and mode of the path',
    ENOSPC: 'the disk is full; free space or move the storage root',
    EROFS: 'the file system is read-only; choose a writable storage root',
    ENOTDIR: 'a parent of this path is a file, not a directory',
    EISDIR: 'this path is a directory, not a file',
    EEXIST: 'the target already exists',
  };
  return new StorageError(uri, `${doing} failed: ${err.code ?? err.message}`, err.code ? hints[err.code] : undefined, { cause: e });
}

/**
 * mkdir -p one level at a time: Node 20's recursive mkdir spins forever under some trees (/proc) where a
 * plain mkdir fails at once with a clear code.
 */
async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let probe = dir; ; probe = path.dirname(probe)) {
    const st = await fsp.stat(probe).catch(() => undefined);
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${probe} is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(probe);
    if (path.dirname(probe) === probe) break;
  }
  for (const d of missing.reverse()) {
    await fsp.mkdir(d).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
}

function toEntry(p: string, st: fs.Stats): FileEntry {
  return {
    uri: pathToFileURL(p).href,
    name: path.basename(p),
    isDirectory: st.isDirectory(),
    size: st.size,
    modifiedMs: st.mtimeMs,
  };
}

/** The embedded default: file:// URIs on the local disk. */
export class LocalFileSystem implements FileSystem {
  async list(uri: string, options: { recursive?: boolean } = {}): Promise<FileEntry[]> {
    const root = localPath(uri);
    const out: FileEntry[] = [];
    const walk = async (dir: string): Promise<void> => {
      let names: fs.Dirent[];
      try {
        names = await fsp.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw explain(pathToFileURL(dir).href, e, 'listing');
      }
      for (const d of names) {
        const p = path.join(dir, d.name);
        const st = await fsp.stat(p).catch(() => undefined);
        if (!st) continue; // removed while listing
        out.push(toEntry(p, st));
        if (options.recursive && st.isDirectory()) await walk(p);
      }
    };
    await walk(root);
    return out.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async stat(uri: string): Promise<FileEntry | undefined> {
    const p = localPath(uri);
    try {
      return toEntry(p, await fsp.stat(p));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw explain(uri, e, 'stat');
    }
  }

  async exists(uri: string): Promise<boolean> {
    return (await this.stat(uri)) !== undefined;
  }

  async openRead(uri: string, range: ReadRange = {}): Promise<Readable> {
    const p = localPath(uri);
    // Open eagerly so a missing file fails here, naming the URI, not later inside a pipeline.
    const handle = await fsp.open(p, 'r').catch((e: unknown) => {
      throw explain(uri, e, 'opening for read');
    });
    const start = range.offset ?? 0;
    if (range.length === 0) {
      await handle.close();
      return Readable.from([]);
    }
    return handle.createReadStream({ highWaterMark: 1 << 20, start, ...(range.length !== undefined ? { end: start + range.length - 1 } : {}) });
  }

  async readBytes(uri: string): Promise<Buffer> {
    try {
      return await fsp.readFile(localPath(uri));
    } catch (e) {
      throw explain(uri, e, 'reading');
    }
  }

  async writeAtomic(uri: string, data: WriteSource): Promise<WrittenFile> {
    const p = localPath(uri);
    const tmp = path.join(path.dirname(p), `.${path.basename(p)}.tmp-${randomBytes(4).toString('hex')}`);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      await ensureDir(path.dirname(p));
      if (typeof data === 'string' || data instanceof Uint8Array) {
        const buf = typeof data === 'string' ? Buffer.from(data) : data;
        hash.update(buf);
        bytes = buf.byteLength;
        await fsp.writeFile(tmp, buf);
      } else {
        const tap = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            bytes += chunk.length;
            cb(null, chunk);
          },
        });
        await pipeline(Readable.from(data), tap, fs.createWriteStream(tmp));
      }
      await fsp.rename(tmp, p);
    } catch (e) {
      // Cleanup must not mask the real error (it fails too when the parent is not a directory).
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (e instanceof StorageError) throw e;
      throw explain(uri, e, 'writing');
    }
    return { uri, bytes, sha256: hash.digest('hex') };
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await ensureDir(path.dirname(localPath(to)));
      await fsp.rename(localPath(from), localPath(to));
    } catch (e) {
      throw explain(from, e, `renaming to ${to}`);
    }
  }

  async delete(uri: string, options: { recursive?: boolean } = {}): Promise<void> {
    try {
      await fsp.rm(localPath(uri), { force: true, recursive: options.recursive ?? false });
    } catch (e) {
      throw explain(uri, e, 'deleting');
    }
  }

  async mkdirs(uri: string): Promise<void> {
    try {
      await ensureDir(localPath(uri));
    } catch (e) {
      throw explain(uri, e, 'creating the directory');
    }
  }

  async localPathFor(uri: string): Promise<string> {
    return localPath(uri);
  }

  async localFileForWrite(uri: string): Promise<LocalWrite> {
    const p = localPath(uri);
    return {
      path: p,
      commit: async () => {
        const hash = createHash('sha256');
        let bytes = 0;
        try {
          for await (const chunk of fs.createReadStream(p, { highWaterMark: 1 << 20 })) {
            hash.update(chunk as Buffer);
            bytes += (chunk as Buffer).length;
          }
        } catch (e) {
          throw explain(uri, e, 'reading back the written file');
        }
        return { uri, bytes, sha256: hash.digest('hex') };
      },
      discard: () => fsp.rm(p, { force: true }),
    };
  }
}
