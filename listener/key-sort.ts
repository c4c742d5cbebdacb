/**
 * Sorting 64-bit keys with a 32-bit payload, for the snapshot builder: tens of millions of (key, value) pairs
 * in typed arrays. An LSD radix sort (four 16-bit digits) does it in linear time with no per-element objects,
 * where a comparator sort over an index array would take tens of seconds at 50M.
 */

/** Keys interleaved as [hi0, lo0, hi1, lo1, ...] with one value each; `length` pairs are used. */
export interface KeyedValues {
  keys: Uint32Array;
  values: Uint32Array;
  length: number;
}

/** A copy of the first `length` pairs sorted by key (unsigned hi, then lo); stable for equal keys. */
export function sortByKey(input: KeyedValues): KeyedValues {
  const n = input.length;
  let keys = input.keys.slice(0, 2 * n);
  let values = input.values.slice(0, n);
  let tmpKeys = new Uint32Array(2 * n);
  let tmpValues = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  // Digit d: 0 = low half of lo, 1 = high half of lo, 2 = low half of hi, 3 = high half of hi.
  for (let d = 0; d < 4; d++) {
    const word = d < 2 ? 1 : 0;
    const shift = d % 2 === 0 ? 0 : 16;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(keys[2 * i + word]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let b = 0; b < 65536; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const b = (keys[2 * i + word]! >>> shift) & 0xffff;
      const at = counts[b]!++;
      tmpKeys[2 * at] = keys[2 * i]!;
      tmpKeys[2 * at + 1] = keys[2 * i + 1]!;
      tmpValues[at] = values[i]!;
    }
    [keys, tmpKeys] = [tmpKeys, keys];
    [values, tmpValues] = [tmpValues, values];
  }
  return { keys, values, length: n };
}

/** Index of the first pair whose key is >= (hi, lo) in sorted `keys` of `length` pairs. */
export function lowerBound(keys: Uint32Array, length: number, hi: number, lo: number): number {
  let a = 0;
  let b = length;
  while (a < b) {
    const m = (a + b) >>> 1;
    const mh = keys[2 * m]!;
    if (mh < hi || (mh === hi && keys[2 * m + 1]! < lo)) a = m + 1;
    else b = m;
  }
  return a;
}

/** A growable list of (key, value) pairs in typed arrays. */
export class KeyedValueList implements KeyedValues {
  keys = new Uint32Array(2 * 1024);
  values = new Uint32Array(1024);
  length = 0;

  push(hi: number, lo: number, value: number): void {
    if (this.length === this.values.length) {
      const keys = new Uint32Array(this.keys.length * 2);
      keys.set(this.keys);
      const values = new Uint32Array(this.values.length * 2);
      values.set(this.values);
      this.keys = keys;
      this.values = values;
    }
    this.keys[2 * this.length] = hi;
    this.keys[2 * this.length + 1] = lo;
    this.values[this.length++] = value;
  }
}
