/**
 * Reads a Parquet file into column batches through DuckDB.
 *
 * Crossing from DuckDB to JS one value at a time costs a native call per string (measured 0.32M rows/s).
 * Instead the query folds each run of rows into one value per column: numbers as a list (read back by one
 * memory copy), strings as one string joined by a unit separator (one native call, then `split`). A value
 * that itself contains the separator makes the count come out wrong; that group is then re-read value by
 * value, so the result is exact for any content.
 */
import { duckdb, streamChunks, withConnection, sqlIdent, sqlLiteral } from './duckdb-room.ts';
import { allocateColumn, type ColumnBatch, type ColumnValues, type FieldSpec, type FieldType, type RecordSchema } from './record-schema.ts';
import { StorageError } from './storage-error.ts';
import { sqlTypeOf } from './parquet-writer.ts';
import { literalParquetPath } from './parquet-source.ts';

/** Shared by every empty list read (frozen: a million `[]` are a million allocations the GC must copy). */
const EMPTY_LIST: readonly string[] = Object.freeze([]);
const US = '\x1f';
const RS = '\x1e';

/** Options of a Parquet read. */
export interface ParquetReadOptions {
  /** Read only these columns (in this order). */
  columns?: readonly string[];
  /** Rows per emitted batch. */
  batchRows?: number;
  /** Read only rows `fromRow` (default 0) up to but excluding `toRow` (default: the end), in file order. */
  fromRow?: number;
  toRow?: number;
}

function fieldTypeOfDuckDb(sqlType: string): FieldType | undefined {
  switch (sqlType) {
    case 'VARCHAR':
      return 'string';
    case 'INTEGER':
    case 'SMALLINT':
    case 'TINYINT':
      return 'int32';
    case 'BIGINT':
    case 'UINTEGER':
      return 'int64';
    case 'DOUBLE':
    case 'FLOAT':
      return 'float64';
    case 'BOOLEAN':
      return 'bool';
    case 'TIMESTAMP_MS':
    case 'TIMESTAMP':
    case 'TIMESTAMP WITH TIME ZONE':
      return 'timestamp_ms';
    case 'VARCHAR[]':
      return 'list<string>';
    case 'INTEGER[]':
      return 'list<int32>';
    default:
      return undefined;
  }
}

function wrapReadError(uri: string, e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  const msg = (e as Error).message ?? String(e);
  if (/magic bytes|not a parquet|parquet file|Invalid Input Error|corrupt|truncated/i.test(msg)) {
    return new StorageError(uri, `is not a readable Parquet file: ${msg.split('\n')[0]}`, 'the file is truncated, corrupt or not Parquet; rewrite the dataset that holds it', { cause: e });
  }
  // A column of the schema the file lacks: DuckDB's binder words it in terms of our SELECT ("cannot be referenced before it is defined").
  const missing = /Binder Error: (?:Referenced column|Column) "([^"]+)"/.exec(msg)?.[1];
  if (missing !== undefined) {
    return new StorageError(uri, `has no column "${missing}", which its dataset's schema lists`, "the file does not match its dataset's schema; re-run the stage that wrote it, or re-deliver it", { cause: e });
  }
  if (/Conversion Error/.test(msg)) {
    return new StorageError(uri, `holds values that do not convert to its dataset's column types: ${msg.split('\n')[0]}`, "the file does not match its dataset's schema; re-run the stage that wrote it, or re-deliver it", { cause: e });
  }
  if (/No files found|does not exist|No such file/i.test(msg)) {
    return new StorageError(uri, 'no such Parquet file', 'check the path; datasets are read through their _SUCCESS marker', { cause: e });
  }
  return new StorageError(uri, `Parquet read failed: ${msg.split('\n')[0]}`, undefined, { cause: e });
}

