/**
 * The local runner's shuffle data in bytes: map output encoded at emit into one growing Buffer per
 * partition, sorted runs written to disk, and their k-way merge. A pair is one record, `[keyLength
 * u32][valueLength u32][sort key][value]` (the value in `value-codec.ts`'s encoding), the same in memory and
 * in run files, so buffering makes no object per pair (the GC has nothing to trace), sorting is a native sort
 * of 64-bit numbers, and merging and spilling copy bytes.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { PairSink } from './job-context.ts';
import type { SortedPairs } from './reduce-task.ts';
import { compareSortKeys, partitionOf, readSortKey, sortKeyBound, writeSortKey, type Key, type ResolvedShuffle } from './key-order.ts';
import { checkKey, isKey, kindOf, throwUnshippable } from './shippable.ts';
import { ByteOut, decodeValue, encodeValue } from './value-codec.ts';

const HEADER = 8;
/** A run writer writes its buffer out once it holds this much. */
const FLUSH_BYTES = 1 << 20;
/** Pairs in one buffer at most: sorting packs the pair's index into 24 bits. */
export const MAX_BUFFERED_PAIRS = 1 << 24;
/** Runs are sorted in memory, so a buffer never holds more than this (Int32 offsets). */
const MAX_BUFFER_BYTES = 1 << 30;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The map output of one partition waiting to be sorted and written as a run. */
export class PairBuffer {
  private readonly out = new ByteOut();
  /**
   * Above this many pairs the packed sort's 24-bit index would wrap. Map tasks write a run when a buffer is
   * `full`, but only between input batches, so a mapper emitting thousands of pairs per record can pass it;
   * such a buffer is sorted by a comparator instead: slower, still right. (A parameter only so tests can
   * reach that path without 16M pairs.)
   */
  constructor(private readonly packedSortLimit = MAX_BUFFERED_PAIRS) {}
  private starts = new Int32Array(1024);
  private keyLengths = new Int32Array(1024);
  count = 0;

  /** Bytes held (allocated, not only used): what counts against the memory share. */
  get bytes(): number {
    return this.out.buf.length + this.starts.byteLength + this.keyLengths.byteLength;
  }

  /** True when the buffer can take no more pairs and must be written. */
  get full(): boolean {
    return this.count >= MAX_BUFFERED_PAIRS || this.out.pos >= MAX_BUFFER_BYTES;
  }

  /** Appends a pair: its key as a sort key, its value encoded (`value-codec.ts`); false, with nothing appended, when the value is not shippable. */
  add(key: Key, value: unknown): boolean {
    if (this.count === this.starts.length) {
      const s = new Int32Array(this.starts.length * 2);
      s.set(this.starts);
      this.starts = s;
      const k = new Int32Array(s.length);
      k.set(this.keyLengths);
      this.keyLengths = k;
    }
    const out = this.out;
    const start = out.pos;
    out.room(HEADER + sortKeyBound(key));
    const keyEnd = writeSortKey(key, out.buf, start + HEADER);
    out.pos = keyEnd;
    if (!encodeValue(out, value)) {
      out.pos = start;
      return false;
    }
    const data = out.buf;
    data.writeUInt32LE(keyEnd - start - HEADER, start);
    data.writeUInt32LE(out.pos - keyEnd, start + 4);
    this.keyLengths[this.count] = keyEnd - start - HEADER;
    this.starts[this.count++] = start;
    return true;
  }

  /** Removes the pair added last (its map call threw). */
  pop(): void {
    this.out.pos = this.starts[--this.count]!;
  }

