/**
 * Where `ctx.write` puts a reducer's records: straight into the output schema's columns, checked field by field
 * on the way in, so a wrong field fails the one reduce call that wrote it (a bad record with its key) instead of
 * the whole Parquet write later, and a typo'd field name is caught rather than silently dropped. No row object is
 * made or kept: the columns are the write batch.
 */
import { allocateColumn, type ColumnBatch, type ColumnValues, type FieldSpec, type RecordSchema } from '../storage/index.ts';
import { kindOf } from './shippable.ts';

/** The compiled store of one record at row `i`: checks every field and writes it into the columns. */
type StoreRecord = (cols: ColumnValues[], valid: Uint8Array[], i: number, r: unknown) => void;

/** A reducer's output rows as growing columns of one schema. */
export class OutputColumns {
  /** Rows stored. */
  rows = 0;
  private cols: ColumnValues[] = [];
  private valid: Uint8Array[] = [];
  private capacity = 0;
  private readonly store: StoreRecord;

  constructor(
    private readonly schema: RecordSchema,
    where: string,
    private readonly initialCapacity = 1024,
  ) {
    this.store = compileStore(schema.fields, where);
    this.allocate(initialCapacity);
  }

  /** Checks `record` against the schema and appends it; throws a TypeError naming the field, storing nothing. */
  append(record: unknown): void {
    if (this.rows === this.capacity) this.grow();
    this.store(this.cols, this.valid, this.rows, record);
    this.rows++;
  }

  /** Drops the rows from `rows` on (a reduce call that threw). */
  truncate(rows: number): void {
    this.rows = Math.min(this.rows, rows);
  }

  /** Hands over the rows stored so far as a batch and starts empty. */
  take(): ColumnBatch {
    const n = this.rows;
    const columns: Record<string, ColumnValues> = {};
    const valid: Record<string, Uint8Array> = {};
    let anyValid = false;
    this.schema.fields.forEach((f, k) => {
      const c = this.cols[k]!;
      if (Array.isArray(c)) {
        c.length = n;
        columns[f.name] = c;
      } else {
        columns[f.name] = c.subarray(0, n) as ColumnValues;
      }
      if (nullableNumeric(f)) {
        valid[f.name] = this.valid[k]!.subarray(0, n);
        anyValid = true;
      }
    });
    this.rows = 0;
    // The next batch is likely as large as this one: start there rather than grow through the doublings again.
    this.allocate(Math.max(this.initialCapacity, n));
    return anyValid ? { numRows: n, columns, valid } : { numRows: n, columns };
  }

  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.cols = this.schema.fields.map((f) => allocateColumn(f.type, capacity));
    this.valid = this.schema.fields.map((f) => new Uint8Array(nullableNumeric(f) ? capacity : 0));
  }

  /** Doubles the columns (one reduce call may write any number of rows). */
  private grow(): void {
    const capacity = this.capacity * 2;
    this.cols = this.cols.map((c, k) => {
      if (Array.isArray(c)) {
        c.length = capacity;
        return c;
      }
      const bigger = allocateColumn(this.schema.fields[k]!.type, capacity) as Int32Array | Float64Array | Uint8Array;
      bigger.set(c as Int32Array & Float64Array & Uint8Array);
      return bigger;
    });
    this.valid = this.valid.map((v) => {
      if (v.length === 0) return v;
      const bigger = new Uint8Array(capacity);
      bigger.set(v);
      return bigger;
    });
    this.capacity = capacity;
  }
}

function nullableNumeric(f: FieldSpec): boolean {
  return f.nullable === true && !(f.type === 'string' || f.type.startsWith('list<'));
}

/**
 * Compiles the store of one schema. Names go in as JSON string literals so each field read has its own fast
 * access site (a loop over `r[f.name]` makes V8 fall back to a slow generic lookup), and the unknown-field check
 * is a `switch` over the names rather than a Set lookup per key.
 */