/** The schema stored in a Parquet file, in our field types; unsupported column types are an error naming them. */
export async function readParquetSchema(file: string, where = file): Promise<RecordSchema> {
  const literal = await literalParquetPath(file, where);
  const path = literal.path;
  return withConnection(async (conn) => {
    const fields: FieldSpec[] = [];
    try {
      for await (const chunk of streamChunks(conn, `DESCRIBE SELECT * FROM read_parquet(${sqlLiteral(path)}, hive_partitioning = false)`)) {
        const n = duckdb.data_chunk_get_size(chunk);
        const names = readStringsPerValue(duckdb.data_chunk_get_vector(chunk, 0), n);
        const types = readStringsPerValue(duckdb.data_chunk_get_vector(chunk, 1), n);
        for (let i = 0; i < n; i++) {
          const t = fieldTypeOfDuckDb(types[i]!);
          if (!t) throw new StorageError(where, `column "${names[i]}" has type ${types[i]}, which Courier datasets do not use`);
          fields.push({ name: names[i]!, type: t, nullable: true });
        }
      }
    } catch (e) {
      throw wrapReadError(where, e);
    } finally {
      await literal.release();
    }
    return { fields };
  });
}

/** The number of rows in a Parquet file, from its footer. */
export async function countParquetRows(file: string, where = file): Promise<number> {
  const literal = await literalParquetPath(file, where);
  const path = literal.path;
  return withConnection(async (conn) => {
    try {
      for await (const chunk of streamChunks(conn, `SELECT count(*)::DOUBLE FROM read_parquet(${sqlLiteral(path)}, hive_partitioning = false)`)) {
        const d = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 0), 8);
        return new Float64Array(d.buffer, d.byteOffset, 1)[0]!;
      }
      return 0;
    } catch (e) {
      throw wrapReadError(where, e);
    } finally {
      await literal.release();
    }
  });
}

// ---- decoding DuckDB vectors -----------------------------------------------------------------

function stringAt(data: Uint8Array, buf: Buffer, view: DataView, i: number): string {
  const o = i * 16;
  const len = view.getUint32(o, true);
  if (len <= 12) return buf.toString('utf8', o + 4, o + 4 + len);
  const p = duckdb.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + o + 8, len);
  return Buffer.from(p.buffer, p.byteOffset, len).toString('utf8', 0, len);
}

/** The validity bitmap of a vector's first `n` rows, or null when every row is valid. */
function validityOf(vec: duckdb.Vector, n: number): Uint8Array | null {
  return duckdb.vector_get_validity(vec, Math.ceil(n / 64) * 8) ?? null;
}

function isValid(mask: Uint8Array | null, i: number): boolean {
  return mask === null || (mask[i >> 3]! & (1 << (i & 7))) !== 0;
}

