import type { Readable } from 'node:stream';
import { schemeOf } from './storage-uri.ts';
import { StorageError } from './storage-error.ts';
import { LocalFileSystem } from './local-file-system.ts';
import { WebHdfsFileSystem } from './webhdfs-file-system.ts';
import { currentWebHdfsOptions } from './webhdfs-options.ts';

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

/** A byte range of a file: from `offset` (default 0), at most `length` bytes (default: to the end). */
export interface ReadRange {
  offset?: number;
  length?: number;
}

/**
 * A local file that stands for `uri` while a path-writing library (DuckDB) writes it: `commit` puts the
 * bytes at `uri` (uploading them on remote file systems) and says what was written; `discard` drops them.
 */
export interface LocalWrite {
  path: string;
  commit(): Promise<WrittenFile>;
  discard(): Promise<void>;
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
  /** A stream of the file's bytes, or of a range of them. */
  openRead(uri: string, range?: ReadRange): Promise<Readable>;
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
  /**
   * Where a library that writes paths should write `uri`: the file itself on local file systems (the writer
   * renames into place), a local temp file that `commit` uploads on remote ones.
   */
  localFileForWrite(uri: string): Promise<LocalWrite>;
}

const local = new LocalFileSystem();
/** One WebHDFS file system per namenode, made afresh after the settings change (configureWebHdfs). */
const namenodes = new Map<string, WebHdfsFileSystem>();
let namenodesGeneration = -1;

/** The file system serving a URI's scheme (webhdfs:// with the settings of configureWebHdfs). */
export function fileSystemFor(uri: string): FileSystem {
  const scheme = schemeOf(uri);
  if (scheme === 'file') return local;
  if (scheme === 'webhdfs') {
    const authority = /^webhdfs:\/\/([^/]*)/i.exec(uri)?.[1] ?? '';
    if (authority === '') throw new StorageError(uri, 'has no namenode', 'write webhdfs://namenode:9870/path');
    const { options, generation } = currentWebHdfsOptions();
    if (generation !== namenodesGeneration) {
      for (const fs of namenodes.values()) void fs.close();
      namenodes.clear();
      namenodesGeneration = generation;
    }
    let fs = namenodes.get(authority);
    if (!fs) namenodes.set(authority, (fs = new WebHdfsFileSystem(authority, options)));
    return fs;
  }
  throw new StorageError(
    uri,
    `the ${scheme}:// file system is not available in this version`,
    'use a file:// or webhdfs:// storage root; gs:// is read by Dataproc jobs, not by Courier itself',
  );
}
