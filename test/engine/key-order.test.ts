import { describe, expect, it } from 'vitest';
import { compareKeys, hashKey, partitionOf, resolveShuffle, sameGroup, type Key, type KeyPart } from '../../engine/index.ts';
import { compareSortKeys, readSortKey, sortKeyBound, writeSortKey } from '../../engine/key-order.ts';
import { seededRandom } from '../../udfs/index.ts';

describe('key order', () => {
  it('sorts numbers numerically, before strings; strings by UTF-16 code units; prefixes first', () => {
    const keys: Key[] = [['b'], [10], ['a', 2], ['a'], [9], [-1.5], ['｡'], ['😀'], ['Z'], ['a', 'x'], ['a', 10], [100]];
    const sorted = [...keys].sort((a, b) => compareKeys(a, b));
    expect(sorted).toEqual([[-1.5], [9], [10], [100], ['Z'], ['a'], ['a', 2], ['a', 10], ['a', 'x'], ['b'], ['😀'], ['｡']]);
  });

  it('compares only the first n parts when asked, and treats -0 as 0', () => {
    expect(compareKeys(['u', 1], ['u', 2], 1)).toBe(0);
    expect(compareKeys(['u', 1], ['u', 2])).toBeLessThan(0);
    expect(compareKeys([0], [-0])).toBe(0);
    expect(sameGroup(['u', 1, 'x'], ['u', 1, 'y'], 2)).toBe(true);
    expect(sameGroup(['u', 1], ['u'], 2)).toBe(false);
  });

  it('hashes keys stably (the values are part of the on-disk contract between runners)', () => {
    expect([hashKey(['a']), hashKey([17]), hashKey(['17']), hashKey(['u1', 5]), hashKey(['😀', -2.5]), hashKey([])]).toEqual([
      929656556, 3175608400, 334331001, 951652983, 964263941, 2166136261,
    ]);
    expect(hashKey([-0])).toBe(hashKey([0]));
    expect(hashKey(['u1', 5], 1)).toBe(hashKey(['u1']));
  });

  it('partitions on the first partitionFields parts only, evenly enough', () => {
    const shuffle = resolveShuffle({ partitionFields: 1, groupFields: 2, reducers: 4 });
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const p = partitionOf([`user-${i}`, i % 7], shuffle);
      expect(p).toBe(partitionOf([`user-${i}`, 99], shuffle));
      counts[p]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(850);
    expect(partitionOf(['x'], resolveShuffle({}))).toBe(0);
  });

  it('defaults: group on all parts, partition on the group parts, one reducer', () => {
    expect(resolveShuffle(undefined)).toEqual({ groupFields: Infinity, partitionFields: Infinity, reducers: 1 });
    expect(resolveShuffle({ groupFields: 2 })).toEqual({ groupFields: 2, partitionFields: 2, reducers: 1 });
  });
});

describe('sort keys', () => {
  it('order as compareKeys does and decode back: numbers (negative, -0, fractions, huge) before strings, escapes, surrogates, prefixes', () => {
    const rnd = seededRandom(7);
    const parts: KeyPart[] = [
      0, -0, 1, -1, 0.5, -0.5, 1e300, -1e300, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, -Number.MIN_VALUE, 42, 1e-300,
      '', 'a', 'ab', 'a\u0000', 'a\u0000b', 'a\u0001', 'a\u0002', '\u0000', '\u0001', '\u0002', 'Z', '😀', '｡', '\ud83d', '\ude00', 'é',
    ];
    const keys: Key[] = [];
    for (let i = 0; i < 3000; i++) {
      const n = rnd.int(4);
      keys.push(Array.from({ length: n }, () => parts[rnd.int(parts.length)]!));
    }
    const bytes = (k: Key): Buffer => {
      const b = Buffer.alloc(sortKeyBound(k));
      return b.subarray(0, writeSortKey(k, b, 0));
    };
    for (let i = 0; i < 20_000; i++) {
      const a = keys[rnd.int(keys.length)]!;
      const b = keys[rnd.int(keys.length)]!;
      const [ka, kb] = [bytes(a), bytes(b)];
      expect(Math.sign(compareSortKeys(ka, 0, ka.length, kb, 0, kb.length)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(Math.sign(compareKeys(a, b)));
      // memcmp order (what a native or on-disk sort would use) is the same order.
      expect(Math.sign(Buffer.compare(ka, kb))).toBe(Math.sign(compareKeys(a, b)));
    }
    // Sort keys decode to their keys (-0 to 0, which compareKeys holds equal).
    for (const k of keys) {
      const b = bytes(k);
      expect(readSortKey(b, 0, b.length)).toEqual(k.map((p) => (p === 0 ? 0 : p)));
    }
  });
});