function readStringsPerValue(vec: duckdb.Vector, n: number): (string | null)[] {
  const data = duckdb.vector_get_data(vec, n * 16);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const validity = validityOf(vec, n);
  const out: (string | null)[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = isValid(validity, i) ? stringAt(data, buf, view, i) : null;
  return out;
}

interface ListView {
  /** Start and length of row i's elements in the child vector. */
  offset(i: number): number;
  length(i: number): number;
  child: duckdb.Vector;
  childSize: number;
  /** The child vector's data, fetched once: `vector_get_data` allocates a view per call. */
  childData: Uint8Array;
}

/** Byte width of a numeric field type's DuckDB representation. */
function widthOf(type: FieldType): number {
  return type === 'int32' ? 4 : type === 'bool' ? 1 : 8;
}

function listView(vec: duckdb.Vector, n: number, childWidth: number): ListView {
  const d = duckdb.vector_get_data(vec, n * 16);
  const e = new Uint32Array(d.buffer, d.byteOffset, n * 4);
  const child = duckdb.list_vector_get_child(vec);
  const childSize = duckdb.list_vector_get_size(vec);
  return {
    offset: (i) => e[4 * i]!,
    length: (i) => e[4 * i + 2]!,
    child,
    childSize,
    childData: childSize > 0 ? duckdb.vector_get_data(child, childSize * childWidth) : new Uint8Array(0),
  };
}

function copyNumbers(type: FieldType, d: Uint8Array, from: number, count: number, out: ColumnValues, at: number): void {
  if (count === 0) return;
  switch (type) {
    case 'int32':
      (out as Int32Array).set(new Int32Array(d.buffer, d.byteOffset + from * 4, count), at);
      return;
    case 'float64':
      (out as Float64Array).set(new Float64Array(d.buffer, d.byteOffset + from * 8, count), at);
      return;
    case 'bool':
      (out as Uint8Array).set(d.subarray(from, from + count), at);
      return;
    case 'int64':
    case 'timestamp_ms': {
      const w = new Int32Array(d.buffer, d.byteOffset + from * 8, count * 2);
      const o = out as Float64Array;
      for (let i = 0; i < count; i++) o[at + i] = w[2 * i + 1]! * 4294967296 + (w[2 * i]! >>> 0);
      return;
    }
    default:
      throw new Error(`copyNumbers: ${type} is not numeric`);
  }
}

function numericValidity(child: duckdb.Vector, from: number, count: number, valid: Uint8Array, at: number): boolean {
  const validity = validityOf(child, from + count);
  let anyNull = false;
  for (let i = 0; i < count; i++) {
    const ok = isValid(validity, from + i);
    valid[at + i] = ok ? 1 : 0;
    if (!ok) anyNull = true;
  }
  return anyNull;
}

/** The per-field SELECT expressions of the folding query; each field uses 1 or 2 output columns. */
function foldExpressions(f: FieldSpec, ord: string): string[] {
  const c = sqlIdent(f.name);
  switch (f.type) {
    case 'string':
      // A required column folds a flag of any null too: string_agg skips nulls, and a value holding the separator
      // could make up the count they leave short.
      return f.nullable ? [`string_agg(coalesce(${c}, ''), chr(31) ${ord})`, `list(${c} IS NULL ${ord})`] : [`string_agg(${c}, chr(31) ${ord})`, `bool_or(${c} IS NULL)`];
    case 'list<string>':
      return [
        `string_agg(coalesce(array_to_string(${c}, chr(31)), ''), chr(30) ${ord})`,
        // Lengths tell [] from [''] and mark null lists (-1) and lists holding a null element (-2: array_to_string
        // skips those, so [NULL] would read as ['']; such a group is re-read, which names the row).
        `list((CASE WHEN ${c} IS NULL THEN -1 WHEN list_count(${c}) < len(${c}) THEN -2 ELSE len(${c}) END)::INTEGER ${ord})`,
      ];
    default:
      return [`list(${c} ${ord})`];
  }
}

/**
 * Reads a local Parquet file as column batches of about `batchRows` rows, in file order.
 * Columns are read with the types of `schema` (cast where the file differs).
 */
export async function* readParquetFile(
  file: string,
  schema: RecordSchema,
  options: ParquetReadOptions = {},
  where = file,
): AsyncGenerator<ColumnBatch> {
  const fields = options.columns
    ? options.columns.map((n) => {
        const f = schema.fields.find((x) => x.name === n);
        if (!f) throw new StorageError(where, `no column "${n}" in the schema`, `known columns: ${schema.fields.map((x) => x.name).join(', ')}`);
        return f;
      })
    : schema.fields;
  const group = options.batchRows ?? 8192;
  // A range is read by one query; ranges are prefetched so DuckDB scans the next while JS splits this one.
  // A range spans four of DuckDB's 122880-row row groups, so both scan threads get work; a range filter on
  // file_row_number skips the other row groups.
  const range = Math.max(group, Math.ceil((4 * 122_880) / group) * group);
  const casts = fields.map((f) => `CAST(${sqlIdent(f.name)} AS ${sqlTypeOf(f.type)}) AS ${sqlIdent(f.name)}`);
  const foldSql = (fromRow: number, ordered: boolean): string =>
    `SELECT count(*)::INTEGER AS n, list(file_row_number::INTEGER ${ordered ? 'ORDER BY file_row_number' : ''}) AS r, ` +
    `${fields.flatMap((f) => foldExpressions(f, ordered ? 'ORDER BY file_row_number' : '')).join(', ')} FROM (` +
    `SELECT (file_row_number - ${fromRow}) // ${group} AS g, file_row_number, ${casts.join(', ')} ` +
    `FROM read_parquet(${sqlLiteral(path)}, file_row_number = true, hive_partitioning = false) ` +
    `WHERE file_row_number >= ${fromRow} AND file_row_number < ${Math.min(fromRow + range, end)}` +
    `) GROUP BY g ORDER BY g`;
  const literal = await literalParquetPath(file, where);
  const path = literal.path;
  const total = await countParquetRows(path, where).catch(async (e: unknown) => {
    await literal.release();
    throw e;
  });
  const conns = [await openConnection(), await openConnection()];
  const interners = fields.map(() => new Interner());
  const start = Math.max(0, options.fromRow ?? 0);
  const end = Math.min(total, options.toRow ?? total);
  const query = (k: number, ordered: boolean): Promise<duckdb.Result> =>
    duckdb.query(conns[k % 2]!.raw, foldSql(start + k * range, ordered)).catch((e: unknown) => {
      throw wrapReadError(where, e);
    });
  try {
    const ranges = Math.max(0, Math.ceil((end - start) / range));
    let pending = ranges > 0 ? query(0, false) : undefined;
    for (let k = 0; k < ranges; k++) {
      const result = await pending!;
      pending = k + 1 < ranges ? query(k + 1, false) : undefined;
      let folded = foldedGroups(result, fields, start + k * range);
      if (!folded) {
        // Unordered aggregates keep scan order within one scan thread, which the row numbers confirm;
        // when they do not, this range is read again with an ordered (slower) aggregate.
        const retry = await duckdb.query(conns[k % 2]!.raw, foldSql(start + k * range, true)).catch((e: unknown) => {
          throw wrapReadError(where, e);
        });
        folded = foldedGroups(retry, fields, start + k * range);
        if (!folded) throw new StorageError(where, `rows from ${start + k * range} came back out of order`, 'this is a bug in Courier; please report it');
      }
      // Groups become batches one at a time, as they are consumed: a whole range made up front kept ~500k
      // rows of strings alive across scavenges, and copying them was most of the read's GC time.
      for (const group of folded.groups) {
        const rereads: Reread[] = [];
        const batch = assembleGroup(interners, group.decoded, fields, group.g, group.n, group.rowBase, rereads, where);
        for (const r of rereads) {
          const values = await rereadStrings(path, r.field, r.rowBase, r.n, where);
          if (!r.field.nullable) {
            const k = values.indexOf(null);
            if (k >= 0) throw nullInRequired(where, r.field, r.rowBase + k);
          }
          batch.columns[r.field.name] = values;
        }
        yield batch;
      }
      // The chunks own the memory the groups' views read; they must outlive the loop above.
      folded.chunks.length = 0;
    }
    await pending?.catch(() => undefined);
  } finally {
    for (const c of conns) c.close();
    await literal.release();
  }
}

/** One group of a folded result: `n` rows from `rowBase`, decoded lazily from its chunk's columns. */
interface FoldedGroup {
  decoded: FoldedColumn[];
  g: number;
  n: number;
  rowBase: number;
}

/**
 * Splits one range's folded result into its groups, or undefined when its rows are not in file order. The
 * groups' views point into the result's chunks, returned with them (and the result): keep those referenced
 * while the groups are read (a chunk frees its memory when collected).
 */
function foldedGroups(result: duckdb.Result, fields: readonly FieldSpec[], rowBase: number): { groups: FoldedGroup[]; chunks: unknown[] } | undefined {
  const groups: FoldedGroup[] = [];
  // The result too: whether a chunk's memory outlives its result is the bindings' business, not ours.
  const chunks: unknown[] = [result];
  let base = rowBase;
  for (let c = 0; c < duckdb.result_chunk_count(result); c++) {
    const chunk = duckdb.result_get_chunk(result, c);
    chunks.push(chunk);
    const count = duckdb.data_chunk_get_size(chunk);
    const countData = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 0), count * 4);
    const counts = Int32Array.from(new Int32Array(countData.buffer, countData.byteOffset, count));
    const rowLists = listView(duckdb.data_chunk_get_vector(chunk, 1), count, 4);
    const rowNumbers = new Int32Array(rowLists.childData.buffer, rowLists.childData.byteOffset, rowLists.childSize);
    let check = base;
    for (let g = 0; g < count; g++) {
      const from = rowLists.offset(g);
      for (let i = 0; i < counts[g]!; i++) if (rowNumbers[from + i] !== check + i) return undefined;
      check += counts[g]!;
    }
    const decoded = decodeFolded(chunk, fields, count);
    for (let g = 0; g < count; g++) {
      groups.push({ decoded, g, n: counts[g]!, rowBase: base });
      base += counts[g]!;
    }
  }
  return { groups, chunks };
}