  /**
   * Writes the pairs sorted by key (stably: equal keys keep the order they were added) through `write`, then
   * empties the buffer (keeping its memory for the next run).
   */
  drainSorted(write: (data: Buffer, start: number, keyStart: number, keyEnd: number, end: number) => void): void {
    const n = this.count;
    const data = this.out.buf;
    const starts = this.starts;
    const keyLengths = this.keyLengths;
    const order = n > this.packedSortLimit ? Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => this.compare(a, b)) : this.packedOrder();
    for (let r = 0; r < n; r++) {
      const s = starts[order[r]!]!;
      const keyEnd = s + HEADER + keyLengths[order[r]!]!;
      write(data, s, s + HEADER, keyEnd, keyEnd + data.readUInt32LE(s + 4));
    }
    this.count = 0;
    this.out.pos = 0;
  }

  /** The pairs' indexes in sort order, by native sorts of packed key bytes (up to `packedSortLimit` pairs). */
  private packedOrder(): Int32Array {
    const n = this.count;
    const data = this.out.buf;
    const starts = this.starts;
    const keyLengths = this.keyLengths;
    // Bytes every key starts with (the tag byte at least, when all keys start with a string part) would only
    // make ties: the sort starts after them.
    let skip = n > 0 ? keyLengths[0]! : 0;
    const k0 = starts[0]! + HEADER;
    for (let i = 1; i < n && skip > 0; i++) {
      const k = starts[i]! + HEADER;
      const m = Math.min(skip, keyLengths[i]!);
      let j = 0;
      while (j < m && data[k + j] === data[k0 + j]) j++;
      skip = j;
    }
    // Sort 64-bit numbers natively: the key's next 5 bytes above the pair's index (24 bits), so equal
    // prefixes keep insertion order; pairs whose prefixes tie are then ordered on the rest of their keys.
    const packed = new BigUint64Array(n);
    const words = new Uint32Array(packed.buffer);
    const hiWord = LITTLE_ENDIAN ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const k = starts[i]! + HEADER + skip;
      const kl = keyLengths[i]! - skip;
      // Keys shorter than 5 bytes are padded with zeros: a tie at worst, settled on the whole keys.
      const b0 = kl > 0 ? data[k]! : 0;
      const b1 = kl > 1 ? data[k + 1]! : 0;
      const b2 = kl > 2 ? data[k + 2]! : 0;
      const b3 = kl > 3 ? data[k + 3]! : 0;
      const b4 = kl > 4 ? data[k + 4]! : 0;
      words[2 * i + hiWord] = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
      words[2 * i + 1 - hiWord] = ((b4 << 24) | i) >>> 0;
    }
    packed.sort();
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = words[2 * i + 1 - hiWord]! & 0xffffff;
    forEachTie(words, n, (from, to) => this.sortTies(order, from, to, skip + 5));
    return order;
  }

  /** Compares pairs `a` and `b` on whole keys, then insertion order. */
  private compare(a: number, b: number): number {
    const data = this.out.buf;
    const sa = this.starts[a]! + HEADER;
    const sb = this.starts[b]! + HEADER;
    return compareSortKeys(data, sa, sa + this.keyLengths[a]!, data, sb, sb + this.keyLengths[b]!) || a - b;
  }

  /**
   * Orders `order[from, to)`, pairs whose sort keys agree on their first `depth` bytes, on whole keys, then
   * insertion order. A few pairs (mostly equal keys, already in order) take an insertion sort; more take a
   * native sort of the next 4 key bytes (each byte + 1, 0 past the key's end, so a shorter key sorts first)
   * above the pair's index, then the same for each run of pairs still tied: keys sharing long prefixes
   * (ids with a common start) never reach a JS comparator sort.
   */
  private sortTies(order: Int32Array, from: number, to: number, depth: number): void {
    const n = to - from;
    if (n <= 16) {
      for (let i = from + 1; i < to; i++) {
        const x = order[i]!;
        let j = i - 1;
        while (j >= from && this.compare(order[j]!, x) > 0) {
          order[j + 1] = order[j]!;
          j--;
        }
        order[j + 1] = x;
      }
      return;
    }
    const data = this.out.buf;
    const starts = this.starts;
    const keyLengths = this.keyLengths;
    const packed = new BigUint64Array(n);
    const words = new Uint32Array(packed.buffer);
    const hiWord = LITTLE_ENDIAN ? 1 : 0;
    let continues = false;
    for (let r = 0; r < n; r++) {
      const i = order[from + r]!;
      const k = starts[i]! + HEADER + depth;
      const rest = keyLengths[i]! - depth;
      const v0 = rest > 0 ? data[k]! + 1 : 0;
      const v1 = rest > 1 ? data[k + 1]! + 1 : 0;
      const v2 = rest > 2 ? data[k + 2]! + 1 : 0;
      const v3 = rest > 3 ? data[k + 3]! + 1 : 0;
      if (rest > 4) continues = true;
      // 4 × 9 bits of key above 24 bits of index.
      words[2 * r + hiWord] = ((v0 << 23) | (v1 << 14) | (v2 << 5) | (v3 >>> 4)) >>> 0;
      words[2 * r + 1 - hiWord] = (((v3 & 15) << 24) | i) >>> 0;
    }
    packed.sort();
    for (let r = 0; r < n; r++) order[from + r] = words[2 * r + 1 - hiWord]! & 0xffffff;
    // Pairs tied here on a key that ended are equal keys, now in index order.
    if (!continues) return;
    forEachTie(words, n, (r, q, hi, lo) => {
      // A tie whose last byte is 0 ended within these 4 bytes: equal keys, in order.
      if ((hi & 31) !== 0 || lo !== 0) this.sortTies(order, from + r, from + q, depth + 4);
    });
  }
}

