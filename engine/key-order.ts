/**
 * Key order, partitioning and grouping with Hadoop's KeyFieldBasedPartitioner/Comparator semantics, in one
 * place so every runner (inline, local, cluster bundles) partitions and sorts identically.
 *
 * - Sort: all key parts, left to right. Numbers sort numerically and before strings; strings sort by
 *   UTF-16 code units (JavaScript's `<`, Java's `String.compareTo`), not by code points or locale, so
 *   '😀' (U+1F600, code units D83D DE00) sorts before '｡' (U+FF61). A key that is a prefix of another sorts first.
 * - Partition: a stable 32-bit FNV-1a hash of the first `partitionFields` parts, modulo the reducer count.
 * - Group: keys equal on their first `groupFields` parts go to one reduce call; the remaining parts sort
 *   the values inside the group (secondary sort).
 */

/** One part of a key: a string or a finite number. */
export type KeyPart = string | number;

/** A map output key: a tuple of parts, e.g. `[userId, 0]`. */
export type Key = readonly KeyPart[];

/** How a step's map output is partitioned, sorted and grouped. */
export interface ShuffleSpec {
  /** Key parts that choose the reducer partition; default `groupFields` (so a group never spans reducers). */
  readonly partitionFields?: number;
  /** Key parts that form one reduce call; default all parts. The rest give a secondary sort of the values. */
  readonly groupFields?: number;
  /** Reducer partitions; default: the runner's choice (inline: 1). Outputs never depend on it, only file layout does. */
  readonly reducers?: number;
}

/** A shuffle spec with defaults applied; `Infinity` means "all parts". */
export interface ResolvedShuffle {
  readonly partitionFields: number;
  readonly groupFields: number;
  readonly reducers: number;
}

/** Applies the defaults of a shuffle spec (validated by `defineJob`). */
export function resolveShuffle(spec: ShuffleSpec | undefined, defaultReducers = 1): ResolvedShuffle {
  const groupFields = spec?.groupFields ?? Infinity;
  return {
    groupFields,
    partitionFields: spec?.partitionFields ?? groupFields,
    reducers: spec?.reducers ?? defaultReducers,
  };
}

