/**
 * The `file://` target: a local directory standing in for a partner's server (the demo on the embedded default,
 * or a mounted share). Same contract as SFTP: write under a temporary name, then a rename that never replaces an
 * existing file (a hard link then unlink: link fails if the name is taken).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { DeliveryError } from './delivery-error.ts';
import type { RemoteEntry, RemoteSession } from './remote-session.ts';

const STORAGE_CODES = new Set(['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EDQUOT']);
const WHY: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** A session on a local directory (`file:///…`); remote paths are taken below it. */
export function openLocalDirSession(partner: string, dirUri: string): RemoteSession {
  return new LocalDirSession(partner, dirUri);
}

class LocalDirSession implements RemoteSession {
  private readonly root: string;

  constructor(
    private readonly partner: string,
    readonly where: string,
  ) {
    this.root = fileURLToPath(where);
  }

  private local(remote: string): string {
    return path.join(this.root, path.posix.normalize(`/${remote}`));
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    try {
      const names = await fsp.readdir(this.local(dir), { withFileTypes: true });
      const out: RemoteEntry[] = [];
      for (const d of names) {
        const st = await fsp.stat(path.join(this.local(dir), d.name)).catch(() => undefined);
        if (st) out.push({ name: d.name, size: st.size, isDirectory: st.isDirectory() });
      }
      return out;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.failure(e, `listing ${dir}`);
    }
  }

  async stat(p: string): Promise<RemoteEntry | undefined> {
    try {
      const st = await fsp.stat(this.local(p));
      return { name: path.posix.basename(p), size: st.size, isDirectory: st.isDirectory() };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.failure(e, `stat of ${p}`);
    }
  }

  async mkdirs(dir: string): Promise<void> {
    try {
      await fsp.mkdir(this.local(dir), { recursive: true });
    } catch (e) {
      throw this.failure(e, `creating directory ${dir}`);
    }
  }

  async put(source: Readable, p: string): Promise<void> {
    try {
      await pipeline(source, createWriteStream(this.local(p), { flags: 'w', mode: 0o644 }));
    } catch (e) {
      throw this.failure(e, `writing ${p}`);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await fsp.link(this.local(from), this.local(to));
      await fsp.unlink(this.local(from));
    } catch (e) {
      throw this.failure(e, `renaming ${from} to ${to}`);
    }
  }

  async delete(p: string): Promise<void> {
    try {
      await fsp.rm(this.local(p), { force: true });
    } catch (e) {
      throw this.failure(e, `deleting ${p}`);
    }
  }

  async openRead(p: string): Promise<Readable> {
    return createReadStream(this.local(p));
  }

  async storageProblem(dir: string): Promise<string | undefined> {
    const st = await fsp.statfs(this.local(dir)).catch(() => undefined);
    if (st && st.bavail * st.bsize < 1024 * 1024) return `the disk of ${dir} is full (${st.bavail * st.bsize} bytes free)`;
    return undefined;
  }

  async close(): Promise<void> {}

  private failure(e: unknown, doing: string): DeliveryError {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why = WHY[code] ?? (e as Error).message;
    if (STORAGE_CODES.has(code) || code === 'EEXIST') {
      return new DeliveryError(
        'remote-storage',
        `partner ${this.partner}: ${doing} in ${this.where} failed: ${code === 'EEXIST' ? 'the target name exists' : why}; the file stays pending: free space or fix permissions, then run courier deliver again`,
        { cause: e },
      );
    }
    return new DeliveryError('local', `partner ${this.partner}: ${doing} in ${this.where} failed: ${why}`, { cause: e });
  }
}
