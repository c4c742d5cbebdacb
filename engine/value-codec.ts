/**
 * The local runner's byte encoding of shuffle values: a compact tagged binary form that checks a value is
 * shippable (the rules of `shippable.ts`) in the same walk that writes it, so `emit` neither copies the
 * value nor builds a JSON string, and decodes faster than `JSON.parse` of UTF-8 text. A decoded value equals
 * what a JSON round trip gives: plain objects (keys in order, `undefined` properties dropped, `__proto__` an
 * own property), arrays, strings (lone surrogates kept), numbers (-0 becomes 0), booleans and null.
 *
 * Objects carry their key list ("shape") inline; the decoder keeps the shapes it has met, so a shape's key
 * strings are made once per thread, not once per object.
 */

const NULL = 0;
const FALSE = 1;
const TRUE = 2;
const INT32 = 3;
const FLOAT64 = 4;
/** Bytes below 0x80 only: decoded as Latin-1, the cheapest slice. */
const ASCII = 5;
const UTF8 = 6;
/** A string with lone surrogates, which UTF-8 cannot carry: its UTF-16 code units. */
const UTF16 = 7;
const ARRAY = 8;
const OBJECT = 9;

const MAX_DEPTH = 64;
/** Strings up to this length are written by a JS loop when ASCII; longer ones by Buffer#write. */
const SHORT_STRING = 48;

/** A growable output buffer. */
export class ByteOut {
  buf: Buffer;
  pos = 0;

  constructor(size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Makes room for `n` more bytes. */
  room(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(this.pos + n);
  }

  private grow(need: number): void {
    let size = this.buf.length;
    while (size < need) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }
}

/**
 * Appends `value`'s encoding to `out`; false (with `out.pos` unchanged) when the value breaks a shipping rule,
 * for the caller to name the rule with `shippable.ts`.
 */
export function encodeValue(out: ByteOut, value: unknown): boolean {
  const start = out.pos;
  if (writeValue(out, value, 0)) return true;
  out.pos = start;
  return false;
}

function writeValue(out: ByteOut, v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
      writeString(out, v);
      return true;
    case 'number':
      if ((v | 0) === v) {
        out.room(5);
        writeInt32(out.buf, out.pos, v);
        out.pos += 5;
        return true;
      }
      if (!Number.isFinite(v)) return false;
      out.room(9);
      out.buf[out.pos] = FLOAT64;
      out.buf.writeDoubleLE(v, out.pos + 1);
      out.pos += 9;
      return true;
    case 'boolean':
      out.room(1);
      out.buf[out.pos++] = v ? TRUE : FALSE;
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) {
    out.room(1);
    out.buf[out.pos++] = NULL;
    return true;
  }
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(v)) {
    const n = v.length;
    out.room(6);
    out.buf[out.pos++] = ARRAY;
    writeVarint(out, n);
    for (let i = 0; i < n; i++) {
      const x: unknown = v[i];
      // Whole numbers inline: lists of ids (segment lists) are the common array, and a call per element cost more
      // than the element.
      if (typeof x === 'number' && (x | 0) === x) {
        out.room(5);
        writeInt32(out.buf, out.pos, x);
        out.pos += 5;
      } else if (x === undefined || !writeValue(out, x, depth + 1)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  let n = 0;
  for (let i = 0; i < keys.length; i++) if (o[keys[i]!] !== undefined) n++;
  // The shape (key count and keys) is one length-prefixed stretch, so the decoder can look it up as bytes.
  out.room(11);
  out.buf[out.pos++] = OBJECT;
  const lengthAt = out.pos;
  out.pos += 4;
  writeVarint(out, n);
  for (let i = 0; i < keys.length; i++) if (o[keys[i]!] !== undefined) writeString(out, keys[i]!);
  out.buf.writeUInt32LE(out.pos - lengthAt - 4, lengthAt);
  for (let i = 0; i < keys.length; i++) {
    const x = o[keys[i]!];
    if (x !== undefined && !writeValue(out, x, depth + 1)) return false;
  }
  return true;
}

/** A tagged int32 at `buf[at, at + 5)`, little-endian (Buffer#writeInt32LE checks its arguments on every call). */
function writeInt32(buf: Buffer, at: number, v: number): void {
  buf[at] = INT32;
  buf[at + 1] = v;
  buf[at + 2] = v >> 8;
  buf[at + 3] = v >> 16;
  buf[at + 4] = v >> 24;
}

function writeString(out: ByteOut, s: string): void {
  const n = s.length;
  if (n <= SHORT_STRING) {
    out.room(2 + n);
    const buf = out.buf;
    let at = out.pos + 2;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at++] = c;
    }
    if (i === n) {
      buf[out.pos] = ASCII;
      buf[out.pos + 1] = n;
      out.pos = at;
      return;
    }
  }
  if (!isWellFormed(s)) {
    out.room(6 + 2 * n);
    out.buf[out.pos++] = UTF16;
    writeVarint(out, n);
    out.pos += out.buf.write(s, out.pos, 'utf16le');
    return;
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  out.room(6 + bytes);
  out.buf[out.pos++] = bytes === n ? ASCII : UTF8;
  writeVarint(out, bytes);
  out.pos += out.buf.write(s, out.pos, 'utf8');
}

/** `String#isWellFormed` (Node 20 has it; the ES2023 typings do not). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function writeVarint(out: ByteOut, n: number): void {
  out.room(5);
  const buf = out.buf;
  while (n >= 0x80) {
    buf[out.pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[out.pos++] = n;
}

// The decoder's cursor: module state, as decoding is synchronous and re-entrant calls do not occur.
let src: Buffer = Buffer.alloc(0);
let at = 0;

/** Decodes the value encoded at `buf[start, end)`. */
export function decodeValue(buf: Buffer, start: number, end: number): unknown {
  src = buf;
  at = start;
  const v = readValue();
  if (at !== end) throw new Error(`shuffle value encoding: ${end - at} bytes left over at offset ${at} (a corrupt run file?)`);
  return v;
}

function readValue(): unknown {
  const tag = src[at++];
  switch (tag) {
    case NULL:
      return null;
    case FALSE:
      return false;
    case TRUE:
      return true;
    case INT32: {
      const v = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24);
      at += 4;
      return v;
    }
    case FLOAT64: {
      const v = src.readDoubleLE(at);
      at += 8;
      return v;
    }
    case ASCII:
    case UTF8:
    case UTF16:
      return readString(tag);
    case ARRAY: {
      const n = readVarint();
      const a = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        if (src[at] === INT32) {
          a[i] = src[at + 1]! | (src[at + 2]! << 8) | (src[at + 3]! << 16) | (src[at + 4]! << 24);
          at += 5;
        } else a[i] = readValue();
      }
      return a;
    }
    case OBJECT:
      return readShape().build(readValue);
    default:
      throw new Error(`shuffle value encoding: unknown tag ${String(tag)} at offset ${at - 1} (a corrupt run file?)`);
  }
}

