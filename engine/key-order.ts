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
const NUMBER_TAG = '\u0001';
const STRING_TAG = '\u0002';
const END = '\u0000';

/**
 * A string whose UTF-16 code-unit order (`<`) is `compareKeys` order, so a runner computes it once per pair
 * and sorts and merges with plain string comparisons. Each part is a tag (numbers `\u0001` before strings
 * `\u0002`, and the end of a shorter key before either), then a number as its float64 bits made sortable, in
 * four code units, or a string with `\u0000` and `\u0001` escaped and `\u0000` closing it (so a prefix sorts first).
 * In memory only: it may hold lone surrogates, so it is never written as UTF-8.
 */
export function sortKeyOf(key: Key): string {
  let out = '';
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
      out += NUMBER_TAG + String.fromCharCode(hi >>> 16, hi & 0xffff, lo >>> 16, lo & 0xffff);
    } else {
      const escaped = part.indexOf(END) < 0 && part.indexOf(NUMBER_TAG) < 0 ? part : part.replace(/[\u0000\u0001]/g, (c) => (c === END ? '\u0001\u0001' : '\u0001\u0002'));
      out += STRING_TAG + escaped + END;
    }
  }
  return out;
}

/** Compares two sort keys (from `sortKeyOf`): negative, zero or positive, as `compareKeys` on their keys. */
export function compareSortKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
