// The listener's snapshot API for tests, plus seeded 64-bit keys.
export * from '../../listener/index.ts';

/** `n` pseudo-random 64-bit keys as [hi, lo] pairs (xorshift32, reproducible by seed). */
export function seededKeys(n: number, seed: number): Uint32Array {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  const out = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) out[i] = next();
  return out;
}