async function openConnection(): Promise<{ raw: duckdb.Connection; close(): void }> {
  // A dedicated connection for the life of the generator: streaming results hold it.
  let release!: () => void;
  let rawConn!: duckdb.Connection;
  const ready = new Promise<void>((resolveReady) => {
    void withConnection(
      (c) =>
        new Promise<void>((resolveDone) => {
          rawConn = c;
          release = resolveDone;
          resolveReady();
        }),
    );
  });
  await ready;
  return { raw: rawConn, close: () => release() };
}

/**
 * Shares one string instance among equal values of a repetitive column (segment codes, priorities). The
 * pieces `split` makes then die young, and the GC's copying of survivors (the largest read cost, measured)
 * follows the distinct values, not the rows. Columns of mostly unique values switch it off after a sample.
 */
class Interner {
  private readonly map = new Map<string, string>();
  private seen = 0;
  private active = true;

  internAll(values: (string | null)[], from = 0, to = values.length): void {
    if (!this.active) return;
    const map = this.map;
    for (let i = from; i < to; i++) {
      const s = values[i];
      if (s === null || s === undefined) continue;
      const c = map.get(s);
      if (c !== undefined) values[i] = c;
      else map.set(s, s);
    }
    this.seen += to - from;
    if ((this.seen >= 4096 && map.size * 2 > this.seen) || map.size > 65_536) {
      this.active = false;
      map.clear();
    }
  }
}

