/**
 * The streaming protocol of docs/cluster.md, as Hadoop Streaming and Spark/Hive `TRANSFORM` speak it: one
 * record a line, tab-separated fields with Hive's LazySimpleSerDe escaping (`\\`, `\<TAB>`, `\n`, `\r`), `\N`
 * for null, and keys encoded as text whose byte order is the job's sort order (key-order.ts).
 */
import type { FieldSpec, RecordSchema, Row } from '../storage/index.ts';
import type { Key, KeyPart } from './key-order.ts';

/** The null field. */
export const NULL_FIELD = '\\N';
/** First field of a line that carries a bad record (map output and reducer output). */
export const BAD_TAG = 'bad';
/** First field of a reducer output line that carries an output record. */
export const RECORD_TAG = 'r';

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** Escapes one field's text (Hive LazySimpleSerDe with escape.delim '\' and serialization.escape.crlf). */
export function escapeField(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x09) out += '\\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else out += text[i];
  }
  return out;
}

/** Undoes `escapeField`: `\n` and `\r` are line breaks, a backslash before any other character keeps that character. */
export function unescapeField(text: string): string {
  if (text.indexOf('\\') < 0) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\' || i === text.length - 1) {
      out += ch;
      continue;
    }
    const next = text[++i]!;
    out += next === 'n' ? '\n' : next === 'r' ? '\r' : next;
  }
  return out;
}

/** Splits a line into its still-escaped fields at tabs that are not escaped. */
export function splitFields(line: string): string[] {
  if (line.indexOf('\\') < 0) return line.split('\t');
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x09) {
      fields.push(line.slice(start, i));
      start = i + 1;
    }
  }
  fields.push(line.slice(start));
  return fields;
}

// ---- keys ----

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;
const NUMBER_TAG = '#';
const STRING_TAG = '$';
const STRING_END = '\x01';
const LOW_ESCAPE = '\x02';
/** Strings made only of these code units are encoded as they are (the common case: ids, names). */
const PLAIN = /^[\x20-\uD7FF]*$/;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** A number's order-preserving IEEE-754 bits as 16 hex digits (-0 is 0, as compareKeys has it). */
function numberText(n: number): string {
  F64[0] = n === 0 ? 0 : n;
  let hi = U32[HI]!;
  let lo = U32[LO]!;
  if (hi & 0x80000000) {
    hi = ~hi;
    lo = ~lo;
  } else {
    hi = hi | 0x80000000;
  }
  return hex8(hi) + hex8(lo);
}

function numberOf(text: string, at: number, where: string): number {
  const hiText = text.slice(at, at + 8);
  const loText = text.slice(at + 8, at + 16);
  if (!/^[0-9a-f]{8}$/.test(hiText) || !/^[0-9a-f]{8}$/.test(loText)) throw new Error(`${where}: a number key part needs 16 hex digits at offset ${at}`);
  let hi = parseInt(hiText, 16);
  let lo = parseInt(loText, 16);
  if (hi & 0x80000000) hi = hi & 0x7fffffff;
  else {
    hi = ~hi;
    lo = ~lo;
  }
  U32[HI] = hi >>> 0;
  U32[LO] = lo >>> 0;
  return F64[0]!;
}

function stringText(s: string): string {
  if (PLAIN.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0x20) out += LOW_ESCAPE + String.fromCharCode(0x40 + u);
    else if (u < 0xd800) out += s[i];
    else out += String.fromCodePoint(0x10000 + (u - 0xd800));
  }
  return out;
}

/** Encodes a key as text whose UTF-8 byte order (and JavaScript string order) is the key's sort order. */
export function encodeKeyText(key: Key): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const part = key[i]!;
    out += typeof part === 'number' ? NUMBER_TAG + numberText(part) : STRING_TAG + stringText(part) + STRING_END;
  }
  return out;
}

/** Decodes `encodeKeyText`'s text back into the key; `where` names the line in errors. */
export function decodeKeyText(text: string, where = 'key'): Key {
  const parts: KeyPart[] = [];
  let i = 0;
  while (i < text.length) {
    const tag = text[i++];
    if (tag === NUMBER_TAG) {
      parts.push(numberOf(text, i, where));
      i += 16;
    } else if (tag === STRING_TAG) {
      const end = text.indexOf(STRING_END, i);
      if (end < 0) throw new Error(`${where}: a string key part has no end mark (\\x01)`);
      const raw = text.slice(i, end);
      parts.push(PLAIN.test(raw) ? raw : stringOf(raw));
      i = end + 1;
    } else {
      throw new Error(`${where}: a key part starts with ${JSON.stringify(tag)}, expected "#" (number) or "$" (string)`);
    }
  }
  return parts;
}

