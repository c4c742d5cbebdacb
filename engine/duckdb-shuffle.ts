/**
 * The DuckDB shuffle (`engine.local.shuffle: duckdb`): map tasks hand their pairs to DuckDB as columns
 * (`k BLOB` the key's sort key, `v BLOB` the value in `value-codec.ts`'s encoding) written as Parquet run
 * files in emission order, unsorted; each reducer asks DuckDB for its partition's runs `ORDER BY k, run,
 * row`, so partitioning stays ours but sorting, spilling (`memory_limit`, `temp_directory`) and merging are
 * DuckDB's external sort. Sort keys compare by memcmp, which is how DuckDB orders BLOBs, so its order is
 * `compareKeys` order; ties keep run order (map task, then spill), the order the JS shuffle gives.
 *
 * Bytes cross in bulk both ways: a chunk of 2,048 pairs is one native copy of their bytes into DuckDB's
 * string heap with the 16-byte slots pointing into it, and a sorted chunk comes back as one copy of the
 * span its slots point into when that span is compact (value by value otherwise).
 */
import * as path from 'node:path';
import { duckdb, openDuckDbConnection as openConnection, runSql, sqlLiteral, streamChunks } from '../storage/index.ts';
import { compareKeys, readSortKey, type Key } from './key-order.ts';
import type { SortedPairs } from './reduce-task.ts';
import { ByteOut, decodeValue, encodeValue } from './value-codec.ts';
import { kindOf } from './shippable.ts';

const HEADER = 8;
const CHUNK = 2048;
const SLOT = 16;
const TWO_32 = 2 ** 32;

let tableNo = 0;

/**
 * Writes one run: pairs appended (records as `shuffle-runs.ts` lays them out) go to DuckDB a chunk at a
 * time through an appender into a temporary table, which `close` copies to a Parquet file.
 */
export class ParquetRunWriter {
  private readonly out = new ByteOut(1 << 18);
  private readonly ends = new Int32Array(CHUNK);
  private inChunk = 0;
  records = 0;
  private readonly table = `shuffle_run_${process.pid}_${++tableNo}`;
  private appender: duckdb.Appender | undefined;

  private constructor(
    readonly file: string,
    private readonly conn: duckdb.Connection,
  ) {}

  static async open(file: string): Promise<ParquetRunWriter> {
    const conn = await openConnection();
    const w = new ParquetRunWriter(file, conn);
    try {
      await runSql(conn, `CREATE TEMP TABLE ${w.table} (k BLOB NOT NULL, v BLOB NOT NULL)`);
      w.appender = duckdb.appender_create(conn, null, w.table);
    } catch (error) {
      duckdb.disconnect_sync(conn);
      throw error;
    }
    return w;
  }

  /** Copies a whole record (`data[start, end)`). */
  copy(data: Buffer, start: number, end: number): void {
    const out = this.out;
    out.room(end - start);
    data.copy(out.buf, out.pos, start, end);
    out.pos += end - start;
    this.ended();
  }

  /** Writes a record of a sort key (`data[keyStart, keyEnd)`) and a value that passed the shipping check. */
  pair(data: Buffer, keyStart: number, keyEnd: number, value: unknown): void {
    const out = this.out;
    const kl = keyEnd - keyStart;
    const at = out.pos;
    out.room(HEADER + kl);
    data.copy(out.buf, at + HEADER, keyStart, keyEnd);
    out.pos = at + HEADER + kl;
    if (!encodeValue(out, value)) throw new TypeError(`run file ${this.file}: a value that is not shippable reached the shuffle (${kindOf(value)})`);
    out.buf.writeUInt32LE(kl, at);
    out.buf.writeUInt32LE(out.pos - at - HEADER - kl, at + 4);
    this.ended();
  }

  private ended(): void {
    this.ends[this.inChunk++] = this.out.pos;
    this.records++;
    if (this.inChunk === CHUNK) this.flushChunk();
  }

  private flushChunk(): void {
    if (this.inChunk === 0) return;
    appendRecords(this.appender!, this.out.buf, this.ends, this.inChunk);
    this.inChunk = 0;
    this.out.pos = 0;
  }

  /** Writes the Parquet file (uncompressed: it is read once, on this machine) and frees the table. */
  async close(): Promise<void> {
    try {
      this.flushChunk();
      duckdb.appender_close_sync(this.appender!);
      await runSql(this.conn, `COPY ${this.table} TO ${sqlLiteral(this.file)} (FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 16384)`);
    } finally {
      await runSql(this.conn, `DROP TABLE IF EXISTS ${this.table}`).catch(() => undefined);
      duckdb.disconnect_sync(this.conn);
    }
  }
}