interface FoldedColumn {
  strings?: (string | null)[];
  /** Required strings: per group, 1 when some value is null (the group is re-read, which names the row). */
  anyNull?: Uint8Array;
  lists?: ListView;
  lengths?: ListView;
  /** list<int32>: the inner lists of all groups of the chunk, decoded once; `elements`: their values' validity. */
  nested?: { inner: ListView; values: Int32Array; validity: Uint8Array | null; elements: Uint8Array | null };
}

function decodeFolded(chunk: duckdb.DataChunk, fields: readonly FieldSpec[], groups: number): FoldedColumn[] {
  const out: FoldedColumn[] = [];
  let c = 2; // after the count and the row numbers
  for (const f of fields) {
    if (f.type === 'string' && !f.nullable) {
      out.push({ strings: readStringsPerValue(duckdb.data_chunk_get_vector(chunk, c), groups), anyNull: duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, c + 1), groups) });
      c += 2;
    } else if (f.type === 'string' || f.type === 'list<string>') {
      out.push({
        strings: readStringsPerValue(duckdb.data_chunk_get_vector(chunk, c), groups),
        // string: a BOOLEAN list of null flags; list<string>: an INTEGER list of lengths.
        lengths: listView(duckdb.data_chunk_get_vector(chunk, c + 1), groups, f.type === 'string' ? 1 : 4),
      });
      c += 2;
    } else {
      // list<int32> folds to a list of lists: its child holds 16-byte list entries.
      const lists = listView(duckdb.data_chunk_get_vector(chunk, c), groups, f.type === 'list<int32>' ? 16 : widthOf(f.type));
      if (f.type === 'list<int32>') {
        const inner = listView(lists.child, lists.childSize, 4);
        const values = new Int32Array(inner.childSize);
        copyNumbers('int32', inner.childData, 0, inner.childSize, values, 0);
        const elements = inner.childSize > 0 ? validityOf(inner.child, inner.childSize) : null;
        out.push({ lists, nested: { inner, values, validity: validityOf(lists.child, lists.childSize), elements } });
      } else {
        out.push({ lists });
      }
      c += 1;
    }
  }
  return out;
}