function readString(tag: number): string {
  const n = readVarint();
  const from = at;
  if (tag === UTF16) {
    at += 2 * n;
    return src.toString('utf16le', from, at);
  }
  at += n;
  return src.toString(tag === ASCII ? 'latin1' : 'utf8', from, at);
}

function readVarint(): number {
  let n = 0;
  let shift = 0;
  for (;;) {
    const b = src[at++]!;
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return n;
    shift += 7;
  }
}

interface Shape {
  readonly bytes: Buffer;
  /** Makes the object, reading its values in key order. */
  readonly build: (read: () => unknown) => Record<string, unknown>;
}

/**
 * The builder of a shape's objects: an object literal compiled once per shape, so every object of a shape is
 * made in one step with V8's fast literal path (a loop of keyed stores costs several times more). Keys are
 * JSON string literals, computed (`["__proto__"]`) so that key is an own property, as JSON.parse makes it.
 */
function compileBuilder(keys: readonly string[]): Shape['build'] {
  if (new Set(keys).size !== keys.length || keys.length > 200) {
    return (read) => {
      const o: Record<string, unknown> = {};
      for (const k of keys) Object.defineProperty(o, k, { value: read(), enumerable: true, writable: true, configurable: true });
      return o;
    };
  }
  const fields = keys.map((k) => `[${JSON.stringify(k)}]: read()`).join(', ');
  return new Function('read', `return { ${fields} };`) as Shape['build'];
}

/** Shapes met so far, most recent first; a job has few. */
const shapes: Shape[] = [];
const MAX_SHAPES = 64;

function readShape(): Shape {
  const length = src.readUInt32LE(at);
  at += 4;
  const from = at;
  at += length;
  for (let s = 0; s < shapes.length; s++) {
    const shape = shapes[s]!;
    const b = shape.bytes;
    if (b.length !== length) continue;
    let i = 0;
    while (i < length && b[i] === src[from + i]) i++;
    if (i === length) return shape;
  }
  const end = at;
  at = from;
  const n = readVarint();
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(readString(src[at++]!));
  at = end;
  const shape: Shape = { bytes: Buffer.from(src.subarray(from, end)), build: compileBuilder(keys) };
  shapes.unshift(shape);
  if (shapes.length > MAX_SHAPES) shapes.pop();
  return shape;
}
