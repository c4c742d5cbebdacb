/**
 * The in-memory segment store the listener answers from, and its file format (`segments.snap`): the file's
 * bytes ARE the memory layout, so loading is one read into an off-heap Buffer plus typed-array views, with no
 * per-user objects for the GC to trace and nothing to parse per entry.
 *
 * Layout (little-endian; every section starts on an 8-byte boundary):
 *
 * ```
 * header   32 B   "CRSNAP01", answerCount u32, tableCount u32, answerBytes u32, 0 u32, 0 u32, 0 u32
 * offsets  (answerCount + 1) x u32   answer i is bytes [offsets[i], offsets[i+1]) of the answer text
 * answers  answerBytes                each distinct answer once: its codes, each followed by "\n"
 * table    (tableCount times)
 *   regionBytes u32, count u32, region (UTF-8; "*" = every region)
 *   buckets  65537 x u32   entries whose key's top 16 bits are b lie in [buckets[b], buckets[b+1])
 *   keys     2 x count x u32   the users' 64-bit keys (hashUserId), hi then lo, ascending
 *   answer   count x u32       the answer index of each user
 * ```
 *
 * A user costs 12 bytes plus its share of the distinct answers (users share answer sets).
 */
import { hashUserId, userKey } from './user-id-hash.ts';

export const SNAPSHOT_MAGIC = 'CRSNAP01';
const HEADER_BYTES = 32;
const BUCKETS = 65536;

/** The answer when a user has no codes (or is unknown): a bare newline. */
export const EMPTY_ANSWER: Buffer = Buffer.from('\n');

/** One region's table within a snapshot. */
interface RegionTable {
  count: number;
  buckets: Uint32Array;
  keys: Uint32Array;
  answerIds: Uint32Array;
}

/** A snapshot file that is not one: names the file, the problem and what to do. */
export class SnapshotFormatError extends Error {
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}; rebuild it with \`courier listen snapshot\``);
    this.name = 'SnapshotFormatError';
  }
}

const align8 = (n: number) => (n + 7) & ~7;

/** A loaded snapshot: user id (and region) → the answer bytes. Immutable; swapped whole. */
export class SegmentSnapshot {
  private readonly tables = new Map<string, RegionTable>();
  private readonly all: RegionTable | undefined;
  private readonly offsets: Uint32Array;
  private readonly answers: Buffer;
  /** Users over all tables. */
  readonly users: number;
  readonly answerCount: number;

  /** Parses `bytes` (whose ArrayBuffer offset must be a multiple of 8); `where` names it in errors. */
  constructor(
    readonly bytes: Buffer,
    readonly where: string,
    /** The snapshot's day (dt=), for logs and metrics. */
    readonly date: string,
  ) {
    const fail = (problem: string): never => {
      throw new SnapshotFormatError(where, problem);
    };
    if (bytes.byteOffset % 8 !== 0) fail('buffer is not 8-byte aligned');
    if (bytes.length < HEADER_BYTES || bytes.toString('latin1', 0, 8) !== SNAPSHOT_MAGIC) fail(`not a segment snapshot (no ${SNAPSHOT_MAGIC} header)`);
    const answerCount = bytes.readUInt32LE(8);
    const tableCount = bytes.readUInt32LE(12);
    const answerBytes = bytes.readUInt32LE(16);
    let at = HEADER_BYTES;
    const need = (n: number, what: string) => {
      if (at + n > bytes.length) fail(`truncated: ${what} ends at byte ${at + n}, the file has ${bytes.length}`);
    };
    need(4 * (answerCount + 1), 'the answer offsets');
    this.offsets = new Uint32Array(bytes.buffer, bytes.byteOffset + at, answerCount + 1);
    at = align8(at + 4 * (answerCount + 1));
    need(answerBytes, 'the answers');
    if (this.offsets[answerCount] !== answerBytes) fail('answer offsets do not end at the answer bytes');
    this.answers = bytes.subarray(at, at + answerBytes);
    at = align8(at + answerBytes);
    let users = 0;
    for (let t = 0; t < tableCount; t++) {
      need(8, `table ${t}`);
      const regionBytes = bytes.readUInt32LE(at);
      const count = bytes.readUInt32LE(at + 4);
      need(8 + regionBytes, `table ${t}'s region`);
      const region = bytes.toString('utf8', at + 8, at + 8 + regionBytes);
      at = align8(at + 8 + regionBytes);
      need(4 * (BUCKETS + 1) + 8 * count + 4 * count, `table "${region}"`);
      const base = bytes.byteOffset;
      const buckets = new Uint32Array(bytes.buffer, base + at, BUCKETS + 1);
      at = align8(at + 4 * (BUCKETS + 1));
      const keys = new Uint32Array(bytes.buffer, base + at, 2 * count);
      at += 8 * count;
      const answerIds = new Uint32Array(bytes.buffer, base + at, count);
      at = align8(at + 4 * count);
      if (buckets[BUCKETS] !== count) fail(`table "${region}": buckets do not end at its ${count} entries`);
      if (this.tables.has(region)) fail(`region "${region}" has two tables`);
      this.tables.set(region, { count, buckets, keys, answerIds });
      users += count;
    }
    if (at !== bytes.length) fail(`${bytes.length - at} bytes after the last table`);
    this.all = this.tables.get('*');
    this.users = users;
    this.answerCount = answerCount;
  }