/**
 * Calls `visit(from, to, hi, lo)` for each run of two or more sorted packed entries whose key bits (all but
 * the low 24-bit index) are equal: `hi` is the high word, `lo` the low word's top 8 bits.
 */
function forEachTie(words: Uint32Array, n: number, visit: (from: number, to: number, hi: number, lo: number) => void): void {
  const hiWord = LITTLE_ENDIAN ? 1 : 0;
  let i = 0;
  while (i < n) {
    const hi = words[2 * i + hiWord]!;
    const lo = words[2 * i + 1 - hiWord]! >>> 24;
    let j = i + 1;
    while (j < n && words[2 * j + hiWord] === hi && words[2 * j + 1 - hiWord]! >>> 24 === lo) j++;
    if (j - i > 1) visit(i, j, hi, lo);
    i = j;
  }
}

/**
 * A map task's pairs, encoded at emit into one PairBuffer per reducer partition. The pairs of the current map
 * call are journaled so a call that throws leaves nothing behind.
 */
export class ShuffleSink implements PairSink {
  readonly buffers: PairBuffer[];
  /** Partitions of the current call's pairs, in emit order. */
  private readonly journal: number[] = [];

  constructor(private readonly shuffle: ResolvedShuffle) {
    this.buffers = Array.from({ length: shuffle.reducers }, () => new PairBuffer());
  }

  emit(key: Key, value: unknown, where: string): void {
    if (!isKey(key)) checkKey(key, where);
    const p = partitionOf(key, this.shuffle);
    if (!this.buffers[p]!.add(key, value)) throwUnshippable(value, where);
    this.journal.push(p);
  }

  commit(): void {
    this.journal.length = 0;
  }

  rollback(): void {
    for (let i = this.journal.length - 1; i >= 0; i--) this.buffers[this.journal[i]!]!.pop();
    this.journal.length = 0;
  }

  /** True when a buffer can take no more pairs. */
  get full(): boolean {
    for (const b of this.buffers) if (b.full) return true;
    return false;
  }

  /** Bytes the buffers hold. */
  get bytes(): number {
    let n = 0;
    for (const b of this.buffers) n += b.bytes;
    return n;
  }
}

