/**
 * Loads segment snapshots and swaps in newer ones: the listener keeps answering from the current snapshot
 * while the next is read (streamed in chunks, checked against its `_SUCCESS` marker's sha256 as it arrives,
 * so no step blocks the event loop for long), then one reference assignment swaps it in.
 */
import { createHash } from 'node:crypto';
import { fileSystemFor, joinUri, readMarker } from '../storage/index.ts';
import { SegmentSnapshot } from './segment-snapshot.ts';
import { datedUri, latestCompleteDay, SNAPSHOT_FILE } from './snapshot-datasets.ts';

/** Where snapshots are found. */
export interface SnapshotSource {
  storageRoot: string;
  snapshotDataset: string;
}

/** Reads and checks the snapshot of `day`; fails naming the file when it is missing, changed or not a snapshot. */
export async function loadSnapshot(source: SnapshotSource, day: string): Promise<SegmentSnapshot> {
  const dir = datedUri(source.storageRoot, source.snapshotDataset, day);
  const fs = fileSystemFor(dir);
  const marker = await readMarker(fs, dir);
  const entry = marker.files.find((f) => f.path === SNAPSHOT_FILE);
  const uri = joinUri(dir, SNAPSHOT_FILE);
  if (!entry) throw new Error(`${dir}: the _SUCCESS marker lists no ${SNAPSHOT_FILE}; rebuild it with \`courier listen snapshot --date ${day}\``);
  // A buffer of its own (offset 0), so the typed-array views over it are aligned.
  const bytes = Buffer.allocUnsafeSlow(entry.bytes);
  const hash = createHash('sha256');
  let at = 0;
  for await (const chunk of await fs.openRead(uri)) {
    const b = chunk as Buffer;
    if (at + b.length > bytes.length) throw new Error(`${uri}: longer than the ${entry.bytes} bytes its marker lists; rebuild the snapshot`);
    b.copy(bytes, at);
    hash.update(b);
    at += b.length;
  }
  if (at !== entry.bytes) throw new Error(`${uri}: has ${at} bytes, its marker lists ${entry.bytes}; rebuild the snapshot`);
  if (hash.digest('hex') !== entry.sha256) throw new Error(`${uri}: sha256 differs from its _SUCCESS marker (damaged or changed); rebuild the snapshot`);
  return new SegmentSnapshot(bytes, uri, day);
}

/** What the watcher reports. */
export interface SnapshotEvents {
  loaded(snapshot: SegmentSnapshot, seconds: number, previous: SegmentSnapshot | undefined): void;
  failed(error: Error, day: string): void;
}

/**
 * Holds the current snapshot and polls for a newer complete day. A day that fails to load is reported once
 * and not retried until a newer day appears.
 */
export class SnapshotWatcher {
  current: SegmentSnapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private failedDay: string | undefined;

  constructor(
    private readonly source: SnapshotSource,
    private readonly events: SnapshotEvents,
  ) {}

  /** Looks once for a newer snapshot and loads it; resolves when done (never rejects). */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    let day: string | null = null;
    try {
      day = await latestCompleteDay(this.source.storageRoot, this.source.snapshotDataset);
      if (day === null || day === this.failedDay || (this.current && day <= this.current.date)) return;
      const started = performance.now();
      const next = await loadSnapshot(this.source, day);
      const previous = this.current;
      this.current = next;
      this.events.loaded(next, (performance.now() - started) / 1000, previous);
    } catch (error) {
      this.failedDay = day ?? undefined;
      this.events.failed(error instanceof Error ? error : new Error(String(error)), day ?? '(listing)');
    }
  }

  /** Checks now, then every `pollMs`. */
  start(pollMs: number): Promise<void> {
    this.timer = setInterval(() => void this.check(), pollMs);
    this.timer.unref();
    return this.check();
  }

  /** Stops polling and waits for a check in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
  }
}
