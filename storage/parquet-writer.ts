/**
 * Writes column batches to one Parquet file through DuckDB: batches are appended into a temporary table
 * as raw data chunks (numbers by bulk memory copy, strings by one native call per chunk), then `COPY ... TO`
 * encodes the file with DuckDB's own multi-threaded Parquet writer. The file appears under its final
 * name only once complete.
 */
import * as fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { duckdb, openConnection, runSql, sqlIdent, sqlLiteral } from './duckdb-room.ts';
import { checkBatch, type ColumnBatch, type FieldSpec, type FieldType, type RecordSchema } from './record-schema.ts';
import { StorageError } from './storage-error.ts';

/** Parquet compression codecs we write. */
export type ParquetCompression = 'zstd' | 'snappy' | 'none';

/** Options of a Parquet write. */
export interface ParquetWriteOptions {
  compression?: ParquetCompression;
  /** Rows per row group; DuckDB's default 122880 suits scans. */
  rowGroupSize?: number;
}

/** What a finished write produced. */
export interface ParquetWriteResult {
  rows: number;
  bytes: number;
}

const SQL_TYPES: Record<FieldType, string> = {
  string: 'VARCHAR',
  int32: 'INTEGER',
  int64: 'BIGINT',
  float64: 'DOUBLE',
  bool: 'BOOLEAN',
  timestamp_ms: 'TIMESTAMP_MS',
  'list<string>': 'VARCHAR[]',
  'list<int32>': 'INTEGER[]',
};

/** The DuckDB SQL type of a field type. */
export function sqlTypeOf(type: FieldType): string {
  return SQL_TYPES[type];
}

function logicalType(type: FieldType): duckdb.LogicalType {
  const T = duckdb.Type;
  switch (type) {
    case 'string':
      return duckdb.create_logical_type(T.VARCHAR);
    case 'int32':
      return duckdb.create_logical_type(T.INTEGER);
    case 'int64':
      return duckdb.create_logical_type(T.BIGINT);
    case 'float64':
      return duckdb.create_logical_type(T.DOUBLE);
    case 'bool':
      return duckdb.create_logical_type(T.BOOLEAN);
    case 'timestamp_ms':
      return duckdb.create_logical_type(T.TIMESTAMP_MS);
    case 'list<string>':
      return duckdb.create_list_type(duckdb.create_logical_type(T.VARCHAR));
    case 'list<int32>':
      return duckdb.create_list_type(duckdb.create_logical_type(T.INTEGER));
  }
}

const TWO_32 = 2 ** 32;
/** Scratch buffers reused across chunks: int64 as little-endian int32 pairs, list entries as uint64 pairs. */
const scratchI64 = new Int32Array(2 * 2048);
const scratchEntries = new Uint32Array(4 * 2048);
let scratchInts = new Int32Array(16 * 2048);

function copyInt64(vec: duckdb.Vector, col: Float64Array, off: number, n: number, field: FieldSpec, valid: Uint8Array | undefined, rowBase: number): void {
  for (let i = 0; i < n; i++) {
    const v = col[off + i]!;
    if (valid && valid[off + i] === 0) {
      // A null slot's value is meaningless; write zero.
      scratchI64[2 * i] = 0;
      scratchI64[2 * i + 1] = 0;
      continue;
    }
    if (!Number.isSafeInteger(v)) {
      if (Number.isNaN(v) && field.nullable) {
        scratchI64[2 * i] = 0;
        scratchI64[2 * i + 1] = 0;
        continue;
      }
      throw new Error(`column "${field.name}" row ${rowBase + off + i}: ${v} is not an integer in ±2^53; ${field.type} columns hold whole numbers`);
    }
    // Split into two's-complement halves without BigInt: the high word is floor(v / 2^32).
    const hi = Math.floor(v / TWO_32);
    scratchI64[2 * i] = (v - hi * TWO_32) | 0;
    scratchI64[2 * i + 1] = hi;
  }
  duckdb.copy_data_to_vector(vec, 0, scratchI64.buffer, 0, n * 8);
}

let scratchStrings = new Uint8Array(16 * 2048);
let scratchLong = new Int32Array(2048);

