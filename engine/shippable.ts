/**
 * Keys and values that can cross a process boundary. Map output travels through the shuffle: in the inline
 * runner it stays in memory, in the local and cluster runners it is serialised. Checking (and copying) it at
 * `emit` in every runner means a job that runs inline also runs on workers: no Int32Array that arrives as an
 * object, no value mutated after it was emitted.
 */
import type { Key } from './key-order.ts';

const MAX_DEPTH = 64;

/** Checks a key is an array of strings and finite numbers; returns a copy. */
export function checkKey(key: unknown, where: string): Key {
  if (!Array.isArray(key)) {
    throw new TypeError(
      `${where}: a key is an array of strings and numbers (a tuple such as [word] or [userId, 0]), got ${kindOf(key)}`,
    );
  }
  const out = new Array<string | number>(key.length);
  for (let i = 0; i < key.length; i++) {
    const p: unknown = key[i];
    if (typeof p === 'string') out[i] = p;
    else if (typeof p === 'number' && Number.isFinite(p)) out[i] = p;
    else throw new TypeError(`${where}: key part ${i} is ${kindOf(p)}; key parts are strings or finite numbers`);
  }
  return out;
}

/** True when `key` is a valid key: for runners that encode a key at once and need no copy (`checkKey` names what is wrong). */
export function isKey(key: unknown): key is Key {
  if (!Array.isArray(key)) return false;
  for (let i = 0; i < key.length; i++) {
    const p: unknown = key[i];
    if (typeof p !== 'string' && !(typeof p === 'number' && Number.isFinite(p))) return false;
  }
  return true;
}

/**
 * Throws the TypeError `copyValue` throws for `value`, naming the rule it breaks and where: for runners whose
 * own walk (an encoder) found the value unshippable.
 */
export function throwUnshippable(value: unknown, where: string): never {
  copy(value, where, 'value', 0);
  throw new TypeError(`${where}: value is not shippable (${kindOf(value)}); ${ALLOWED}`);
}

/**
 * Checks a value is JSON-like (plain objects, arrays, strings, finite numbers, booleans, null) and returns
 * a deep copy; `undefined` object properties are dropped, as JSON would drop them.
 */
export function copyValue(value: unknown, where: string): unknown {
  const out = fastCopy(value, 0);
  // Only a value that breaks a rule takes the slow walk, which names where (a path string per property).
  return out === UNSHIPPABLE ? copy(value, where, 'value', 0) : out;
}

const UNSHIPPABLE: unique symbol = Symbol('unshippable');

/** `copy` without paths or messages: the copy, or UNSHIPPABLE when any rule is broken. */
function fastCopy(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : UNSHIPPABLE;
    case 'object':
      break;
    default:
      return UNSHIPPABLE;
  }
  if (v === null) return null;
  if (depth >= MAX_DEPTH) return UNSHIPPABLE;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i] === undefined ? UNSHIPPABLE : fastCopy(v[i], depth + 1);
      if (x === UNSHIPPABLE) return UNSHIPPABLE;
      out[i] = x;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return UNSHIPPABLE;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined) continue;
    const c = fastCopy(x, depth + 1);
    if (c === UNSHIPPABLE) return UNSHIPPABLE;
    out[k] = c;
  }
  return out;
}

function copy(v: unknown, where: string, path: string, depth: number): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (Number.isFinite(v)) return v;
      throw new TypeError(`${where}: ${path} is ${v}; values carry finite numbers only (JSON has no NaN or Infinity)`);
    case 'object':
      break;
    default:
      throw new TypeError(`${where}: ${path} is ${kindOf(v)}; ${ALLOWED}`);
  }
  if (v === null) return null;
  if (depth >= MAX_DEPTH) throw new TypeError(`${where}: ${path} is nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      if (v[i] === undefined) throw new TypeError(`${where}: ${path}[${i}] is undefined; use null`);
      out[i] = copy(v[i], where, `${path}[${i}]`, depth + 1);
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const hint = ArrayBuffer.isView(v) ? ' (convert typed arrays with Array.from)' : v instanceof Date ? ' (use getTime())' : '';
    throw new TypeError(`${where}: ${path} is ${kindOf(v)}${hint}; ${ALLOWED}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    out[k] = copy(x, where, `${path}.${k}`, depth + 1);
  }
  return out;
}

const ALLOWED = 'values are plain objects, arrays, strings, finite numbers, booleans or null, so any runner can ship them';

/** A short description of a value's kind for error messages. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') {
    const name = (v as object).constructor?.name;
    return name && name !== 'Object' ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object';
  }
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v)}`;
  return `${typeof v === 'function' ? 'a function' : `${typeof v} ${String(v)}`}`;
}
