/**
 * The compact text form of a request in a queue: its string fields joined by the unit separator (U+001F), list
 * elements by the record separator (U+001E). One string per item (Redis) or one UTF-8 buffer per batch (embedded)
 * instead of an object per item: that is what keeps ten million queued items within a few hundred bytes each.
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

function joinList(list: readonly string[], row: number, field: string, where: string): string {
  for (let k = 0; k < list.length; k++) {
    if (list[k]!.length === 0) throw new Error(`${where}: row ${row} has an empty string in ${field}; segment codes are never empty`);
  }
  return list.length === 0 ? '' : list.length === 1 ? list[0]! : list.join(RS);
}

/** The text of row `i` (no timestamps: those travel as numbers beside it). */
export function recordText(batch: RequestBatch, i: number, where: string): string {
  return (
    batch.requestId[i]! +
    US +
    batch.cookieId[i]! +
    US +
    batch.partnerUserId[i]! +
    US +
    joinList(batch.segments[i]!, i, 'segments', where) +
    US +
    joinList(batch.removedSegments[i]!, i, 'removed_segments', where)
  );
}

function separatorsOf(batch: RequestBatch, i: number): number {
  const s = batch.segments[i]!.length;
  const r = batch.removedSegments[i]!.length;
  return 4 + (s > 1 ? s - 1 : 0) + (r > 1 ? r - 1 : 0);
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
  return new Error(`${where}: separator count mismatch in a packed batch; this is a bug in Courier`);
}

/** Packs every row of a batch into one buffer, checking that no field holds a separator. */
export function packRecords(batch: RequestBatch, where: string): PackedRecords {
  const n = batch.length;
  const texts: string[] = new Array(n);
  const ends = new Uint32Array(n);
  let chars = 0;
  let separators = 0;
  for (let i = 0; i < n; i++) {
    const t = recordText(batch, i, where);
    texts[i] = t;
    chars += t.length;
    ends[i] = chars;
    separators += separatorsOf(batch, i);
  }
  const bytes = Buffer.from(texts.join(''), 'utf8');
  if (bytes.length !== chars) {
    // Not all ASCII: UTF-8 byte offsets differ from UTF-16 lengths, so measure each record.
    let at = 0;
    for (let i = 0; i < n; i++) ends[i] = at += Buffer.byteLength(texts[i]!, 'utf8');
  }
  let seen = 0;
  for (let k = 0; k < bytes.length; k++) {
    const b = bytes[k]!;
    if (b === US_BYTE || b === RS_BYTE) seen++;
  }
  if (seen !== separators) throw findSeparatorRow(batch, where);
  return { bytes, ends };
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

/** The self-contained text of row `i` with its timestamps, one Redis stream entry's value. */
export function entryText(batch: RequestBatch, i: number, where: string): string {
  return recordText(batch, i, where) + US + batch.syncedAt[i]! + US + batch.expiresAt[i]!;
}

/** Rebuilds a request from `entryText`'s output. */
export function decodeEntry(text: string, key: QueueKey): SyncRequest {
  const cut2 = text.lastIndexOf(US);
  const cut1 = text.lastIndexOf(US, cut2 - 1);
  if (cut1 < 0) throw new Error(`queue ${key.partnerId}.${key.priority}: a stream entry is not a Courier request record`);
  return decodeRecord(text.slice(0, cut1), key, Number(text.slice(cut1 + 1, cut2)), Number(text.slice(cut2 + 1)));
}

/** Checks the separators of one row's text (Redis packs row by row). */
export function checkEntryText(text: string, batch: RequestBatch, i: number, where: string): void {
  let seen = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === US_BYTE || c === RS_BYTE) seen++;
  }
  if (seen !== separatorsOf(batch, i) + 2) throw findSeparatorRow(batch, where);
}