  /** The regions with a table of their own ("*" serves every other region). */
  get regions(): string[] {
    return [...this.tables.keys()];
  }

  /**
   * The answer for a user: the region's table when the snapshot has one, else the "*" table; EMPTY_ANSWER when
   * the user is not there. Returns a view into the snapshot's memory: never modify it.
   */
  lookup(region: string, userId: string): Buffer {
    const table = (region === '' ? undefined : this.tables.get(region)) ?? this.all;
    if (table === undefined) return EMPTY_ANSWER;
    hashUserId(userId);
    const { hi, lo } = userKey;
    const b = hi >>> 16;
    const keys = table.keys;
    let a = table.buckets[b]!;
    let z = table.buckets[b + 1]!;
    while (a < z) {
      const m = (a + z) >>> 1;
      const mh = keys[2 * m]!;
      if (mh < hi || (mh === hi && keys[2 * m + 1]! < lo)) a = m + 1;
      else z = m;
    }
    if (a === table.buckets[b + 1]! || keys[2 * a] !== hi || keys[2 * a + 1] !== lo) return EMPTY_ANSWER;
    const id = table.answerIds[a]!;
    return this.answers.subarray(this.offsets[id]!, this.offsets[id + 1]!);
  }
}

/** One region's users to write: keys sorted ascending and unique, with their answer indexes. */
export interface SnapshotTableInput {
  region: string;
  keys: Uint32Array;
  answerIds: Uint32Array;
  count: number;
}

/** Encodes a snapshot: `answers` are the distinct answer texts (each code followed by "\n"). */
export function encodeSnapshot(answers: readonly string[], tables: readonly SnapshotTableInput[]): Buffer {
  const answerBuffers = answers.map((a) => Buffer.from(a, 'utf8'));
  const answerBytes = answerBuffers.reduce((s, b) => s + b.length, 0);
  if (answerBytes > 0xffffffff) throw new Error(`answers take ${answerBytes} bytes, above the format's 4 GiB`);
  let size = align8(HEADER_BYTES + 4 * (answers.length + 1)) + align8(answerBytes);
  const regionBytes = tables.map((t) => Buffer.from(t.region, 'utf8'));
  tables.forEach((t, i) => {
    size += align8(8 + regionBytes[i]!.length) + align8(4 * (BUCKETS + 1)) + align8(12 * t.count);
  });
  // allocUnsafeSlow: a buffer of its own, so byteOffset is 0 and every section is aligned.
  const out = Buffer.allocUnsafeSlow(size).fill(0);
  out.write(SNAPSHOT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(answers.length, 8);
  out.writeUInt32LE(tables.length, 12);
  out.writeUInt32LE(answerBytes, 16);
  let at = HEADER_BYTES;
  let offset = 0;
  for (let i = 0; i <= answers.length; i++) {
    out.writeUInt32LE(offset, at + 4 * i);
    if (i < answers.length) offset += answerBuffers[i]!.length;
  }
  at = align8(at + 4 * (answers.length + 1));
  for (const b of answerBuffers) at += b.copy(out, at);
  at = align8(at);
  tables.forEach((t, i) => {
    const region = regionBytes[i]!;
    out.writeUInt32LE(region.length, at);
    out.writeUInt32LE(t.count, at + 4);
    region.copy(out, at + 8);
    at = align8(at + 8 + region.length);
    const buckets = new Uint32Array(out.buffer, at, BUCKETS + 1);
    for (let j = 0; j < t.count; j++) {
      const hi = t.keys[2 * j]!;
      const lo = t.keys[2 * j + 1]!;
      if (j > 0) {
        const ph = t.keys[2 * j - 2]!;
        if (ph > hi || (ph === hi && t.keys[2 * j - 1]! >= lo)) throw new Error(`table "${t.region}": keys are not ascending and unique at entry ${j}`);
      }
      if (t.answerIds[j]! >= answers.length) throw new Error(`table "${t.region}": entry ${j} names answer ${t.answerIds[j]} of ${answers.length}`);
      buckets[(hi >>> 16) + 1]!++;
    }
    for (let b = 1; b <= BUCKETS; b++) buckets[b]! += buckets[b - 1]!;
    at = align8(at + 4 * (BUCKETS + 1));
    new Uint32Array(out.buffer, at, 2 * t.count).set(t.keys.subarray(0, 2 * t.count));
    at += 8 * t.count;
    new Uint32Array(out.buffer, at, t.count).set(t.answerIds.subarray(0, t.count));
    at = align8(at + 4 * t.count);
  });
  return out;
}
