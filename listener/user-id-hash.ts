/**
 * The 64-bit key of a (region-free) user id in a segment snapshot: two 32-bit murmur3-style lanes over the
 * string's UTF-16 code units. Part of the snapshot file format (golden values in the tests pin it): the builder
 * and the listener must hash the same string to the same key. Computed with Math.imul only, so the hot path
 * allocates nothing; the result is left in `userKey` rather than returned as an object.
 */

/** The last key computed by hashUserId: `hi` and `lo` 32-bit halves (unsigned). */
export const userKey = { hi: 0, lo: 0 };

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hashes `id` into `userKey` (hi, lo). */
export function hashUserId(id: string): void {
  const n = id.length;
  let h1 = 0x9747b28c ^ n;
  let h2 = 0x5bd1e995 ^ Math.imul(n, 0x27d4eb2f);
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    let k = Math.imul(c, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let j = Math.imul(c ^ 0x5a5a, 0x85ebca77);
    j = (j << 17) | (j >>> 15);
    j = Math.imul(j, 0xc2b2ae3d);
    h2 ^= j;
    h2 = (h2 << 11) | (h2 >>> 21);
    h2 = (Math.imul(h2, 9) + 0x27d4eb2f) | 0;
  }
  userKey.hi = fmix(h1 ^ (h2 >>> 7));
  userKey.lo = fmix(h2 ^ Math.imul(h1, 0x165667b1));
}

/** The key of `id` as 16 hex digits (hi then lo), for tests, logs and tools. */
export function userKeyHex(id: string): string {
  hashUserId(id);
  return userKey.hi.toString(16).padStart(8, '0') + userKey.lo.toString(16).padStart(8, '0');
}
