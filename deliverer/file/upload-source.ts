/**
 * The bytes of one file as they will be sent, re-openable for every attempt (a retried upload restarts from the
 * first byte). A file is read straight from a local store; it is first copied to a local spool directory when the
 * store is remote (so a flaky store never stalls an SFTP upload) or when a header is prepended, after checking
 * the spool's disk has room. Every path hashes the bytes on the way, so what reached the server can be checked
 * against the `_SUCCESS` marker before the file is given its final name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileSystem } from '../../storage/index.ts';
import { DeliveryError } from './delivery-error.ts';

/** Counts and hashes the bytes passing through. */
export class HashTap extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  /** The hex sha256 of everything that passed (call once, after the end). */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Holds the stream to `bytesPerSecond` on average, measured from its first byte. */
export class RateLimit extends Transform {
  private start = 0;
  private sent = 0;

  constructor(private readonly bytesPerSecond: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.start === 0) this.start = Date.now();
    this.sent += chunk.length;
    const due = this.start + (this.sent / this.bytesPerSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 0) setTimeout(() => cb(null, chunk), wait);
    else cb(null, chunk);
  }
}

/** A file ready to upload. */
export interface UploadSource {
  /** Size and sha256 of the bytes as sent. */
  readonly bytes: number;
  readonly sha256: string;
  /** A fresh stream from the first byte, hashed on the way (see `check`). */
  open(): Promise<Readable>;
  /** Throws unless the last opened stream delivered exactly `bytes` with `sha256`. */
  check(): void;
  /** Deletes the spool copy, if any. */
  release(): Promise<void>;
}

/** Where a stored file comes from and what its marker says about it. */
export interface StoredFile {
  readonly fs: FileSystem;
  readonly uri: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Spool settings: where copies go and how much disk to leave free. */
export interface SpoolSettings {
  readonly dir: string;
  readonly reserveBytes: number;
}

function tapped(open: () => Promise<Readable>, expected: { bytes: number; sha256: string }, what: string): Pick<UploadSource, 'open' | 'check'> {
  let tap: HashTap | undefined;
  return {
    async open() {
      const source = await open();
      tap = new HashTap();
      source.on('error', (e) => tap!.destroy(e));
      return source.pipe(tap);
    },
    check() {
      if (!tap) throw new Error(`${what}: check before open`);
      const sha256 = tap.digest();
      if (tap.bytes !== expected.bytes || sha256 !== expected.sha256) {
        throw new DeliveryError(
          'local',
          `${what} sent ${tap.bytes} bytes with sha256 ${sha256}, but its _SUCCESS marker lists ${expected.bytes} bytes with sha256 ${expected.sha256}: the stored file changed or is damaged; re-run the batch formatter for this period`,
        );
      }
    },
  };
}

/** The stored file as it is, read straight from the store. */
export function directSource(file: StoredFile): UploadSource {
  return { bytes: file.bytes, sha256: file.sha256, ...tapped(() => file.fs.openRead(file.uri), file, file.uri), release: async () => undefined };
}

/** Small content built in memory (a rewritten manifest). */
export function bufferSource(content: Buffer, what: string): UploadSource {
  const expected = { bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') };
  return { ...expected, ...tapped(async () => Readable.from([content]), expected, what), release: async () => undefined };
}

/**
 * Copies the stored file to the spool directory, `prefix` first (a header), checking the copy against the
 * marker and the disk's free space before starting.
 */
export async function spooledSource(file: StoredFile, spool: SpoolSettings, prefix: Buffer = Buffer.alloc(0)): Promise<UploadSource> {
  await fsp.mkdir(spool.dir, { recursive: true });
  const need = file.bytes + prefix.length;
  const st = await fsp.statfs(spool.dir);
  const free = st.bavail * st.bsize;
  if (free - need < spool.reserveBytes) {
    throw new DeliveryError(
      'local',
      `spool directory ${spool.dir} has ${mib(free)} MiB free; copying ${file.uri} needs ${mib(need)} MiB plus ${mib(spool.reserveBytes)} MiB kept free; free disk space or choose another directory with --spool-dir`,
    );
  }
  const local = path.join(spool.dir, `${path.basename(file.uri)}.${randomBytes(4).toString('hex')}.spool`);
  const fromStore = new HashTap();
  const written = new HashTap();
  try {
    await pipeline(
      await file.fs.openRead(file.uri),
      fromStore,
      async function* (body: AsyncIterable<Buffer>) {
        if (prefix.length > 0) yield prefix;
        yield* body;
      },
      written,
      createWriteStream(local),
    );
  } catch (e) {
    await fsp.rm(local, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new DeliveryError('local', `spool directory ${spool.dir} ran out of space while copying ${file.uri}; free disk space or use --spool-dir`, { cause: e });
    }
    throw new DeliveryError('local', `copying ${file.uri} to the spool directory ${spool.dir} failed: ${(e as Error).message}`, { cause: e });
  }
  const storeSha = fromStore.digest();
  if (fromStore.bytes !== file.bytes || storeSha !== file.sha256) {
    await fsp.rm(local, { force: true });
    throw new DeliveryError(
      'local',
      `${file.uri} has ${fromStore.bytes} bytes with sha256 ${storeSha}, but its _SUCCESS marker lists ${file.bytes} bytes with sha256 ${file.sha256}: the stored file changed or is damaged; re-run the batch formatter for this period`,
    );
  }
  const expected = { bytes: written.bytes, sha256: written.digest() };
  return {
    ...expected,
    ...tapped(async () => createReadStream(local, { highWaterMark: 1 << 20 }), expected, local),
    release: () => fsp.rm(local, { force: true }),
  };
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
