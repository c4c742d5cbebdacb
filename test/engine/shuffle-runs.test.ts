import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../udfs/index.ts';
import { compareKeys, readSortKey, type Key } from '../../engine/key-order.ts';
import { PairBuffer } from '../../engine/shuffle-runs.ts';
import { decodeValue } from '../../engine/value-codec.ts';

describe('PairBuffer.drainSorted', () => {
  it('sorts as a stable compareKeys sort does, with long shared prefixes, keys that prefix others, numbers and many ties, also past the packed sort\'s limit', () => {
    const rnd = seededRandom(5);
    const prefixes = ['', 'cookie-0000000000', 'cookie-0000000001', 'x\u0000\u0001y', '😀😀', 'é'];
    const part = (): string | number => {
      switch (rnd.int(4)) {
        case 0: return [0, -0, 1, -1, 256, 2 ** 40, -(2 ** 40), 0.5][rnd.int(8)]!;
        default: return rnd.pick(prefixes) + (rnd.int(3) === 0 ? '' : String.fromCharCode(0x61 + rnd.int(3)).repeat(rnd.int(4)));
      }
    };
    // [size, packed sort limit]: the last case passes the limit, as a buffer a mapper overfilled between two checks.
    for (const [size, limit] of [[10, undefined], [40, undefined], [3000, undefined], [3000, 1000]] as const) {
      const buffer = new PairBuffer(limit);
      const pairs: { key: Key; value: number }[] = [];
      for (let i = 0; i < size; i++) {
        const key = Array.from({ length: 1 + rnd.int(3) }, part);
        pairs.push({ key, value: i });
        expect(buffer.add(key, i)).toBe(true);
      }
      const got: { key: Key; value: unknown }[] = [];
      buffer.drainSorted((data, _start, keyStart, keyEnd, end) => got.push({ key: readSortKey(data, keyStart, keyEnd), value: decodeValue(data, keyEnd, end) }));
      const expected = [...pairs].sort((a, b) => compareKeys(a.key, b.key)).map((p) => ({ key: p.key.map((x) => (x === 0 ? 0 : x)), value: p.value }));
      expect(got).toEqual(expected);
      expect(buffer.count).toBe(0);
    }
  });

  it('drops the last pairs with pop, as a map call that throws does', () => {
    const buffer = new PairBuffer();
    buffer.add(['b'], 1);
    buffer.add(['a'], 2);
    buffer.pop();
    buffer.add(['c'], 3);
    const got: unknown[] = [];
    buffer.drainSorted((data, _s, _ks, keyEnd, end) => got.push(decodeValue(data, keyEnd, end)));
    expect(got).toEqual([1, 3]);
  });
});