function compileStore(fields: readonly FieldSpec[], where: string): StoreRecord {
  const lit = (s: string): string => JSON.stringify(s);
  const lines: string[] = [
    `if (typeof r !== 'object' || r === null || Array.isArray(r)) notRecord(r);`,
    `for (const k in r) { switch (k) { ${fields.map((f) => `case ${lit(f.name)}:`).join(' ')} break; default: if (r[k] !== undefined) unknownField(k); } }`,
    // Every field is checked before any is stored, so a record that fails leaves nothing behind.
  ];
  fields.forEach((f, k) => {
    lines.push(`const x${k} = r[${lit(f.name)}];`);
    const missing = f.nullable ? '' : `missing(${k}, x${k});`;
    lines.push(`const n${k} = x${k} === undefined || x${k} === null; if (n${k}) { ${missing} } else { ${checkOf(f, k)} }`);
  });
  fields.forEach((f, k) => {
    const c = `cols[${k}]`;
    let store: string;
    switch (f.type) {
      case 'bool':
        store = `${c}[i] = x${k} ? 1 : 0;`;
        break;
      case 'list<string>':
        store = `${c}[i] = x${k}.slice();`;
        break;
      case 'list<int32>':
        // A copy: the reducer may reuse or change its array after the write.
        store = `${c}[i] = x${k} instanceof Int32Array ? x${k}.slice() : Int32Array.from(x${k});`;
        break;
      default:
        store = `${c}[i] = x${k};`;
    }
    if (nullableNumeric(f)) lines.push(`if (n${k}) valid[${k}][i] = 0; else { valid[${k}][i] = 1; ${store} }`);
    else if (f.nullable) lines.push(`${c}[i] = n${k} ? null : (${store.replace(`${c}[i] = `, '').replace(/;$/, '')});`);
    else lines.push(store);
  });
  const names = fields.map((f) => f.name).join(', ');
  const helpers = {
    notRecord: (v: unknown): never => {
      throw new TypeError(`${where}: an output record is an object with the output schema's fields, got ${kindOf(v)}`);
    },
    unknownField: (k: string): never => {
      throw new TypeError(`${where}: field "${k}" is not in the output schema (${names})`);
    },
    missing: (k: number, v: unknown): never => {
      const f = fields[k]!;
      throw new TypeError(`${where}: field "${f.name}" (${f.type}) is ${v === null ? 'null' : 'missing'} but the output schema says it is required`);
    },
    bad: (k: number, v: unknown): never => {
      const f = fields[k]!;
      throw new TypeError(`${where}: field "${f.name}" is ${kindOf(v)}, expected ${f.type}`);
    },
    badItem: (k: number, v: unknown): never => {
      const f = fields[k]!;
      throw new TypeError(`${where}: field "${f.name}" holds ${kindOf(v)}; expected ${f.type === 'list<string>' ? 'strings' : 'int32 values'} only`);
    },
  };
  const make = new Function(...Object.keys(helpers), `return function storeRecord(cols, valid, i, r) {\n${lines.join('\n')}\n};`);
  return make(...Object.values(helpers)) as StoreRecord;
}

/** The check of one present field value `x<k>` (it throws through `bad` or `badItem`). */
function checkOf(f: FieldSpec, k: number): string {
  const x = `x${k}`;
  switch (f.type) {
    case 'string':
      return `if (typeof ${x} !== 'string') bad(${k}, ${x});`;
    case 'int32':
      return `if (typeof ${x} !== 'number' || (${x} | 0) !== ${x}) bad(${k}, ${x});`;
    case 'int64':
    case 'timestamp_ms':
      return `if (typeof ${x} !== 'number' || !Number.isSafeInteger(${x})) bad(${k}, ${x});`;
    case 'float64':
      return `if (typeof ${x} !== 'number') bad(${k}, ${x});`;
    case 'bool':
      return `if (typeof ${x} !== 'boolean') bad(${k}, ${x});`;
    case 'list<string>':
      return `if (!Array.isArray(${x})) bad(${k}, ${x}); for (let j = 0; j < ${x}.length; j++) if (typeof ${x}[j] !== 'string') badItem(${k}, ${x}[j]);`;
    case 'list<int32>':
      return (
        `if (!(${x} instanceof Int32Array)) { if (!Array.isArray(${x})) bad(${k}, ${x}); ` +
        `for (let j = 0; j < ${x}.length; j++) { const e = ${x}[j]; if (typeof e !== 'number' || (e | 0) !== e) badItem(${k}, e); } }`
      );
  }
}
