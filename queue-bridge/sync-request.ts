/**
 * What the queues carry: data sync requests, one queue per partner × priority. The request columns are declared
 * here (not imported from jobs/: the queue room sits below it) and checked against each dataset's marker schema.
 */
import { defineSchema, type ColumnBatch, type RecordSchema } from '../storage/index.ts';

/** `high`: cookies synced since the last run, served first; `normal`: refreshes. */
export type Priority = 'high' | 'normal';

/** Priorities in the order consumers are served. */
export const PRIORITY_ORDER: readonly Priority[] = ['high', 'normal'];

/** A queue: one partner's requests of one priority. */
export interface QueueKey {
  readonly partnerId: number;
  readonly priority: Priority;
}

/** One data sync request as a consumer sees it: self-contained, nothing to look up. */
export interface SyncRequest {
  /** Stable id (hex of a hash of date, partner, cookie): the idempotency key of the partner request. */
  requestId: string;
  partnerId: number;
  priority: Priority;
  cookieId: string;
  partnerUserId: string;
  /** The partner's segment codes: the full set, or the added ones when the partner takes deltas. */
  segments: string[];
  /** Segment codes removed since the last run (deltas only). */
  removedSegments: string[];
  /** Epoch milliseconds of the latest cookie sync. */
  syncedAt: number;
  /** Epoch milliseconds when the partner should drop the cookie from these segments. */
  expiresAt: number;
}

/**
 * Requests for one queue in columnar form: what `Broker.enqueue` takes. Partner and priority are the queue's,
 * so they are not repeated per item.
 */
export interface RequestBatch {
  readonly length: number;
  readonly requestId: readonly string[];
  readonly cookieId: readonly string[];
  readonly partnerUserId: readonly string[];
  readonly segments: readonly (readonly string[])[];
  readonly removedSegments: readonly (readonly string[])[];
  readonly syncedAt: ArrayLike<number>;
  readonly expiresAt: ArrayLike<number>;
}

/** The columns the bridge reads from a request dataset (partner and priority come from the partition path). */
export const queuedRequestSchema: RecordSchema = defineSchema({
  request_id: 'string',
  cookie_id: 'string',
  partner_user_id: 'string',
  segments: 'list<string>',
  removed_segments: 'list<string>',
  synced_at: 'timestamp_ms',
  expires_at: 'timestamp_ms',
});

const QUEUE_NAME = /^requests\.(\d{1,10})\.(high|normal)$/;

/** The queue's name, `requests.<partner>.<priority>` (a Redis stream key suffix, a metrics label). */
export function queueName(key: QueueKey): string {
  return `requests.${key.partnerId}.${key.priority}`;
}

/** Parses `requests.<partner>.<priority>`; an error names the expected form. */
export function parseQueueName(name: string): QueueKey {
  const m = QUEUE_NAME.exec(name);
  if (!m) throw new Error(`queue name "${name}" is not of the form requests.<partner id>.<high|normal>`);
  return { partnerId: Number(m[1]), priority: m[2] as Priority };
}

/** Checks a queue key: a positive int32 partner id and a known priority. */
export function checkQueueKey(key: QueueKey, where: string): void {
  if (!Number.isInteger(key.partnerId) || key.partnerId < 1 || key.partnerId > 2147483647) {
    throw new Error(`${where}: partner id ${key.partnerId} is not a whole number in 1-2147483647`);
  }
  if (key.priority !== 'high' && key.priority !== 'normal') {
    throw new Error(`${where}: priority "${String(key.priority)}" is neither high nor normal`);
  }
}

/** Builds a batch from plain requests (tests, small producers); every request must belong to `key`'s queue. */
export function requestBatchOf(key: QueueKey, requests: readonly SyncRequest[]): RequestBatch {
  requests.forEach((r, i) => {
    if (r.partnerId !== key.partnerId || r.priority !== key.priority) {
      throw new Error(`request ${i} (${r.requestId}) is for ${queueName(r)}, not ${queueName(key)}`);
    }
  });
  return {
    length: requests.length,
    requestId: requests.map((r) => r.requestId),
    cookieId: requests.map((r) => r.cookieId),
    partnerUserId: requests.map((r) => r.partnerUserId),
    segments: requests.map((r) => r.segments),
    removedSegments: requests.map((r) => r.removedSegments),
    syncedAt: Float64Array.from(requests, (r) => r.syncedAt),
    expiresAt: Float64Array.from(requests, (r) => r.expiresAt),
  };
}

/** Views a column batch read with `queuedRequestSchema` as a request batch, without copying; nulls are an error naming the row. */
export function requestBatchFromColumns(batch: ColumnBatch, where: string, firstRow = 0): RequestBatch {
  const c = batch.columns;
  for (const name of ['request_id', 'cookie_id', 'partner_user_id', 'segments', 'removed_segments'] as const) {
    const col = c[name] as readonly unknown[] | undefined;
    if (!col) throw new Error(`${where}: batch lacks column ${name}`);
    const i = col.indexOf(null);
    if (i >= 0) throw new Error(`${where}: row ${firstRow + i} has no ${name}; the refresher must write every request column`);
  }
  for (const name of ['synced_at', 'expires_at'] as const) {
    const v = batch.valid?.[name];
    const i = v ? v.indexOf(0) : -1;
    if (i >= 0) throw new Error(`${where}: row ${firstRow + i} has no ${name}; the refresher must write every request column`);
  }
  return {
    length: batch.numRows,
    requestId: c['request_id'] as string[],
    cookieId: c['cookie_id'] as string[],
    partnerUserId: c['partner_user_id'] as string[],
    segments: c['segments'] as string[][],
    removedSegments: c['removed_segments'] as string[][],
    syncedAt: c['synced_at'] as Float64Array,
    expiresAt: c['expires_at'] as Float64Array,
  };
}