/** Writes a run file: records appended in order, flushed in about 1 MiB writes. */
export class RunWriter {
  private readonly fd: number;
  private readonly out = new ByteOut(FLUSH_BYTES + (1 << 16));
  records = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  /** Copies a whole record (`data[start, end)`). */
  copy(data: Buffer, start: number, end: number): void {
    const out = this.out;
    out.room(end - start);
    data.copy(out.buf, out.pos, start, end);
    out.pos += end - start;
    this.ended();
  }

  /** Writes a record of a sort key (`data[keyStart, keyEnd)`) and a value (one that passed the shipping check). */
  pair(data: Buffer, keyStart: number, keyEnd: number, value: unknown): void {
    const out = this.out;
    const kl = keyEnd - keyStart;
    const at = out.pos;
    out.room(HEADER + kl);
    data.copy(out.buf, at + HEADER, keyStart, keyEnd);
    out.pos = at + HEADER + kl;
    this.finish(at, kl, value);
  }

  /** Writes a key and value (encoding them as `PairBuffer` does). */
  add(key: Key, value: unknown): void {
    const out = this.out;
    const at = out.pos;
    out.room(HEADER + sortKeyBound(key));
    out.pos = writeSortKey(key, out.buf, at + HEADER);
    this.finish(at, out.pos - at - HEADER, value);
  }

  private finish(at: number, keyLength: number, value: unknown): void {
    const out = this.out;
    if (!encodeValue(out, value)) throw new TypeError(`run file ${this.file}: a value that is not shippable reached the shuffle (${kindOf(value)})`);
    out.buf.writeUInt32LE(keyLength, at);
    out.buf.writeUInt32LE(out.pos - at - HEADER - keyLength, at + 4);
    this.ended();
  }

  private ended(): void {
    this.records++;
    if (this.out.pos >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    const out = this.out;
    let at = 0;
    while (at < out.pos) at += fs.writeSync(this.fd, out.buf, at, out.pos - at);
    out.pos = 0;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
    }
  }
}

/** Reads a run file record by record, synchronously (the reducer pulls values from a sync iterator). */
export class RunReader {
  private readonly fd: number;
  buf = Buffer.allocUnsafe(1 << 16);
  private filled = 0;
  private eof = false;
  /** The current record: `buf[start, end)`, its sort key `buf[keyStart, keyEnd)`. */
  start = 0;
  keyStart = 0;
  keyEnd = 0;
  end = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'r');
  }

  /** Moves to the next record; false at the end of the run. */
  next(): boolean {
    let at = this.end;
    if (!this.ensure(at, HEADER)) return false;
    at = this.end; // ensure may move the unread bytes to the front
    const kl = this.buf.readUInt32LE(at);
    const vl = this.buf.readUInt32LE(at + 4);
    if (!this.ensure(at, HEADER + kl + vl)) throw new Error(`run file ${this.file} is truncated`);
    at = this.end;
    this.start = at;
    this.keyStart = at + HEADER;
    this.keyEnd = at + HEADER + kl;
    this.end = this.keyEnd + vl;
    return true;
  }

  /** Makes `n` bytes from `at` readable (setting `end` to where they now start); false at a clean end of file. */
  private ensure(at: number, n: number): boolean {
    if (at + n <= this.filled) return true;
    const rest = this.filled - at;
    if (this.eof) {
      if (rest === 0) return false;
      throw new Error(`run file ${this.file} is truncated`);
    }
    if (n > this.buf.length) {
      const b = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(b, 0, at, this.filled);
      this.buf = b;
    } else {
      this.buf.copy(this.buf, 0, at, this.filled);
    }
    this.filled = rest;
    this.end = 0;
    while (this.filled < n) {
      const r = fs.readSync(this.fd, this.buf, this.filled, this.buf.length - this.filled, null);
      if (r === 0) {
        this.eof = true;
        if (this.filled === 0) return false;
        if (this.filled < n) throw new Error(`run file ${this.file} is truncated`);
        break;
      }
      this.filled += r;
    }
    return true;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/**
 * K-way merge of sorted runs with a binary heap on sort-key bytes; on equal keys the earlier run comes
 * first. `next()` returns the reader holding the smallest record, valid until the following call.
 */
export class RunMerge {
  /** Indices of the readers with a record, as a binary heap. */
  private readonly heap: number[] = [];
  private pending = -1;

  constructor(private readonly readers: readonly RunReader[]) {
    readers.forEach((r, i) => {
      if (r.next()) {
        this.heap.push(i);
        this.up(this.heap.length - 1);
      }
    });
  }

  next(): RunReader | undefined {
    const heap = this.heap;
    if (this.pending >= 0) {
      if (this.readers[this.pending]!.next()) this.down(0);
      else {
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          this.down(0);
        }
      }
    }
    if (heap.length === 0) {
      this.pending = -1;
      return undefined;
    }
    this.pending = heap[0]!;
    return this.readers[this.pending];
  }

  /** True when run `a`'s record comes before run `b`'s: smaller key, or equal key and earlier run. */
  private less(a: number, b: number): boolean {
    const ra = this.readers[a]!;
    const rb = this.readers[b]!;
    const c = compareSortKeys(ra.buf, ra.keyStart, ra.keyEnd, rb.buf, rb.keyStart, rb.keyEnd);
    return c < 0 || (c === 0 && a < b);
  }

  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[p]!)) break;
      const t = heap[i]!;
      heap[i] = heap[p]!;
      heap[p] = t;
      i = p;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(heap[l]!, heap[m]!)) m = l;
      if (r < n && this.less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  }
}