/** A column of a group that must be re-read value by value because its values hold our separators. */
interface Reread {
  field: FieldSpec;
  rowBase: number;
  n: number;
}

/**
 * Copies one group out of DuckDB's vectors into JS arrays; the vectors' memory belongs to the result
 * chunk, which must still be referenced. Columns needing the slow path are listed.
 */
function assembleGroup(
  interners: Interner[],
  decoded: FoldedColumn[],
  fields: readonly FieldSpec[],
  g: number,
  n: number,
  rowBase: number,
  rereads: Reread[],
  where: string,
): ColumnBatch {
  const columns: Record<string, ColumnValues> = {};
  let valid: Record<string, Uint8Array> | undefined;
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k]!;
    const d = decoded[k]!;
    if (f.type === 'string') {
      if (d.anyNull?.[g]) {
        rereads.push({ field: f, rowBase, n });
        continue;
      }
      const joined = d.strings![g] ?? '';
      const parts: (string | null)[] = joined.split(US);
      if (parts.length === n) interners[k]!.internAll(parts);
      if (parts.length !== n) {
        rereads.push({ field: f, rowBase, n });
        continue;
      }
      const isNull = d.lengths;
      if (isNull) {
        const from = isNull.offset(g);
        const flags = isNull.childData;
        for (let i = 0; i < n; i++) if (flags[from + i]) parts[i] = null;
      }
      columns[f.name] = parts;
    } else if (f.type === 'list<string>') {
      const lens = d.lengths!;
      const from = lens.offset(g);
      const ld = lens.childData;
      const lengths = new Int32Array(ld.buffer, ld.byteOffset + from * 4, n);
      const rows = (d.strings![g] ?? '').split(RS);
      const out: (string[] | null)[] = new Array(n);
      let ok = rows.length === n;
      for (let i = 0; ok && i < n; i++) {
        const len = lengths[i]!;
        if (len === -2) {
          ok = false;
          break;
        }
        if (len < 0) {
          if (!f.nullable) throw nullInRequired(where, f, rowBase + i);
          out[i] = null;
        } else if (len === 0) out[i] = EMPTY_LIST as string[];
        else {
          const items = rows[i]!.split(US);
          interners[k]!.internAll(items);
          if (items.length !== len) ok = false;
          out[i] = items;
        }
      }
      if (ok) columns[f.name] = out;
      else rereads.push({ field: f, rowBase, n });
    } else if (f.type === 'list<int32>') {
      const outer = d.lists!;
      const from = outer.offset(g);
      const { inner, values, validity: innerValidity, elements } = d.nested!;
      const out: (Int32Array | null)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        if (!isValid(innerValidity, from + i)) {
          if (!f.nullable) throw nullInRequired(where, f, rowBase + i);
          out[i] = null;
          continue;
        }
        const at = inner.offset(from + i);
        const len = inner.length(from + i);
        // An Int32Array cannot hold a null: unchecked, a null element read as 0 (or whatever the slot held).
        if (elements !== null) {
          for (let j = at; j < at + len; j++) {
            if (!isValid(elements, j)) {
              throw new StorageError(
                where,
                `column "${f.name}" holds a null element at row ${rowBase + i} (0-based); ${f.type} lists hold numbers only`,
                're-run the stage that wrote the file, or re-deliver it, with the null elements removed (or the row dropped)',
              );
            }
          }
        }
        out[i] = values.slice(at, at + len);
      }
      columns[f.name] = out;
    } else {
      const l = d.lists!;
      const col = allocateColumn(f.type, n);
      copyNumbers(f.type, l.childData, l.offset(g), n, col, 0);
      if (!f.nullable) {
        // A null slot of a required number would read as 0.
        const mask = validityOf(l.child, l.offset(g) + n);
        if (mask !== null) for (let i = 0; i < n; i++) if (!isValid(mask, l.offset(g) + i)) throw nullInRequired(where, f, rowBase + i);
      } else {
        const v = new Uint8Array(n);
        if (numericValidity(l.child, l.offset(g), n, v, 0)) (valid ??= {})[f.name] = v;
      }
      columns[f.name] = col;
    }
  }
  return valid ? { numRows: n, columns, valid } : { numRows: n, columns };
}

