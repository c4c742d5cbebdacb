import { describe, it, expect } from 'vitest';
import { defineSchema, rowsToBatch, batchToRows, type RecordSchema, type Row } from '../../storage/index.ts';

// rowsToBatch and batchToRows run code compiled per schema; these pin what that code must keep doing.
const every = defineSchema({
  s: 'string',
  sn: { type: 'string', nullable: true },
  i: 'int32',
  in_: { type: 'int32', nullable: true },
  big: 'int64',
  f: { type: 'float64', nullable: true },
  b: 'bool',
  bn: { type: 'bool', nullable: true },
  ts: 'timestamp_ms',
  ls: { type: 'list<string>', nullable: true },
  li: { type: 'list<int32>', nullable: true },
});

const odd = ['', 'a\x1fb', '\x1e', 'naïve ☃ 𝄞', '"quoted" \\ back', 'x'.repeat(13)];

function sampleRows(): Row[] {
  return odd.map((text, k) => ({
    s: text,
    sn: k % 2 === 0 ? null : text,
    i: -(2 ** 31) + k,
    in_: k % 3 === 0 ? null : k,
    big: 2 ** 53 - 1 - k,
    f: k === 1 ? null : k / 3,
    b: k % 2 === 0,
    bn: k === 2 ? null : k % 2 === 1,
    ts: 1_795_000_000_000 + k,
    ls: k === 0 ? null : k === 1 ? [] : [text, '', text],
    li: k === 0 ? null : Int32Array.of(k, -k, 2 ** 31 - 1),
  }));
}

describe('rowsToBatch and batchToRows', () => {
  it('round-trip every field type exactly: odd strings, nulls, empty lists, extreme numbers', () => {
    const rows = sampleRows();
    const batch = rowsToBatch(every, rows);
    expect(batch.numRows).toBe(rows.length);
    expect(batch.valid && Object.keys(batch.valid).sort()).toEqual(['bn', 'f', 'in_']);
    expect(batchToRows(every, batch)).toEqual(rows);
  });

  it('every row read back has the schema field order and one object shape', () => {
    const back = batchToRows(every, rowsToBatch(every, sampleRows()));
    for (const r of back) expect(Object.keys(r)).toEqual(every.fields.map((f) => f.name));
  });

  it('a missing or null required value names the row and field', () => {
    const rows = sampleRows();
    delete (rows[3] as Record<string, unknown>).i;
    expect(() => rowsToBatch(every, rows)).toThrow(/row 3: field "i" is null but the schema says it is required/);
    const rows2 = sampleRows();
    rows2[4]!.s = null;
    expect(() => rowsToBatch(every, rows2)).toThrow(/row 4: field "s" is null/);
  });

  it('a non-string in a string field is an error naming the row and field (it would be written as empty)', () => {
    const rows = sampleRows();
    rows[2]!.sn = 42;
    expect(() => rowsToBatch(every, rows)).toThrow(/row 2: field "sn" is a number \(42\); the schema says string/);
  });

  it('list<int32> takes an Int32Array as it is and copies a plain number array', () => {
    const schema = defineSchema({ li: 'list<int32>' });
    const typed = Int32Array.of(1, 2, 3);
    const batch = rowsToBatch(schema, [{ li: typed }, { li: [4, 5] as unknown as Int32Array }]);
    const col = batch.columns.li as Int32Array[];
    expect(col[0]).toBe(typed);
    expect(col[1]).toBeInstanceOf(Int32Array);
    expect(Array.from(col[1]!)).toEqual([4, 5]);
  });

  it('field names that are special in JS (from a marker, not defineSchema) stay plain own properties', () => {
    const schema: RecordSchema = {
      fields: [
        { name: '__proto__', type: 'string' },
        { name: 'constructor', type: 'int32' },
        { name: 'with "quotes" and \\', type: 'string' },
        { name: 'line\u2028sep', type: 'int32' },
      ],
    };
    const rows: Row[] = [Object.fromEntries([['__proto__', 'p'], ['constructor', 7], ['with "quotes" and \\', 'q'], ['line\u2028sep', 9]])];
    const batch = rowsToBatch(schema, rows);
    expect(Object.keys(batch.columns)).toEqual(schema.fields.map((f) => f.name));
    const back = batchToRows(schema, batch)[0]!;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(schema.fields.map((f) => f.name));
    expect(back['__proto__']).toBe('p');
    expect(back['constructor']).toBe(7);
    expect(back['with "quotes" and \\']).toBe('q');
    expect(back['line\u2028sep']).toBe(9);
  });

  it('equal schemas built separately convert alike, and different ones do not share code', () => {
    const a = defineSchema({ x: 'int32', y: 'string' });
    const b = defineSchema({ x: 'int32', y: 'string' });
    const c = defineSchema({ x: { type: 'int32', nullable: true }, y: 'string' });
    const rows = [{ x: 1, y: 'one' }];
    expect(batchToRows(b, rowsToBatch(a, rows))).toEqual(rows);
    expect(rowsToBatch(c, [{ x: null, y: 'n' }]).valid?.x).toEqual(new Uint8Array([0]));
    expect(() => rowsToBatch(a, [{ x: null, y: 'n' }])).toThrow(/field "x" is null/);
  });

  it('zero rows make an empty batch and back', () => {
    const batch = rowsToBatch(every, []);
    expect(batch.numRows).toBe(0);
    expect(batchToRows(every, batch)).toEqual([]);
  });
});
