import type { Readable } from 'node:stream';
import { schemeOf } from './storage-uri.ts';
import { StorageError } from './storage-error.ts';
import { LocalFileSystem } from './local-file-system.ts';

/** One entry of a listing. */
export interface FileEntry {
  uri: string;
  name: string;
  isDirectory: boolean;
  size: number;
  modifiedMs: number;
}

/** What an atomic write produced: size and content hash, so markers and ledgers need no second read. */
export interface WrittenFile {
  uri: string;
  bytes: number;
  sha256: string;
}

/** Data accepted by an atomic write. */
export type WriteSource = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

/**
 * A file system addressed by URIs. Every write is atomic (temp name, then rename) so a reader never sees
 * half a file; every error names the URI and says what to do.
 */
export interface FileSystem {
  /** Entries directly under a directory (or all below it with `recursive`), sorted by URI. Missing → []. */
  list(uri: string, options?: { recursive?: boolean }): Promise<FileEntry[]>;
  /** The entry at a URI, or undefined. */
  stat(uri: string): Promise<FileEntry | undefined>;
  exists(uri: string): Promise<boolean>;
  /** A stream of the file's bytes. */
  openRead(uri: string): Promise<Readable>;
  /** The whole file, for small files (markers, configs). */
  readBytes(uri: string): Promise<Buffer>;
  /** Writes under a temp name in the same directory, then renames over `uri`. */
  writeAtomic(uri: string, data: WriteSource): Promise<WrittenFile>;
  /** Renames a file or directory; the target must not exist (directories) or is replaced (files). */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file, or a directory with `recursive`. Missing is not an error. */
  delete(uri: string, options?: { recursive?: boolean }): Promise<void>;
  mkdirs(uri: string): Promise<void>;
  /**
   * A local path holding the file's bytes, for libraries that read paths (DuckDB). Local file systems
   * return the file itself; remote ones will download to a temp copy.
   */
  localPathFor(uri: string): Promise<string>;
}

const local = new LocalFileSystem();

/** The file system serving a URI's scheme. */
export function fileSystemFor(uri: string): FileSystem {
  const scheme = schemeOf(uri);
  if (scheme === 'file') return local;
  throw new StorageError(
    uri,
    `the ${scheme}:// file system is not available in this version`,
    'use a file:// storage root; webhdfs:// and gs:// arrive with the cluster engines',
  );
}
