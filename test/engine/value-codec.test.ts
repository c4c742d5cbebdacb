import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../udfs/index.ts';
import { copyValue } from '../../engine/shippable.ts';
import { ByteOut, decodeValue, encodeValue } from '../../engine/value-codec.ts';

function roundTrip(v: unknown): unknown {
  const out = new ByteOut(4);
  out.pos = 3; // encode at an offset, as a pair buffer does after the key
  expect(encodeValue(out, v)).toBe(true);
  return decodeValue(out.buf, 3, out.pos);
}

/** What a JSON round trip gives, with own `__proto__` keys as JSON.parse makes them. */
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('value codec', () => {
  it('decodes what a JSON round trip gives on edge values', () => {
    const cases: unknown[] = [
      null, true, false, 0, -0, 1, -1, 2147483647, -2147483648, 2147483648, -2147483649, 0.1, -1.5e-300, 1.7976931348623157e308,
      Number.MAX_SAFE_INTEGER, 1795392000000, '', 'a', 'x'.repeat(47), 'y'.repeat(48), 'z'.repeat(49), 'é', 'ü'.repeat(100), '😀', 'a\u0000b',
      '\ud800', 'x\udc00y'.repeat(30), [], [1, [2, [3, []]]], {}, { a: 1, b: undefined, c: 'x' }, { 'é': 1, '\ud800': 2, '': 3 },
      JSON.parse('{"__proto__": {"x": 1}, "y": 2}'), Object.assign(Object.create(null), { n: 1 }), { s: Array.from({ length: 300 }, (_, i) => i) },
      'k'.repeat(70_000), { ['long key '.repeat(20)]: [null, true] },
      [-2147483648, 2147483647, -1, -0, 0.5, 2147483648, -2147483649, 'x', null, [7, -7]],
    ];
    for (const v of cases) {
      const back = roundTrip(v);
      expect(back).toStrictEqual(viaJson(v));
      expect(JSON.stringify(back)).toBe(JSON.stringify(v));
    }
    // -0 becomes 0, as JSON makes it.
    expect(Object.is(roundTrip(-0), 0)).toBe(true);
    // __proto__ stays an own property, not the prototype.
    const p = roundTrip(JSON.parse('{"__proto__": {"x": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
    expect(Object.keys(p)).toEqual(['__proto__']);
  });

  it('decodes what a JSON round trip gives on random values of many shapes', () => {
    const rnd = seededRandom(7);
    const str = (): string => {
      const n = rnd.int(12);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode([0x61 + rnd.int(26), rnd.int(0x10000), 0xd800 + rnd.int(0x800), 0x80 + rnd.int(0x780)][rnd.int(4)]!);
      return s;
    };
    const value = (depth: number): unknown => {
      switch (rnd.int(depth > 3 ? 5 : 7)) {
        case 0: return null;
        case 1: return rnd.int(2) === 0;
        case 2: return rnd.int(2) === 0 ? rnd.int(1 << 30) - (1 << 29) : (rnd.int(1e9) - 5e8) / 7;
        case 3: return str();
        case 4: return rnd.int(1e15) * 1000;
        case 5: return Array.from({ length: rnd.int(5) }, () => value(depth + 1));
        default: {
          const o: Record<string, unknown> = {};
          for (let i = rnd.int(5); i > 0; i--) o[['a', 'b', 'c', str()][rnd.int(4)]!] = value(depth + 1);
          return o;
        }
      }
    };
    for (let i = 0; i < 3000; i++) {
      const v = value(0);
      expect(roundTrip(v)).toStrictEqual(viaJson(v));
    }
  });

  it('refuses exactly the values the shipping check refuses, leaving the output as it was', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = [deep];
    let ok: unknown = 1;
    for (let i = 0; i < 63; i++) ok = { x: ok };
    const cases: unknown[] = [NaN, Infinity, -Infinity, undefined, () => 1, Symbol('s'), 10n, new Date(0), new Int32Array(2), new Map(), [1, undefined], [1, , 3], { a: { b: [NaN] } }, deep, ok, { d: new Date(0) }, 'fine', { u: undefined }];
    for (const v of cases) {
      let shippable = true;
      try {
        copyValue(v, 'test');
      } catch {
        shippable = false;
      }
      const out = new ByteOut(16);
      out.pos = 5;
      expect(encodeValue(out, v), String(v)).toBe(shippable);
      if (!shippable) expect(out.pos).toBe(5);
    }
  });

  it('names a corrupt encoding', () => {
    expect(() => decodeValue(Buffer.from([42]), 0, 1)).toThrow(/unknown tag 42/);
    const out = new ByteOut();
    encodeValue(out, 5);
    expect(() => decodeValue(Buffer.concat([out.buf.subarray(0, out.pos), Buffer.from([0])]), 0, out.pos + 1)).toThrow(/1 bytes left over/);
  });
});