function stringOf(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.codePointAt(i)!;
    if (c === 0x02) out += String.fromCharCode(raw.charCodeAt(++i) - 0x40);
    else if (c >= 0x10000) {
      out += String.fromCharCode(c - 0x10000 + 0xd800);
      i++;
    } else out += raw[i];
  }
  return out;
}

/** The partition field: 5 decimal digits. */
export function partitionField(partition: number): string {
  return partition < 10000 ? String(partition + 100000).slice(1) : String(partition);
}

// ---- record fields ----

/** Turns one record value of a field into its (escaped) text. */
export type FieldEncoder = (value: unknown) => string;
/** Turns one (escaped) field text back into a record value. */
export type FieldDecoder = (text: string) => unknown;

function jsonList(v: unknown): string {
  return escapeField(JSON.stringify(v instanceof Int32Array ? Array.from(v) : v));
}

/** The encoder of a field type (docs/cluster.md "Field values"). */
export function fieldEncoder(spec: FieldSpec): FieldEncoder {
  switch (spec.type) {
    case 'string':
      return (v) => (v === null || v === undefined ? NULL_FIELD : escapeField(v as string));
    case 'int32':
    case 'int64':
    case 'float64':
    case 'timestamp_ms':
      return (v) => (v === null || v === undefined ? NULL_FIELD : String(v));
    case 'bool':
      return (v) => (v === null || v === undefined ? NULL_FIELD : v ? 'true' : 'false');
    default:
      return (v) => (v === null || v === undefined ? NULL_FIELD : jsonList(v));
  }
}

/** The decoder of a field type; `where` names the field in errors. */
export function fieldDecoder(spec: FieldSpec, where: string): FieldDecoder {
  const number = (t: string): number => {
    const n = Number(t);
    if (t === '' || !Number.isFinite(n)) throw new Error(`${where}: expected a number, got ${JSON.stringify(t.slice(0, 40))}`);
    return n;
  };
  switch (spec.type) {
    case 'string':
      return (t) => (t === NULL_FIELD ? null : unescapeField(t));
    case 'int32':
    case 'int64':
    case 'float64':
    case 'timestamp_ms':
      return (t) => (t === NULL_FIELD ? null : number(t));
    case 'bool':
      return (t) => {
        if (t === NULL_FIELD) return null;
        if (t === 'true') return true;
        if (t === 'false') return false;
        throw new Error(`${where}: expected true or false, got ${JSON.stringify(t.slice(0, 40))}`);
      };
    default: {
      const ints = spec.type === 'list<int32>';
      return (t) => {
        if (t === NULL_FIELD) return null;
        const v: unknown = JSON.parse(unescapeField(t));
        if (!Array.isArray(v)) throw new Error(`${where}: expected a JSON array`);
        return ints ? Int32Array.from(v as number[]) : v;
      };
    }
  }
}

/** Encodes rows of `fields` (in that order) as lines, with `prefix` fields before them. */
export function rowLineEncoder(schema: RecordSchema, columns: readonly string[], prefix = ''): (row: Row) => string {
  const encoders = columns.map((name) => {
    const spec = schema.fields.find((f) => f.name === name);
    if (!spec) throw new Error(`column "${name}" is not in the schema (${schema.fields.map((f) => f.name).join(', ')})`);
    return [name, fieldEncoder(spec)] as const;
  });
  return (row) => {
    let line = prefix;
    for (let i = 0; i < encoders.length; i++) {
      const [name, encode] = encoders[i]!;
      line += (i === 0 ? '' : '\t') + encode(row[name]);
    }
    return line;
  };
}

/** Decodes lines of `columns` (escaped fields, after `skip` leading fields) into rows. */
export function rowLineDecoder(schema: RecordSchema, columns: readonly string[], where: string, skip = 0): (fields: readonly string[], lineNo: number) => Row {
  const decoders = columns.map((name) => {
    const spec = schema.fields.find((f) => f.name === name);
    if (!spec) throw new Error(`column "${name}" is not in the schema (${schema.fields.map((f) => f.name).join(', ')})`);
    return [name, fieldDecoder(spec, `${where} field ${name}`)] as const;
  });
  return (fields, lineNo) => {
    if (fields.length !== decoders.length + skip) {
      throw new Error(`${where} line ${lineNo + 1}: ${fields.length - skip} fields, expected ${decoders.length} (${columns.join(', ')})`);
    }
    const row: Row = {};
    for (let i = 0; i < decoders.length; i++) {
      const [name, decode] = decoders[i]!;
      row[name] = decode(fields[i + skip]!) as Row[string];
    }
    return row;
  };
}