const BLOB_TYPES = (): duckdb.LogicalType[] => [duckdb.create_logical_type(duckdb.Type.BLOB), duckdb.create_logical_type(duckdb.Type.BLOB)];
let kSlots = new Uint8Array(CHUNK * SLOT);
let vSlots = new Uint8Array(CHUNK * SLOT);

/** Appends `n` records of `data` (record i ends at `ends[i]`, the first starts at 0) as one data chunk. */
function appendRecords(appender: duckdb.Appender, data: Buffer, ends: Int32Array, n: number): void {
  const chunk = duckdb.create_data_chunk(BLOB_TYPES());
  const kVec = duckdb.data_chunk_get_vector(chunk, 0);
  const vVec = duckdb.data_chunk_get_vector(chunk, 1);
  const total = ends[n - 1]!;
  // One copy of the chunk's bytes into each vector's string heap; the slots then point into those copies.
  let kBase = 0;
  let vBase = 0;
  if (total > 12) {
    duckdb.vector_assign_string_element_len(kVec, 0, data.subarray(0, total));
    duckdb.vector_assign_string_element_len(vVec, 0, data.subarray(0, total));
    kBase = pointerOfSlot0(kVec);
    vBase = pointerOfSlot0(vVec);
  }
  kSlots.fill(0, 0, n * SLOT);
  vSlots.fill(0, 0, n * SLOT);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const kl = data.readUInt32LE(start);
    const vl = data.readUInt32LE(start + 4);
    const ks = start + HEADER;
    const vs = ks + kl;
    writeSlot(kSlots, i * SLOT, data, ks, kl, kBase);
    writeSlot(vSlots, i * SLOT, data, vs, vl, vBase);
    start = ends[i]!;
  }
  duckdb.copy_data_to_vector(kVec, 0, kSlots.buffer as ArrayBuffer, 0, n * SLOT);
  duckdb.copy_data_to_vector(vVec, 0, vSlots.buffer as ArrayBuffer, 0, n * SLOT);
  duckdb.data_chunk_set_size(chunk, n);
  duckdb.append_data_chunk(appender, chunk);
}

/** The address slot 0 of a string vector points at (as a Number: addresses fit in 53 bits). */
function pointerOfSlot0(vec: duckdb.Vector): number {
  const slot = duckdb.vector_get_data(vec, SLOT);
  const view = new DataView(slot.buffer, slot.byteOffset, SLOT);
  return view.getUint32(8, true) + view.getUint32(12, true) * TWO_32;
}

/** A `duckdb_string_t`: length, then the bytes inline (up to 12) or a 4-byte prefix and a pointer to `base + at`. */
function writeSlot(slots: Uint8Array, o: number, data: Buffer, at: number, len: number, base: number): void {
  slots[o] = len & 0xff;
  slots[o + 1] = (len >>> 8) & 0xff;
  slots[o + 2] = (len >>> 16) & 0xff;
  slots[o + 3] = len >>> 24;
  if (len <= 12) {
    for (let j = 0; j < len; j++) slots[o + 4 + j] = data[at + j]!;
    return;
  }
  for (let j = 0; j < 4; j++) slots[o + 4 + j] = data[at + j]!;
  const p = base + at;
  const hi = Math.floor(p / TWO_32);
  const lo = p - hi * TWO_32;
  slots[o + 8] = lo & 0xff;
  slots[o + 9] = (lo >>> 8) & 0xff;
  slots[o + 10] = (lo >>> 16) & 0xff;
  slots[o + 11] = lo >>> 24;
  slots[o + 12] = hi & 0xff;
  slots[o + 13] = (hi >>> 8) & 0xff;
  slots[o + 14] = (hi >>> 16) & 0xff;
  slots[o + 15] = hi >>> 24;
}

const pointerScratch = new ArrayBuffer(8);
const pointerView = new DataView(pointerScratch);

/**
 * The records of one partition's runs in key order, then run order, then row: DuckDB's sort, read chunk by
 * chunk into record bytes (`[keyLength][valueLength][key][value]`).
 */
export async function* sortedRuns(runs: readonly string[], stats: { spilledFiles: number }): AsyncGenerator<RecordBlock> {
  if (runs.length === 0) return;
  const conn = await openConnection();
  let first = true;
  try {
    // `file_index` is the position in the list, which is in map task, then spill order.
    const files = `[${runs.map(sqlLiteral).join(', ')}]`;
    const sql = `SELECT k, v FROM read_parquet(${files}, file_row_number = true) ORDER BY k, file_index, file_row_number`;
    let out = new ByteOut(1 << 18);
    for await (const chunk of streamChunks(conn, sql)) {
      const n = duckdb.data_chunk_get_size(chunk);
      out = new ByteOut(out.buf.length);
      const ends = new Int32Array(n);
      readRecords(chunk, n, out, ends);
      // The sort has finished when its first chunk comes: what it spilled is on disk now.
      if (first) stats.spilledFiles = await temporaryFiles();
      first = false;
      yield { data: out.buf, ends, count: n };
    }
  } finally {
    duckdb.disconnect_sync(conn);
  }
}

