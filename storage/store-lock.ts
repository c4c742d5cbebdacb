/**
 * One process at a time in an area of a store (`_bridge/`, `_deliveries/`): a bridge or a deliverer started twice
 * on one storage root (an overlapping cron run, a second terminal) would hand out or upload the same data twice.
 * The lock is proper-lockfile's: a `lock/` directory made atomically, its mtime refreshed every few seconds by the
 * holder, so a holder that died frees it once the mtime is `staleMs` old. Beside it `holder.json` names the holder
 * (what, pid, host, since) for the error a second process gets; a holder on this host whose pid is gone frees the
 * lock at once, so a restart after a crash does not wait out the stale time.
 */
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import lockfile from 'proper-lockfile';
import { fileSystemFor } from './file-system.ts';
import { joinUri, schemeOf } from './storage-uri.ts';
import { StorageError } from './storage-error.ts';

/** A held lock. */
export interface StoreLock {
  /** The area locked. */
  readonly uri: string;
  /** Frees the lock (idempotent). */
  release(): Promise<void>;
}

/** Options of `lockStoreArea`. */
export interface StoreLockOptions {
  /** What takes the lock, for the other process's error ("the file deliverer"). */
  readonly holder: string;
  /** Age of an unrefreshed lock at which it counts as abandoned, ms (default 30 s; at least 2 s). */
  readonly staleMs?: number;
  /**
   * Called if the lock is lost while held (its directory removed, or not refreshed for `staleMs` because the
   * process stalled): the holder should stop, as another process may now take the area.
   */
  readonly onLost: (error: Error) => void;
}

interface HolderRecord {
  holder: string;
  pid: number;
  host: string;
  since: string;
}

/** Takes the lock of the area at `areaUri` (a directory of the store, made if missing), or throws naming its holder. */
export async function lockStoreArea(areaUri: string, options: StoreLockOptions): Promise<StoreLock> {
  const fsys = fileSystemFor(areaUri);
  if (schemeOf(areaUri) !== 'file') {
    // proper-lockfile needs a local directory whose mtime it can refresh; HDFS has no such lock here yet.
    throw new StorageError(areaUri, `${options.holder} keeps its lock on a local file system only`, 'give this process a file:// storage root (storage.root), or run it where the store is a local path');
  }
  await fsys.mkdirs(areaUri);
  const dir = await fsys.localPathFor(areaUri);
  const lockPath = path.join(dir, 'lock');
  const holderPath = path.join(dir, 'holder.json');
  const stale = Math.max(2000, options.staleMs ?? 30_000);
  const take = () =>
    lockfile.lock(dir, { lockfilePath: lockPath, realpath: false, stale, update: Math.floor(stale / 6), retries: 0, onCompromised: options.onLost });
  let release: () => Promise<void>;
  try {
    release = await take();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw new StorageError(areaUri, `could not take the lock: ${(e as Error).message}`, undefined, { cause: e });
    const other = await readHolder(holderPath);
    if (!other || other.host !== hostname() || pidAlive(other.pid)) {
      const who = other ? `${other.holder} (pid ${other.pid} on ${other.host}, since ${other.since})` : 'another process';
      throw new StorageError(
        areaUri,
        `${options.holder} cannot start: ${who} holds this store's lock`,
        `run one per storage root; if that process is gone, its lock ${joinUri(areaUri, 'lock')} frees itself ${Math.round(stale / 1000)} s after it stopped`,
        { cause: e },
      );
    }
    // The holder on this host has died (SIGKILL, power cut): free its lock now rather than after the stale time.
    await fs.rm(lockPath, { recursive: true, force: true });
    release = await take().catch((again: unknown) => {
      throw new StorageError(areaUri, `${options.holder} cannot start: another process took the lock as a dead holder's was freed`, 'run one per storage root', { cause: again });
    });
  }
  const record: HolderRecord = { holder: options.holder, pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await fs.writeFile(holderPath, JSON.stringify(record) + '\n');
  let released = false;
  return {
    uri: areaUri,
    async release() {
      if (released) return;
      released = true;
      await fs.rm(holderPath, { force: true });
      await release().catch(() => undefined); // already lost (onLost was told)
    },
  };
}

async function readHolder(file: string): Promise<HolderRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as HolderRecord;
  } catch {
    return undefined; // written just after the lock: a holder that died in between left none
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