/**
 * Fills a VARCHAR vector from `values[start..start+count)`, writing DuckDB's 16-byte string slots
 * (`duckdb_string_t` in duckdb.h) with one memory copy. Strings of up to 12 bytes are inlined in their slot.
 * Longer ASCII strings are joined into one string, assigned to the vector once (DuckDB copies it into the
 * vector's own string heap), and each slot points at its part of that copy: one native call per chunk
 * instead of one per string (those calls were ~40% of writing rows). Non-ASCII long strings are assigned one
 * by one. Null rows are pushed to `nulls`.
 */
function fillStrings(vec: duckdb.Vector, values: readonly (string | null | undefined)[], start: number, count: number, nulls: number[] | undefined): void {
  if (scratchStrings.length < count * 16) scratchStrings = new Uint8Array(count * 16);
  if (scratchLong.length < count) scratchLong = new Int32Array(count);
  const buf = scratchStrings;
  buf.fill(0, 0, count * 16);
  const parts: string[] = [];
  const slow: number[] = [];
  let longBytes = 0;
  for (let i = 0; i < count; i++) {
    const s = values[start + i];
    if (s === null || s === undefined) {
      nulls?.push(i);
      continue;
    }
    const len = s.length;
    const o = i * 16;
    let ascii = true;
    // Inlined strings keep all their bytes in the slot; long ones keep a 4-byte prefix there.
    const kept = len > 12 ? 4 : len;
    for (let j = 0; j < kept; j++) {
      const ch = s.charCodeAt(j);
      if (ch > 127) {
        ascii = false;
        break;
      }
      buf[o + 4 + j] = ch;
    }
    if (!ascii) {
      slow.push(i);
      continue;
    }
    buf[o] = len & 0xff; // little-endian uint32 length
    buf[o + 1] = (len >>> 8) & 0xff;
    buf[o + 2] = (len >>> 16) & 0xff;
    buf[o + 3] = len >>> 24;
    if (len > 12) {
      scratchLong[parts.length] = i;
      parts.push(s);
      longBytes += len;
    }
  }
  if (parts.length > 0) {
    const joined = parts.join('');
    if (Buffer.byteLength(joined, 'utf8') !== longBytes) {
      // A non-ASCII character past a long string's first 4: this chunk's long strings go one by one.
      for (let k = 0; k < parts.length; k++) slow.push(scratchLong[k]!);
    } else {
      duckdb.vector_assign_string_element(vec, 0, joined);
      // Slot 0 now points at DuckDB's copy of the joined bytes: read its pointer as two 32-bit halves.
      const slot0 = new DataView(duckdb.vector_get_data(vec, 16).slice(0, 16).buffer);
      const baseLo = slot0.getUint32(8, true);
      const baseHi = slot0.getUint32(12, true);
      const view = new DataView(buf.buffer, buf.byteOffset);
      let at = 0;
      for (let k = 0; k < parts.length; k++) {
        const o = scratchLong[k]! * 16;
        let lo = baseLo + at;
        let hi = baseHi;
        if (lo >= TWO_32) {
          lo -= TWO_32;
          hi++;
        }
        view.setUint32(o + 8, lo, true);
        view.setUint32(o + 12, hi, true);
        at += parts[k]!.length;
      }
    }
  }
  duckdb.copy_data_to_vector(vec, 0, buf.buffer, 0, count * 16);
  for (const i of slow) duckdb.vector_assign_string_element(vec, i, values[start + i]!);
}

function markInvalid(vec: duckdb.Vector, rows: number[], n: number): void {
  if (rows.length === 0) return;
  // The validity mask is a uint64 bitmap (1 = valid); build it here and copy it in whole.
  const mask = new Uint8Array(Math.ceil(n / 64) * 8).fill(0xff);
  for (const r of rows) mask[r >> 3]! &= ~(1 << (r & 7));
  duckdb.vector_ensure_validity_writable(vec);
  duckdb.copy_data_to_vector_validity(vec, 0, mask.buffer, 0, mask.byteLength);
}