/** How many files DuckDB has in its temp directory now. */
async function temporaryFiles(): Promise<number> {
  const conn = await openConnection();
  try {
    for await (const chunk of streamChunks(conn, 'SELECT count(*)::INTEGER FROM duckdb_temporary_files()')) {
      return new Int32Array(duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 0), 4).slice(0, 4).buffer)[0]!;
    }
    return 0;
  } finally {
    duckdb.disconnect_sync(conn);
  }
}

/** Records in one buffer: record i is `data[ends[i-1] (0 for the first), ends[i])`. */
export interface RecordBlock {
  readonly data: Buffer;
  readonly ends: Int32Array;
  readonly count: number;
}

function readRecords(chunk: duckdb.DataChunk, n: number, out: ByteOut, ends: Int32Array): void {
  const k = new SlotReader(duckdb.data_chunk_get_vector(chunk, 0), n);
  const v = new SlotReader(duckdb.data_chunk_get_vector(chunk, 1), n);
  out.room(n * HEADER + k.bytes + v.bytes);
  const buf = out.buf;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const kl = k.lengthOf(i);
    const vl = v.lengthOf(i);
    buf.writeUInt32LE(kl, at);
    buf.writeUInt32LE(vl, at + 4);
    at = k.copyTo(i, kl, buf, at + HEADER);
    at = v.copyTo(i, vl, buf, at);
    ends[i] = at;
  }
  out.pos = at;
}

/** Clusters of a vector's string heap copied at most, and how much larger than the values they may be. */
const MAX_CLUSTERS = 16;
const CLUSTER_GAP = 1 << 20;

/**
 * Reads the BLOB values of one result vector. After a sort the values of a chunk sit in a few places of
 * DuckDB's heap (one per sorted block it merges from), so the long values' addresses are clustered and each
 * cluster copied with one native call; a chunk whose values are scattered wider is read value by value.
 */
class SlotReader {
  private readonly slots: Uint8Array;
  private readonly view: DataView;
  readonly bytes: number;
  private readonly cluster: Int8Array;
  private readonly lo = new Float64Array(MAX_CLUSTERS);
  private readonly copies: Uint8Array[] = [];

  constructor(vec: duckdb.Vector, n: number) {
    const slots = duckdb.vector_get_data(vec, n * SLOT);
    this.slots = slots;
    const view = new DataView(slots.buffer, slots.byteOffset, n * SLOT);
    this.view = view;
    this.cluster = new Int8Array(n).fill(-1);
    const lo = this.lo;
    const hi = new Float64Array(MAX_CLUSTERS);
    let clusters = 0;
    let bytes = 0;
    let longBytes = 0;
    let scattered = false;
    for (let i = 0; i < n; i++) {
      const len = view.getUint32(i * SLOT, true);
      bytes += len;
      if (len <= 12 || scattered) continue;
      longBytes += len;
      const p = view.getUint32(i * SLOT + 8, true) + view.getUint32(i * SLOT + 12, true) * TWO_32;
      let c = 0;
      while (c < clusters && (p + len < lo[c]! - CLUSTER_GAP || p > hi[c]! + CLUSTER_GAP)) c++;
      if (c === clusters) {
        if (clusters === MAX_CLUSTERS) {
          scattered = true;
          continue;
        }
        lo[c] = p;
        hi[c] = p + len;
        clusters++;
      } else {
        if (p < lo[c]!) lo[c] = p;
        if (p + len > hi[c]!) hi[c] = p + len;
      }
      this.cluster[i] = c;
    }
    this.bytes = bytes;
    let span = 0;
    for (let c = 0; c < clusters; c++) span += hi[c]! - lo[c]!;
    if (scattered || span > 4 * longBytes + (1 << 16)) {
      this.cluster.fill(-1);
      return;
    }
    for (let c = 0; c < clusters; c++) {
      const h = Math.floor(lo[c]! / TWO_32);
      pointerView.setUint32(0, lo[c]! - h * TWO_32, true);
      pointerView.setUint32(4, h, true);
      this.copies.push(duckdb.get_data_from_pointer(pointerScratch, 0, hi[c]! - lo[c]!));
    }
  }

