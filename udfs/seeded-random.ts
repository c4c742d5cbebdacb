/**
 * A small seeded PRNG (mulberry32): synthetic data and property tests must be reproducible from a seed,
 * and Math.random cannot be seeded.
 */
export interface SeededRandom {
  /** Uniform 32-bit unsigned integer. */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

/** Creates a PRNG whose sequence depends only on `seed`. */
export function seededRandom(seed: number): SeededRandom {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    next,
    int: (n) => next() % n,
    float: () => next() / 4294967296,
    chance: (p) => next() / 4294967296 < p,
    pick: (items) => items[next() % items.length]!,
  };
}