/**
 * The merged pairs of sorted runs as a cursor, decoded one at a time (no object per pair); equal keys in a
 * row share one decoded key array.
 */
export class MergedPairs implements SortedPairs {
  private readonly merge: RunMerge;
  private last = Buffer.alloc(0);
  key: Key = [];
  value: unknown;

  constructor(readers: readonly RunReader[]) {
    this.merge = new RunMerge(readers);
  }

  next(): boolean {
    const r = this.merge.next();
    if (!r) return false;
    const kl = r.keyEnd - r.keyStart;
    if (kl !== this.last.length || compareSortKeys(r.buf, r.keyStart, r.keyEnd, this.last, 0, kl) !== 0) {
      this.last = Buffer.from(r.buf.subarray(r.keyStart, r.keyEnd));
      this.key = readSortKey(r.buf, r.keyStart, r.keyEnd);
    }
    this.value = decodeValue(r.buf, r.keyEnd, r.end);
    return true;
  }
}

/**
 * Merges consecutive groups of `factor` runs into one run each until at most `factor` are left, so a reducer
 * never holds more than `factor` open runs. Consecutive groups keep the tie order (earlier run first).
 */
export async function mergePasses(runs: readonly string[], dir: string, factor: number): Promise<readonly string[]> {
  let current = runs;
  let pass = 0;
  while (current.length > factor) {
    await fsp.mkdir(dir, { recursive: true });
    const next: string[] = [];
    for (let g = 0; g < current.length; g += factor) {
      const group = current.slice(g, g + factor);
      if (group.length === 1) {
        next.push(group[0]!);
        continue;
      }
      const file = path.join(dir, `merge-${pass}-${next.length}.run`);
      const readers = group.map((r) => new RunReader(r));
      const writer = new RunWriter(file);
      try {
        const merge = new RunMerge(readers);
        for (let r = merge.next(); r; r = merge.next()) writer.copy(r.buf, r.start, r.end);
      } finally {
        writer.close();
        for (const r of readers) r.close();
      }
      // Runs of an earlier pass are ours to remove; the map tasks' runs go with the step's spill dir.
      if (pass > 0) for (const r of group) await fsp.rm(r, { force: true });
      next.push(file);
    }
    current = next;
    pass++;
  }
  return current;
}
