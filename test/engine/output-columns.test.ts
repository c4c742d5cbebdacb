import { describe, expect, it } from 'vitest';
import { batchToRows, defineSchema } from '../../storage/index.ts';
import { OutputColumns } from '../../engine/output-columns.ts';

const schema = defineSchema({
  id: 'string',
  n: 'int32',
  big: { type: 'int64', nullable: true },
  f: 'float64',
  ok: 'bool',
  at: 'timestamp_ms',
  tags: { type: 'list<string>', nullable: true },
  segs: 'list<int32>',
  note: { type: 'string', nullable: true },
});
const WHERE = 'step "s" reduce write';
const good = { id: 'a', n: 1, big: 2 ** 40, f: 0.5, ok: true, at: 1_700_000_000_000, tags: ['x'], segs: [1, 2], note: 'hi' };

describe('OutputColumns', () => {
  it('stores checked records as columns, nulls for missing nullable fields', () => {
    const out = new OutputColumns(schema, WHERE, 2);
    out.append(good);
    out.append({ ...good, id: 'b', big: null, tags: undefined, note: undefined, segs: Int32Array.from([7]), ok: false });
    const batch = out.take();
    expect(batch.numRows).toBe(2);
    expect(batch.valid?.big).toEqual(Uint8Array.from([1, 0]));
    expect(batchToRows(schema, batch)).toEqual([
      { ...good, segs: Int32Array.from([1, 2]) },
      { ...good, id: 'b', big: null, tags: null, note: null, segs: Int32Array.from([7]), ok: false },
    ]);
    expect(out.rows).toBe(0);
  });

  it('grows past its capacity and keeps every row', () => {
    const out = new OutputColumns(schema, WHERE, 4);
    for (let i = 0; i < 1000; i++) out.append({ ...good, id: `r${i}`, n: i, big: i % 3 === 0 ? null : i });
    const rows = batchToRows(schema, out.take());
    expect(rows).toHaveLength(1000);
    expect(rows[999]).toMatchObject({ id: 'r999', n: 999, big: null });
    expect(rows[998]).toMatchObject({ id: 'r998', n: 998, big: 998 });
  });

  it('copies lists, so a reducer reusing its array does not change written rows', () => {
    const out = new OutputColumns(schema, WHERE);
    const segs = Int32Array.from([1, 2]);
    const tags = ['a'];
    out.append({ ...good, segs, tags });
    segs[0] = 99;
    tags[0] = 'changed';
    const [row] = batchToRows(schema, out.take());
    expect(row!.segs).toEqual(Int32Array.from([1, 2]));
    expect(row!.tags).toEqual(['a']);
  });

  it.each([
    [{ ...good, extra: 1 }, 'field "extra" is not in the output schema (id, n, big, f, ok, at, tags, segs, note)'],
    [{ ...good, id: undefined }, 'field "id" (string) is missing but the output schema says it is required'],
    [{ ...good, n: null }, 'field "n" (int32) is null but the output schema says it is required'],
    [{ ...good, n: 2 ** 31 }, 'field "n" is number 2147483648, expected int32'],
    [{ ...good, n: 1.5 }, 'field "n" is number 1.5, expected int32'],
    [{ ...good, big: 2 ** 60 }, 'field "big" is number 1152921504606847000, expected int64'],
    [{ ...good, at: '2026-01-01' }, 'field "at" is a string "2026-01-01", expected timestamp_ms'],
    [{ ...good, ok: 1 }, 'field "ok" is number 1, expected bool'],
    [{ ...good, tags: ['a', 2] }, 'field "tags" holds number 2; expected strings only'],
    [{ ...good, segs: [1, 'x'] }, 'field "segs" holds a string "x"; expected int32 values only'],
    [{ ...good, segs: 'x' }, 'field "segs" is a string "x", expected list<int32>'],
    [[1, 2], "an output record is an object with the output schema's fields, got an Array"],
    [null, "an output record is an object with the output schema's fields, got null"],
  ])('refuses %j, naming the field, and stores nothing', (record, message) => {
    const out = new OutputColumns(schema, WHERE);
    out.append(good);
    expect(() => out.append(record)).toThrow(`${WHERE}: ${message}`);
    expect(out.rows).toBe(1);
    out.append({ ...good, id: 'after' });
    expect(batchToRows(schema, out.take()).map((r) => r.id)).toEqual(['a', 'after']);
  });

  it('drops the rows of a call that threw with truncate', () => {
    const out = new OutputColumns(schema, WHERE);
    out.append(good);
    const mark = out.rows;
    out.append({ ...good, id: 'dropped' });
    out.truncate(mark);
    out.append({ ...good, id: 'kept' });
    expect(batchToRows(schema, out.take()).map((r) => r.id)).toEqual(['a', 'kept']);
  });

  it('accepts a field named __proto__ like any other', () => {
    const odd = defineSchema({ ['__proto__']: 'string' });
    const out = new OutputColumns(odd, WHERE);
    const record = JSON.parse('{"__proto__": "v"}') as Record<string, unknown>;
    out.append(record);
    expect(out.take().columns['__proto__']).toEqual(['v']);
  });
});