function comparePart(a: KeyPart, b: KeyPart): number {
  if (typeof a === 'number') {
    if (typeof b !== 'number') return -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two keys on their first `parts` parts (all by default): negative, zero or positive. */
export function compareKeys(a: Key, b: Key, parts = Infinity): number {
  const na = Math.min(a.length, parts);
  const nb = Math.min(b.length, parts);
  const n = Math.min(na, nb);
  for (let i = 0; i < n; i++) {
    const c = comparePart(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return na - nb;
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const NUMBER_TAG = 0x01;
const STRING_TAG = 0x02;
const END = 0x00;
const ESCAPE = 0x01;

/** The most bytes `writeSortKey` may write for `key`: 9 per number, 3 per code unit plus 2 per string. */
export function sortKeyBound(key: Key): number {
  let n = 0;
  for (let i = 0; i < key.length; i++) {
    const part = key[i]!;
    n += typeof part === 'number' ? 9 : 3 * part.length + 2;
  }
  return n;
}

/**
 * Writes the sort key of `key` at `at` in `out` (room for `sortKeyBound(key)` bytes) and returns where it
 * ends. Sort keys compare as bytes (memcmp) in `compareKeys` order, so a runner encodes a key once and sorts,
 * merges and groups on bytes. Each part is a tag byte (numbers 0x01 before strings 0x02; the end of a shorter
 * key sorts before either), then a number as its float64 bits made sortable (8 bytes, big-endian), or a string
 * as its UTF-16 code units each written like UTF-8 (so byte order is code-unit order, surrogates included),
 * with code units 0 and 1 escaped as 0x01 0x01 and 0x01 0x02 and a 0x00 closing it (so a prefix sorts first).
 */
export function writeSortKey(key: Key, out: Uint8Array, at: number): number {
  for (let i = 0; i < key.length; i++) {
    const part = key[i]!;
    if (typeof part === 'number') {
      F64[0] = part === 0 ? 0 : part; // -0 equals 0 in compareKeys
      let hi = U32[HI]!;
      let lo = U32[1 - HI]!;
      if (hi & 0x80000000) {
        hi = ~hi;
        lo = ~lo;
      } else {
        hi ^= 0x80000000;
      }
      out[at] = NUMBER_TAG;
      out[at + 1] = hi >>> 24;
      out[at + 2] = hi >>> 16;
      out[at + 3] = hi >>> 8;
      out[at + 4] = hi;
      out[at + 5] = lo >>> 24;
      out[at + 6] = lo >>> 16;
      out[at + 7] = lo >>> 8;
      out[at + 8] = lo;
      at += 9;
    } else {
      out[at++] = STRING_TAG;
      for (let j = 0; j < part.length; j++) {
        const c = part.charCodeAt(j);
        if (c < 0x80) {
          if (c > ESCAPE) out[at++] = c;
          else {
            out[at++] = ESCAPE;
            out[at++] = c + 1;
          }
        } else if (c < 0x800) {
          out[at++] = 0xc0 | (c >> 6);
          out[at++] = 0x80 | (c & 0x3f);
        } else {
          out[at++] = 0xe0 | (c >> 12);
          out[at++] = 0x80 | ((c >> 6) & 0x3f);
          out[at++] = 0x80 | (c & 0x3f);
        }
      }
      out[at++] = END;
    }
  }
  return at;
}

/** The key whose sort key is `bytes[start, end)` (the inverse of `writeSortKey`). */
export function readSortKey(bytes: Buffer, start: number, end: number): Key {
  const key: KeyPart[] = [];
  let at = start;
  while (at < end) {
    if (bytes[at] === NUMBER_TAG) {
      let hi = ((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0;
      let lo = ((bytes[at + 5]! << 24) | (bytes[at + 6]! << 16) | (bytes[at + 7]! << 8) | bytes[at + 8]!) >>> 0;
      if (hi & 0x80000000) hi ^= 0x80000000;
      else {
        hi = ~hi;
        lo = ~lo;
      }
      U32[HI] = hi;
      U32[1 - HI] = lo;
      key.push(F64[0]!);
      at += 9;
      continue;
    }
    const from = ++at;
    let plain = true;
    while (bytes[at] !== END) {
      const b = bytes[at++]!;
      if (b <= ESCAPE || b >= 0x80) plain = false;
    }
    // Most keys are ASCII without escapes: one slice; others are decoded code unit by code unit.
    key.push(plain ? bytes.toString('latin1', from, at) : decodeCodeUnits(bytes, from, at));
    at++;
  }
  return key;
}

function decodeCodeUnits(bytes: Uint8Array, from: number, to: number): string {
  const units: number[] = [];
  for (let i = from; i < to; ) {
    const b = bytes[i]!;
    if (b === ESCAPE) {
      units.push(bytes[i + 1]! - 1);
      i += 2;
    } else if (b < 0x80) {
      units.push(b);
      i++;
    } else if (b < 0xe0) {
      units.push(((b & 0x1f) << 6) | (bytes[i + 1]! & 0x3f));
      i += 2;
    } else {
      units.push(((b & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f));
      i += 3;
    }
  }
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
  return s;
}

/** Compares sort keys `a[as, ae)` and `b[bs, be)` byte by byte: negative, zero or positive, as `compareKeys` on their keys. */
export function compareSortKeys(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return ae - as - (be - bs);
}

/** True when two keys belong to the same reduce call. */
export function sameGroup(a: Key, b: Key, groupFields: number): boolean {
  return compareKeys(a, b, groupFields) === 0;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * A stable 32-bit hash of a key's first `parts` parts. Part of the on-disk contract between runners: a
 * change reshuffles every partitioned output, so `key-order.test.ts` pins known values.
 */
export function hashKey(key: Key, parts = Infinity): number {
  let h = FNV_OFFSET;
  const n = Math.min(key.length, parts);
  for (let i = 0; i < n; i++) {
    const part = key[i]!;
    // Tag the type so "1" and 1 differ; numbers hash by their canonical text (-0 as 0).
    const text = typeof part === 'number' ? (part === 0 ? '0' : String(part)) : part;
    h = Math.imul(h ^ (typeof part === 'number' ? 0x6e : 0x73), FNV_PRIME);
    for (let j = 0; j < text.length; j++) {
      const c = text.charCodeAt(j);
      h = Math.imul(h ^ (c & 0xff), FNV_PRIME);
      h = Math.imul(h ^ (c >>> 8), FNV_PRIME);
    }
    h = Math.imul(h ^ 0xff, FNV_PRIME); // part separator
  }
  return h >>> 0;
}

/** The reducer partition of a key. */
export function partitionOf(key: Key, shuffle: ResolvedShuffle): number {
  return shuffle.reducers === 1 ? 0 : hashKey(key, shuffle.partitionFields) % shuffle.reducers;
}
