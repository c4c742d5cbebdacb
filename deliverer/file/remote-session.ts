/**
 * One open connection to a delivery target, with just the operations an atomic upload needs. Paths are POSIX
 * paths on the target. Implementations throw DeliveryErrors naming the partner, the target and the path.
 */
import type { Readable } from 'node:stream';

/** A file or directory on the target. */
export interface RemoteEntry {
  readonly name: string;
  readonly size: number;
  readonly isDirectory: boolean;
}

export interface RemoteSession {
  /** The target for messages and the ledger, without secrets: `sftp://user@host:port` or `file:///dir`. */
  readonly where: string;
  /** Entries directly in `dir`; a missing directory is empty. */
  list(dir: string): Promise<RemoteEntry[]>;
  /** The entry at `path`, or undefined. */
  stat(path: string): Promise<RemoteEntry | undefined>;
  /** Creates `dir` and its parents when missing. */
  mkdirs(dir: string): Promise<void>;
  /** Writes `source` to `path` (created or truncated) from its first byte to its last. */
  put(source: Readable, path: string): Promise<void>;
  /** Renames `from` to `to`; fails when `to` exists, so a partner's file is never replaced. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file; a missing one is not an error. */
  delete(path: string): Promise<void>;
  /** The file's bytes, to compare a file found under the final name with ours. */
  openRead(path: string): Promise<Readable>;
  /** Why writes in `dir` fail, when the target can tell (a full or read-only disk); undefined otherwise. */
  storageProblem(dir: string): Promise<string | undefined>;
  /** Closes the connection; never throws. */
  close(): Promise<void>;
}