/** Fills one column of a data chunk from rows [off, off+n) of a batch; `rowBase` (rows before the batch) is for messages. */
function fillVector(vec: duckdb.Vector, field: FieldSpec, batch: ColumnBatch, off: number, n: number, rowBase: number): void {
  const col = batch.columns[field.name]!;
  const nulls: number[] = [];
  const valid = batch.valid?.[field.name];
  if (valid) for (let i = 0; i < n; i++) if (valid[off + i] === 0) nulls.push(i);
  switch (field.type) {
    case 'int32':
    case 'float64':
    case 'bool': {
      const a = col as Int32Array | Float64Array | Uint8Array;
      const w = a.BYTES_PER_ELEMENT;
      duckdb.copy_data_to_vector(vec, 0, a.buffer as ArrayBuffer, a.byteOffset + off * w, n * w);
      break;
    }
    case 'int64':
    case 'timestamp_ms':
      copyInt64(vec, col as Float64Array, off, n, field, valid, rowBase);
      break;
    case 'string': {
      fillStrings(vec, col as (string | null)[], off, n, nulls);
      break;
    }
    case 'list<string>':
    case 'list<int32>': {
      const a = col as (ArrayLike<unknown> | null)[];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const l = a[off + i];
        scratchEntries[4 * i] = total;
        scratchEntries[4 * i + 1] = 0;
        scratchEntries[4 * i + 2] = l ? l.length : 0;
        scratchEntries[4 * i + 3] = 0;
        if (l) total += l.length;
        else nulls.push(i);
      }
      duckdb.copy_data_to_vector(vec, 0, scratchEntries.buffer, 0, n * 16);
      duckdb.list_vector_reserve(vec, total);
      duckdb.list_vector_set_size(vec, total);
      const child = duckdb.list_vector_get_child(vec);
      if (field.type === 'list<string>') {
        const flat: string[] = new Array(total);
        let k = 0;
        for (let i = 0; i < n; i++) {
          const l = a[off + i] as string[] | null;
          if (!l) continue;
          for (let j = 0; j < l.length; j++) {
            const item = l[j];
            if (typeof item !== 'string') throw new Error(`column "${field.name}" row ${rowBase + off + i}: list element ${j} is ${item === null ? 'null' : typeof item}; list elements must be strings`);
            flat[k++] = item;
          }
        }
        if (total > 0) fillStrings(child, flat, 0, total, undefined);
      } else {
        // Copied element by element into a reused buffer: `set` costs more than it saves on lists this short.
        if (scratchInts.length < total) scratchInts = new Int32Array(Math.max(total, 2 * scratchInts.length));
        const flat = scratchInts;
        let k = 0;
        for (let i = 0; i < n; i++) {
          const l = a[off + i] as Int32Array | null;
          if (l) for (let j = 0; j < l.length; j++) flat[k++] = l[j]!;
        }
        if (total > 0) duckdb.copy_data_to_vector(child, 0, flat.buffer, 0, total * 4);
      }
      break;
    }
  }
  if (nulls.length > 0 && !field.nullable) {
    throw new Error(`column "${field.name}" row ${rowBase + off + nulls[0]!}: null in a required field; send a value or declare the field nullable`);
  }
  markInvalid(vec, nulls, n);
}

/**
 * One Parquet file being written: each batch goes into a DuckDB temp table as it is appended, so the JS
 * arrays die young instead of waiting in a buffer, and `finish` encodes the file with `COPY ... TO` on
 * DuckDB's threads, which a caller may leave running while it builds the next file's batches.
 */
export class ParquetFileWriter {
  private rowCount = 0;
  private batchNo = 0;
  private done = false;

  private constructor(
    private readonly conn: duckdb.Connection,
    private readonly appender: duckdb.Appender,
    private readonly table: string,
    private readonly types: duckdb.LogicalType[],
    readonly path: string,
    private readonly schema: RecordSchema,
    private readonly options: ParquetWriteOptions,
    private readonly where: string,
  ) {}