  lengthOf(i: number): number {
    return this.view.getUint32(i * SLOT, true);
  }

  /** Copies value `i` (`len` bytes) to `buf` at `at`; returns where it ends. */
  copyTo(i: number, len: number, buf: Buffer, at: number): number {
    const o = i * SLOT;
    if (len <= 12) {
      const slots = this.slots;
      for (let j = 0; j < len; j++) buf[at + j] = slots[o + 4 + j]!;
      return at + len;
    }
    const c = this.cluster[i]!;
    if (c >= 0) {
      const p = this.view.getUint32(o + 8, true) + this.view.getUint32(o + 12, true) * TWO_32 - this.lo[c]!;
      const from = this.copies[c]!;
      if (len <= 64) for (let j = 0; j < len; j++) buf[at + j] = from[p + j]!;
      else buf.set(from.subarray(p, p + len), at);
    } else {
      buf.set(duckdb.get_data_from_pointer(this.slots.buffer as ArrayBuffer, this.slots.byteOffset + o + 8, len), at);
    }
    return at + len;
  }
}

/**
 * Sorted record blocks cut into pieces of whole groups: the reducer's calls are synchronous while DuckDB's
 * chunks come asynchronously, so a group is handed over only once a later group (or the end) shows it is
 * complete. A group larger than a block waits in a growing buffer.
 */
export async function* wholeGroups(blocks: AsyncIterable<RecordBlock>, groupFields: number): AsyncGenerator<RecordPairs> {
  let pending = new ByteOut(1 << 18);
  let pendingEnds: number[] = [];
  for await (const block of blocks) {
    // Append the block to what is pending.
    const base = pending.pos;
    pending.room(block.data.length);
    const used = block.count > 0 ? block.ends[block.count - 1]! : 0;
    block.data.copy(pending.buf, base, 0, used);
    pending.pos = base + used;
    for (let i = 0; i < block.count; i++) pendingEnds.push(base + block.ends[i]!);
    // Cut after the last record whose group differs from the last record's.
    const last = keyAt(pending.buf, pendingEnds, pendingEnds.length - 1);
    let cut = pendingEnds.length - 1;
    while (cut > 0 && compareKeys(keyAt(pending.buf, pendingEnds, cut - 1), last, groupFields) === 0) cut--;
    if (cut === 0) continue;
    yield new RecordPairs(pending.buf, pendingEnds, 0, cut);
    // Move the incomplete group to a fresh buffer (the pairs handed out may still be read).
    const from = pendingEnds[cut - 1]!;
    const rest = new ByteOut(Math.max(1 << 18, pending.pos - from));
    pending.buf.copy(rest.buf, 0, from, pending.pos);
    rest.pos = pending.pos - from;
    pendingEnds = pendingEnds.slice(cut).map((e) => e - from);
    pending = rest;
  }
  if (pendingEnds.length > 0) yield new RecordPairs(pending.buf, pendingEnds, 0, pendingEnds.length);
}

function keyAt(data: Buffer, ends: readonly number[], i: number): Key {
  const start = i === 0 ? 0 : ends[i - 1]!;
  const kl = data.readUInt32LE(start);
  return readSortKey(data, start + HEADER, start + HEADER + kl);
}

/** Records `[from, to)` of a buffer as a sorted-pair cursor; equal keys in a row share one decoded key. */
export class RecordPairs implements SortedPairs {
  private i: number;
  private lastStart = -1;
  private lastLength = -1;
  key: Key = [];
  value: unknown;

  constructor(
    private readonly data: Buffer,
    private readonly ends: readonly number[],
    from: number,
    private readonly to: number,
  ) {
    this.i = from;
  }

  next(): boolean {
    if (this.i >= this.to) return false;
    const data = this.data;
    const start = this.i === 0 ? 0 : this.ends[this.i - 1]!;
    const kl = data.readUInt32LE(start);
    const ks = start + HEADER;
    const ke = ks + kl;
    if (kl !== this.lastLength || data.compare(data, ks, ke, this.lastStart, this.lastStart + kl) !== 0) {
      this.key = readSortKey(data, ks, ke);
      this.lastStart = ks;
      this.lastLength = kl;
    }
    this.value = decodeValue(data, ke, this.ends[this.i]!);
    this.i++;
    return true;
  }
}

/** The run file of map task `task`, partition `p`, spill `run` (names sort in run order). */
export function parquetRunFile(dir: string, task: number, p: number, run: number): string {
  return path.join(dir, `t${String(task).padStart(5, '0')}-p${String(p).padStart(4, '0')}-r${String(run).padStart(4, '0')}.parquet`);
}