/** A null in a column the schema says is required: the file is not what its dataset declares. */
function nullInRequired(where: string, f: FieldSpec, row: number): StorageError {
  return new StorageError(
    where,
    `column "${f.name}" is null at row ${row} (0-based), but the dataset's schema says ${f.name} (${f.type}) is not nullable`,
    `re-run the stage that wrote the file, or re-deliver it, with a value in every row of ${f.name} (or those rows dropped)`,
  );
}

/** Slow exact path for a group whose strings contain our separators: one value at a time. */
async function rereadStrings(path: string, f: FieldSpec, rowBase: number, n: number, where: string): Promise<(string | null)[] | (string[] | null)[]> {
  return withConnection(async (conn) => {
    const c = sqlIdent(f.name);
    const sql = `SELECT ${c}::VARCHAR FROM read_parquet(${sqlLiteral(path)}, file_row_number = true, hive_partitioning = false) WHERE file_row_number >= ${rowBase} AND file_row_number < ${rowBase + n} ORDER BY file_row_number`;
    try {
      if (f.type === 'string') {
        const out: (string | null)[] = [];
        for await (const chunk of streamChunks(conn, sql)) out.push(...readStringsPerValue(duckdb.data_chunk_get_vector(chunk, 0), duckdb.data_chunk_get_size(chunk)));
        return out;
      }
      // list<string>: re-read as (row, element) pairs keeping nulls and empties apart.
      const out: (string[] | null)[] = new Array(n).fill(null);
      // Element index `i` keeps each list's order: the sort is not stable, so ties on the row would not.
      const listSql = `SELECT file_row_number::INTEGER - ${rowBase}, ${c} IS NULL, e, coalesce(len(${c}), 0) = 0 FROM (SELECT file_row_number, ${c}, unnest(x) AS e, generate_subscripts(x, 1) AS i FROM (SELECT file_row_number, ${c}, CASE WHEN len(${c}) = 0 OR ${c} IS NULL THEN [NULL::VARCHAR] ELSE ${c} END AS x FROM read_parquet(${sqlLiteral(path)}, file_row_number = true, hive_partitioning = false) WHERE file_row_number >= ${rowBase} AND file_row_number < ${rowBase + n})) ORDER BY file_row_number, i`;
      for await (const chunk of streamChunks(conn, listSql)) {
        const m = duckdb.data_chunk_get_size(chunk);
        const rd = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 0), m * 4);
        const rows = new Int32Array(rd.buffer, rd.byteOffset, m);
        const nulls = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 1), m);
        const elems = readStringsPerValue(duckdb.data_chunk_get_vector(chunk, 2), m);
        // The one null element of an empty or null list's placeholder row, as opposed to a null in a list.
        const placeholder = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 3), m);
        for (let i = 0; i < m; i++) {
          const r = rows[i]!;
          if (nulls[i]) continue;
          const list = (out[r] ??= []);
          if (elems[i] !== null) list.push(elems[i]!);
          else if (!placeholder[i]) {
            throw new StorageError(
              where,
              `column "${f.name}" holds a null element at row ${rowBase + r} (0-based); list<string> lists hold strings only`,
              're-run the stage that wrote the file, or re-deliver it, with the null elements removed (or the row dropped)',
            );
          }
        }
      }
      return out;
    } catch (e) {
      throw wrapReadError(where, e);
    }
  });
}