  /** Opens a file for writing at `path` (created only by `finish`); `where` names it in errors. */
  static async open(path: string, schema: RecordSchema, options: ParquetWriteOptions = {}, where = path): Promise<ParquetFileWriter> {
    const conn = await openConnection();
    const table = `stage_${randomBytes(6).toString('hex')}`;
    try {
      const columns = schema.fields.map((f) => `${sqlIdent(f.name)} ${sqlTypeOf(f.type)}`).join(', ');
      await runSql(conn, `CREATE TEMP TABLE ${table} (${columns})`);
      const appender = duckdb.appender_create(conn, null, table);
      return new ParquetFileWriter(conn, appender, table, schema.fields.map((f) => logicalType(f.type)), path, schema, options, where);
    } catch (e) {
      duckdb.disconnect_sync(conn);
      throw new StorageError(where, `Parquet write failed: ${(e as Error).message}`, undefined, { cause: e });
    }
  }

  /** Rows appended so far. */
  get rows(): number {
    return this.rowCount;
  }

  /** Appends a batch (checked against the schema); a bad batch is a StorageError naming the batch, column and row. */
  append(batch: ColumnBatch): void {
    try {
      checkBatch(this.schema, batch, `batch ${this.batchNo++}`);
      const chunkRows = duckdb.vector_size();
      for (let off = 0; off < batch.numRows; off += chunkRows) {
        const n = Math.min(chunkRows, batch.numRows - off);
        const chunk = duckdb.create_data_chunk(this.types);
        const fields = this.schema.fields;
        for (let c = 0; c < fields.length; c++) fillVector(duckdb.data_chunk_get_vector(chunk, c), fields[c]!, batch, off, n, this.rowCount);
        duckdb.data_chunk_set_size(chunk, n);
        duckdb.append_data_chunk(this.appender, chunk);
      }
      this.rowCount += batch.numRows;
    } catch (e) {
      throw new StorageError(this.where, `Parquet write failed: ${(e as Error).message}`, undefined, { cause: e });
    }
  }

  /** Encodes the appended rows into the file, atomically (temp name, then rename), and releases the table. */
  async finish(): Promise<ParquetWriteResult> {
    this.done = true;
    const tmpPath = `${this.path}.tmp-${randomBytes(4).toString('hex')}`;
    const codec = (this.options.compression ?? 'zstd') === 'none' ? 'uncompressed' : (this.options.compression ?? 'zstd');
    try {
      duckdb.appender_close_sync(this.appender);
      await runSql(
        this.conn,
        `COPY ${this.table} TO ${sqlLiteral(tmpPath)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE ${this.options.rowGroupSize ?? 122_880})`,
      );
      await fs.rename(tmpPath, this.path);
      const { size } = await fs.stat(this.path);
      return { rows: this.rowCount, bytes: size };
    } catch (e) {
      await fs.rm(tmpPath, { force: true }).catch(() => undefined);
      throw new StorageError(this.where, `Parquet write failed: ${(e as Error).message}`, undefined, { cause: e });
    } finally {
      await this.release();
    }
  }

  /** Drops what was appended; the file is never created. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      duckdb.appender_close_sync(this.appender);
    } catch {
      // A failed append can leave the appender unflushable; the table is dropped either way.
    }
    await this.release();
  }

  private async release(): Promise<void> {
    try {
      await runSql(this.conn, `DROP TABLE IF EXISTS ${this.table}`);
    } finally {
      duckdb.disconnect_sync(this.conn);
    }
  }
}

/**
 * Writes batches to a local Parquet file at `path`, atomically (temp name, then rename).
 * `where` names the target in errors (usually its URI).
 */
export async function writeParquetFile(
  path: string,
  schema: RecordSchema,
  batches: AsyncIterable<ColumnBatch> | Iterable<ColumnBatch>,
  options: ParquetWriteOptions = {},
  where = path,
): Promise<ParquetWriteResult> {
  const writer = await ParquetFileWriter.open(path, schema, options, where);
  try {
    for await (const batch of batches) writer.append(batch);
  } catch (e) {
    await writer.abort();
    if (e instanceof StorageError) throw e;
    throw new StorageError(where, `Parquet write failed: ${(e as Error).message}`, undefined, { cause: e });
  }
  return writer.finish();
}
