/**
 * Staging for dataset writes: files go to a hidden sibling directory, which is renamed into place and
 * marked `_SUCCESS` only when everything is written. A failed or killed write leaves no marked output,
 * and readers never see a half-written dataset under the real name.
 */
import { randomBytes } from 'node:crypto';
import type { FileSystem, WriteSource } from './file-system.ts';
import { baseName, joinUri, parentUri } from './storage-uri.ts';
import { StorageError } from './storage-error.ts';
import { buildMarker, isComplete, writeMarker, type DatasetMarker, type MarkerFile } from './success-marker.ts';

/** Options when starting a dataset write. */
export interface StagingOptions {
  /** Replace a dataset that is already complete (a re-run with --force). */
  overwrite?: boolean;
}

/** An open dataset write; `commit` makes it visible and complete, `abort` removes every trace. */
export class DatasetStaging {
  readonly files: MarkerFile[] = [];
  private closed = false;

  private constructor(
    readonly fs: FileSystem,
    readonly uri: string,
    readonly stagingUri: string,
  ) {}

  /** Starts a write of `uri`; fails if it is already complete unless `overwrite`. */
  static async begin(fs: FileSystem, uri: string, options: StagingOptions = {}): Promise<DatasetStaging> {
    if (!options.overwrite && (await isComplete(fs, uri))) {
      throw new StorageError(uri, 'is already complete (it has a _SUCCESS marker)', 'use --force (overwrite) to replace it');
    }
    const staging = joinUri(parentUri(uri), `_tmp.${baseName(uri)}.${randomBytes(4).toString('hex')}`);
    await fs.mkdirs(staging);
    return new DatasetStaging(fs, uri, staging);
  }

  /** The URI a file at `relative` path is staged under. */
  stagedUri(relative: string): string {
    return joinUri(this.stagingUri, relative);
  }

  /** Writes one file into the staging area and records it for the marker. */
  async addFile(relative: string, data: WriteSource, rows: number): Promise<MarkerFile> {
    const written = await this.fs.writeAtomic(this.stagedUri(relative), data);
    const file = { path: relative, rows, bytes: written.bytes, sha256: written.sha256 };
    this.files.push(file);
    return file;
  }

  /** Records a staged file whose size and hash are already known (a committed LocalWrite). */
  recordWritten(relative: string, rows: number, written: { bytes: number; sha256: string }): MarkerFile {
    const file = { path: relative, rows, bytes: written.bytes, sha256: written.sha256 };
    this.files.push(file);
    return file;
  }

  /** Records a file that was written into the staging area by other means (e.g. DuckDB). */
  async recordFile(relative: string, rows: number): Promise<MarkerFile> {
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    let bytes = 0;
    for await (const chunk of await this.fs.openRead(this.stagedUri(relative))) {
      h.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    const file = { path: relative, rows, bytes, sha256: h.digest('hex') };
    this.files.push(file);
    return file;
  }

  /** Moves the staged files into place and writes the marker last. */
  async commit(fields: Omit<DatasetMarker, 'format' | 'writtenAt' | 'rows' | 'checksum' | 'files'>): Promise<DatasetMarker> {
    if (this.closed) throw new Error(`dataset ${this.uri}: commit after commit/abort`);
    this.closed = true;
    const marker = buildMarker({ ...fields, files: [...this.files].sort((a, b) => (a.path < b.path ? -1 : 1)) });
    // An incomplete (unmarked) or overwritten previous attempt is replaced whole.
    await this.fs.delete(this.uri, { recursive: true });
    await this.fs.rename(this.stagingUri, this.uri);
    await writeMarker(this.fs, this.uri, marker);
    return marker;
  }

  /** Removes the staging area. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fs.delete(this.stagingUri, { recursive: true });
  }
}
