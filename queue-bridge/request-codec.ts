/**
 * The compact text form of a request in a queue: its string fields joined by the unit separator (U+001F), list
 * elements by the record separator (U+001E), all records of a batch in one UTF-8 buffer (the embedded broker keeps it;
 * the Redis broker sends slices of it) instead of an object per item: what keeps ten million queued items small.
 * The separators cannot occur in a request (checked on enqueue: ids, user ids and segment codes are printable).
 */
import type { QueueKey, RequestBatch, SyncRequest } from './sync-request.ts';

const US = '\x1f';
const RS = '\x1e';
const US_BYTE = 0x1f;
const RS_BYTE = 0x1e;
const NO_STRINGS: readonly string[] = Object.freeze([]);

/** A batch's records packed into one UTF-8 buffer; record i is bytes `[ends[i-1] ?? 0, ends[i])`. */
export interface PackedRecords {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
}

/** Names the first row whose fields hold a separator character, for the error message. */
function findSeparatorRow(batch: RequestBatch, where: string): Error {
  const bad = /[\x1e\x1f]/;
  for (let i = 0; i < batch.length; i++) {
    const fields: [string, readonly string[]][] = [
      ['request_id', [batch.requestId[i]!]],
      ['cookie_id', [batch.cookieId[i]!]],
      ['partner_user_id', [batch.partnerUserId[i]!]],
      ['segments', batch.segments[i]!],
      ['removed_segments', batch.removedSegments[i]!],
    ];
    for (const [name, values] of fields) {
      if (values.some((v) => bad.test(v))) {
        return new Error(`${where}: row ${i} ${name} holds a control character (U+001E/U+001F); requests must hold printable text only`);
      }
    }
  }
  return new Error(`${where}: a field holds a separator but none was found on a second look; this is a bug in Courier`);
}

/** Scratch space for packing, grown as needed; each packed batch is copied out of it at its exact size. */
let scratch = Buffer.allocUnsafeSlow(1 << 20);

function ensure(pos: number, more: number): void {
  if (pos + more <= scratch.length) return;
  const bigger = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, pos + more));
  scratch.copy(bigger, 0, 0, pos);
  scratch = bigger;
}

/**
 * Writes `s` as UTF-8 at `pos` and returns the new position, or -1 when it holds a separator. ASCII (all ids and
 * codes in practice) is copied a char code at a time, checking for separators on the way: no intermediate strings.
 */
function writeField(s: string, pos: number): number {
  const n = s.length;
  ensure(pos, n);
  const out = scratch;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x80) {
      const rest = s.slice(k);
      if (/[\x1e\x1f]/.test(rest)) return -1;
      ensure(pos, rest.length * 3);
      return pos + scratch.write(rest, pos, 'utf8');
    }
    if (c === US_BYTE || c === RS_BYTE) return -1;
    out[pos++] = c;
  }
  return pos;
}

function writeList(list: readonly string[], pos: number, row: number, field: string, where: string): number {
  for (let k = 0; k < list.length; k++) {
    const v = list[k]!;
    if (v.length === 0) throw new Error(`${where}: row ${row} has an empty string in ${field}; segment codes are never empty`);
    if (k > 0) {
      ensure(pos, 1);
      scratch[pos++] = RS_BYTE;
    }
    pos = writeField(v, pos);
    if (pos < 0) return -1;
  }
  return pos;
}

function checkTime(value: number, row: number, field: string, where: string): string {
  if (!Number.isSafeInteger(value)) throw new Error(`${where}: row ${row} ${field} is ${value}, not a whole number of epoch milliseconds`);
  return String(value);
}

/**
 * Packs every row of a batch into one buffer, checking that no field holds a separator. With `withTimes` each
 * record also carries its synced-at and expires-at as decimal text (the Redis entry form, see `decodeEntry`).
 */
export function packRecords(batch: RequestBatch, where: string, withTimes = false): PackedRecords {
  const n = batch.length;
  const ends = new Uint32Array(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    pos = writeField(batch.requestId[i]!, pos);
    if (pos >= 0) pos = writeField(batch.cookieId[i]!, sep(pos));
    if (pos >= 0) pos = writeField(batch.partnerUserId[i]!, sep(pos));
    if (pos >= 0) pos = writeList(batch.segments[i]!, sep(pos), i, 'segments', where);
    if (pos >= 0) pos = writeList(batch.removedSegments[i]!, sep(pos), i, 'removed_segments', where);
    if (pos < 0) throw findSeparatorRow(batch, where);
    if (withTimes) {
      pos = writeField(checkTime(batch.syncedAt[i]!, i, 'synced_at', where), sep(pos));
      pos = writeField(checkTime(batch.expiresAt[i]!, i, 'expires_at', where), sep(pos));
    }
    ends[i] = pos;
  }
  const bytes = Buffer.allocUnsafeSlow(pos);
  scratch.copy(bytes, 0, 0, pos);
  return { bytes, ends };
}

function sep(pos: number): number {
  ensure(pos, 1);
  scratch[pos] = US_BYTE;
  return pos + 1;
}

function splitList(text: string): string[] {
  return text.length === 0 ? (NO_STRINGS as string[]) : text.split(RS);
}

/** Rebuilds a request from its record text and timestamps. */
export function decodeRecord(text: string, key: QueueKey, syncedAt: number, expiresAt: number): SyncRequest {
  const f = text.split(US);
  return {
    requestId: f[0]!,
    partnerId: key.partnerId,
    priority: key.priority,
    cookieId: f[1]!,
    partnerUserId: f[2]!,
    segments: splitList(f[3]!),
    removedSegments: splitList(f[4]!),
    syncedAt,
    expiresAt,
  };
}

/** Rebuilds a request from a Redis entry: the record, then synced-at and expires-at, separated by U+001F. */
export function decodeEntry(text: string, key: QueueKey): SyncRequest {
  const cut2 = text.lastIndexOf(US);
  const cut1 = text.lastIndexOf(US, cut2 - 1);
  if (cut1 < 0) throw new Error(`queue ${key.partnerId}.${key.priority}: a stream entry is not a Courier request record`);
  return decodeRecord(text.slice(0, cut1), key, Number(text.slice(cut1 + 1, cut2)), Number(text.slice(cut2 + 1)));
}
