/**
 * Requests the syncer gave up on, kept as Parquet datasets so nothing is lost silently and on-call can see why:
 * `<root>/dt=<day given up>/partner=<id>/flush=<time>-<pid>-<n>/part-00000.parquet` plus `_SUCCESS`. Letters are
 * buffered and written in batches (by count or age); `add` resolves only once its letter is written, so the broker
 * item is acknowledged after the letter is safe, never before.
 */
import type { Logger } from 'pino';
import { defineSchema, joinUri, rowsToBatch, writeDataset, type Row } from '../../storage/index.ts';
import type { DeadLetterSettings } from './streaming-settings.ts';
import type { SyncRequest } from '../../queue-bridge/index.ts';

/** Columns of a dead-letter dataset: the request as it was queued (so it can be queued again), then why it was given up. */
export const deadLetterSchema = defineSchema({
  request_id: 'string',
  partner_id: 'int32',
  priority: 'string',
  cookie_id: 'string',
  partner_user_id: 'string',
  segments: 'list<string>',
  removed_segments: 'list<string>',
  synced_at: 'timestamp_ms',
  expires_at: 'timestamp_ms',
  /** HTTP attempts made (0 when the request could not even be built). */
  attempts: 'int32',
  /** Times the broker handed the item out (more than 1 after a crash or an expired lease). */
  deliveries: 'int32',
  /** Status of the last answer; null when the last attempt got none (timeout, reset). */
  last_status: { type: 'int32', nullable: true },
  /** The last error: the status with the start of the answer's body, or the network error. */
  last_error: 'string',
  dead_at: 'timestamp_ms',
});

/** One request given up on. */
export interface DeadLetter {
  request: SyncRequest;
  attempts: number;
  deliveries: number;
  lastStatus: number | undefined;
  lastError: string;
  deadAt: number;
}

interface Pending {
  letter: DeadLetter;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class DeadLetterStore {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closing = false;
  private flushes = 0;
  /** Letters written so far. */
  written = 0;

  constructor(
    private readonly settings: DeadLetterSettings,
    private readonly logger: Logger,
  ) {}

  /** Buffers a letter; resolves once it is written, rejects if the write failed (then do not acknowledge the item). */
  add(letter: DeadLetter): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ letter, resolve, reject });
      if (this.closing || this.pending.length >= this.settings.flushRows) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.settings.flushEveryMs);
    });
  }

  /**
   * Writes what is buffered, and keeps writing while letters arrive during a write: under load the batches grow
   * with the write time instead of queueing one small dataset per timer tick.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      // Letters added between the last look and here.
      if (this.pending.length > 0) void this.flush();
    });
    return this.running;
  }

  /** Flushes now, and from here on writes every letter as soon as it arrives (the process is stopping). */
  close(): Promise<void> {
    this.closing = true;
    return this.flush();
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await this.write(batch);
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    const groups = new Map<string, Pending[]>();
    for (const p of batch) {
      const key = `dt=${new Date(p.letter.deadAt).toISOString().slice(0, 10)}/partner=${p.letter.request.partnerId}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = []));
      group.push(p);
    }
    const stamp = new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15);
    for (const [key, group] of groups) {
      const uri = joinUri(this.settings.uri, `${key}/flush=${stamp}-${process.pid}-${this.flushes++}`);
      try {
        await writeDataset(uri, deadLetterSchema, [rowsToBatch(deadLetterSchema, group.map((p) => row(p.letter)))]);
        this.written += group.length;
        const sample = group[0]!.letter;
        this.logger.info(
          { uri, letters: group.length, sampleRequestId: sample.request.requestId, sampleError: sample.lastError },
          'dead letters written',
        );
        for (const p of group) p.resolve();
      } catch (e) {
        const error = new Error(`could not write ${group.length} dead letters to ${uri}: ${(e as Error).message}`, { cause: e });
        this.logger.error({ err: error }, 'dead letters not written; their items go back to the queue');
        for (const p of group) p.reject(error);
      }
    }
  }
}

function row(letter: DeadLetter): Row {
  const r = letter.request;
  return {
    request_id: r.requestId,
    partner_id: r.partnerId,
    priority: r.priority,
    cookie_id: r.cookieId,
    partner_user_id: r.partnerUserId,
    segments: r.segments,
    removed_segments: r.removedSegments,
    synced_at: r.syncedAt,
    expires_at: r.expiresAt,
    attempts: letter.attempts,
    deliveries: letter.deliveries,
    last_status: letter.lastStatus ?? null,
    last_error: letter.lastError,
    dead_at: letter.deadAt,
  };
}
