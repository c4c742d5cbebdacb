/**
 * Checks records a reducer writes against the step's output schema, at `ctx.write`, so a wrong field
 * fails the one reduce call that wrote it (counted as a bad record with its key) instead of the whole
 * Parquet write later, and a typo'd field name is caught rather than silently dropped.
 */
import type { FieldSpec, RecordSchema, Row } from '../storage/index.ts';
import { kindOf } from './shippable.ts';

/** A compiled checker: returns a fresh row holding exactly the schema's fields. */
export type OutputRecordCheck = (record: unknown) => Row;

/** Builds the checker of an output schema. */
export function outputRecordCheck(schema: RecordSchema, where: string): OutputRecordCheck {
  const fields = schema.fields;
  const names = new Set(fields.map((f) => f.name));
  const build = rowBuilder(fields, where);
  return (record: unknown): Row => {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new TypeError(`${where}: an output record is an object with the output schema's fields, got ${kindOf(record)}`);
    }
    const r = record as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!names.has(k) && r[k] !== undefined) {
        throw new TypeError(`${where}: field "${k}" is not in the output schema (${fields.map((f) => f.name).join(', ')})`);
      }
    }
    return build(r);
  };
}

/**
 * Makes the checked row as one object literal compiled per schema (keys as JSON string literals, computed so
 * a `__proto__` field stays a field): every row of a step then has one shape, made in one step, where a loop
 * of keyed stores costs several times more per row.
 */
function rowBuilder(fields: readonly FieldSpec[], where: string): (r: Record<string, unknown>) => Row {
  const props = fields.map((f, i) => `[${JSON.stringify(f.name)}]: check(fields[${i}], r[${JSON.stringify(f.name)}], where)`).join(', ');
  const make = new Function('fields', 'check', 'where', `return (r) => ({ ${props} });`) as (
    fields: readonly FieldSpec[],
    check: typeof checkField,
    where: string,
  ) => (r: Record<string, unknown>) => Row;
  return make(fields, checkField, where);
}

function checkField(f: FieldSpec, v: unknown, where: string): Row[string] {
  if (v === null || v === undefined) {
    if (f.nullable) return null;
    throw new TypeError(`${where}: field "${f.name}" (${f.type}) is ${v === null ? 'null' : 'missing'} but the output schema says it is required`);
  }
  // No closure per call here: this runs for every field of every row written.
  switch (f.type) {
    case 'string':
      return typeof v === 'string' ? v : badField(f, v, where);
    case 'int32':
      return typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? v : badField(f, v, where);
    case 'int64':
    case 'timestamp_ms':
      return typeof v === 'number' && Number.isSafeInteger(v) ? v : badField(f, v, where);
    case 'float64':
      return typeof v === 'number' ? v : badField(f, v, where);
    case 'bool':
      return typeof v === 'boolean' ? v : badField(f, v, where);
    case 'list<string>': {
      if (!Array.isArray(v)) return badField(f, v, where);
      for (const x of v) if (typeof x !== 'string') throw new TypeError(`${where}: field "${f.name}" holds ${kindOf(x)}; expected strings only`);
      return [...(v as string[])];
    }
    case 'list<int32>': {
      if (v instanceof Int32Array) return v.slice();
      if (!Array.isArray(v)) return badField(f, v, where);
      for (const x of v) {
        if (typeof x !== 'number' || !Number.isInteger(x) || x < -2147483648 || x > 2147483647) {
          throw new TypeError(`${where}: field "${f.name}" holds ${kindOf(x)}; expected int32 values only`);
        }
      }
      return Int32Array.from(v as number[]);
    }
  }
}

function badField(f: FieldSpec, v: unknown, where: string): never {
  throw new TypeError(`${where}: field "${f.name}" is ${kindOf(v)}, expected ${f.type}`);
}
