/**
 * Writes a Parquet dataset: rows are split by partition columns (Hive-style directories), appended per
 * partition into DuckDB as they arrive and written as `part-NNNNN.parquet` files of up to `rowsPerFile` rows,
 * then committed with a `_SUCCESS` marker. Partition columns live in the path only, as Hive, Spark and DuckDB
 * expect. A finished file is encoded on DuckDB's threads while the caller's next batches are appended
 * (one file encoding at a time).
 */
import { ParquetFileWriter, type ParquetCompression } from './parquet-writer.ts';
import { takeRows, sliceRows, checkBatch, type ColumnBatch, type RecordSchema } from './record-schema.ts';
import { partitionDir, partitionKeys, type PartitionSpec } from './dataset-partitions.ts';
import { fileSystemFor, type LocalWrite } from './file-system.ts';
import { DatasetStaging } from './dataset-staging.ts';
import type { DatasetMarker } from './success-marker.ts';

/** Options of a dataset write. */
export interface DatasetWriteOptions {
  partitionBy?: readonly PartitionSpec[];
  compression?: ParquetCompression;
  /** Rows per file before a partition starts a new file; default 1,000,000. */
  rowsPerFile?: number;
  /** Rows held (in DuckDB) over all partitions' open files before the largest is written out; default 2,000,000. */
  maxBufferedRows?: number;
  overwrite?: boolean;
  /** Facts of the producing run stored in the marker. */
  extra?: Record<string, unknown>;
}

interface PartitionBuffer {
  dir: string;
  /** The partition's open file and its path relative to the dataset, once it has rows. */
  file?: { writer: ParquetFileWriter; rel: string; out: LocalWrite };
  rows: number;
  fileNo: number;
}

/** Writes batches as a complete dataset at `uri` and returns its marker. */
export async function writeDataset(
  uri: string,
  schema: RecordSchema,
  batches: AsyncIterable<ColumnBatch> | Iterable<ColumnBatch>,
  options: DatasetWriteOptions = {},
): Promise<DatasetMarker> {
  const fs = fileSystemFor(uri);
  const keys = partitionKeys(options.partitionBy);
  for (const k of keys) {
    const f = schema.fields.find((x) => x.name === k.column);
    if (!f) throw new Error(`dataset ${uri}: partition column "${k.column}" is not in the schema`);
    if (f.type !== 'string' && f.type !== 'int32' && f.type !== 'int64') {
      throw new Error(`dataset ${uri}: partition column "${k.column}" is ${f.type}; use a string or integer column`);
    }
  }
  const fileSchema: RecordSchema = { fields: schema.fields.filter((f) => !keys.some((k) => k.column === f.name)) };
  const rowsPerFile = options.rowsPerFile ?? 1_000_000;
  const maxBuffered = options.maxBufferedRows ?? 2_000_000;
  const staging = await DatasetStaging.begin(fs, uri, { overwrite: options.overwrite });
  const buffers = new Map<string, PartitionBuffer>();
  let buffered = 0;

  // The file whose COPY is running while the next batches are appended; awaited before another starts.
  let encoding: Promise<void> | undefined;

  const flush = async (buf: PartitionBuffer): Promise<void> => {
    const file = buf.file;
    if (!file) return;
    buffered -= buf.rows;
    buf.file = undefined;
    buf.rows = 0;
    await encoding;
    encoding = file.writer.finish().then(async (written) => {
      // Uploaded here on remote file systems; hashed from the local file either way.
      staging.recordWritten(file.rel, written.rows, await file.out.commit());
    });
    // Handled here so a failure waits, unreported, for the next await of `encoding`.
    encoding.catch(() => undefined);
  };

  const append = async (buf: PartitionBuffer, part: ColumnBatch): Promise<void> => {
    if (!buf.file) {
      const rel = `${buf.dir ? buf.dir + '/' : ''}part-${String(buf.fileNo++).padStart(5, '0')}.parquet`;
      const target = staging.stagedUri(rel);
      await fs.mkdirs(target.slice(0, target.lastIndexOf('/')));
      const out = await fs.localFileForWrite(target);
      buf.file = { writer: await ParquetFileWriter.open(out.path, fileSchema, { compression: options.compression }, `${uri}/${rel}`), rel, out };
    }
    buf.file.writer.append(part);
    buf.rows += part.numRows;
    buffered += part.numRows;
  };

  try {
    let batchNo = 0;
    for await (const batch of batches) {
      checkBatch(schema, batch, `dataset ${uri} batch ${batchNo++}`);
      if (batch.numRows === 0) continue;
      for (const [dir, part] of splitByPartition(schema, keys, batch)) {
        let buf = buffers.get(dir);
        if (!buf) buffers.set(dir, (buf = { dir, rows: 0, fileNo: 0 }));
        // Cut the part at file boundaries so no file exceeds rowsPerFile.
        for (let at = 0; at < part.numRows; ) {
          const take = Math.min(rowsPerFile - buf.rows, part.numRows - at);
          await append(buf, sliceRows(fileSchema, part, at, at + take));
          at += take;
          if (buf.rows >= rowsPerFile) await flush(buf);
        }
      }
      while (buffered > maxBuffered) {
        const largest = [...buffers.values()].reduce((a, b) => (b.rows > a.rows ? b : a));
        await flush(largest);
      }
    }
    for (const buf of buffers.values()) await flush(buf);
    await encoding;
    return await staging.commit({
      kind: 'parquet',
      schema: [...schema.fields],
      ...(keys.length ? { partitionBy: keys } : {}),
      ...(options.extra ? { extra: options.extra } : {}),
    });
  } catch (e) {
    await encoding?.catch(() => undefined);
    for (const buf of buffers.values()) {
      await buf.file?.writer.abort().catch(() => undefined);
      await buf.file?.out.discard().catch(() => undefined);
    }
    await staging.abort();
    throw e;
  }
}

/** Splits a batch into one batch per partition directory, rows in their original order. */
function splitByPartition(
  schema: RecordSchema,
  keys: ReturnType<typeof partitionKeys>,
  batch: ColumnBatch,
): Map<string, ColumnBatch> {
  const fileSchema: RecordSchema = { fields: schema.fields.filter((f) => !keys.some((k) => k.column === f.name)) };
  if (keys.length === 0) return new Map([['', batch]]);
  const cols = keys.map((k) => batch.columns[k.column] as ArrayLike<string | number | null>);
  const groups = new Map<string, number[]>();
  const values: (string | number)[] = new Array(keys.length);
  for (let i = 0; i < batch.numRows; i++) {
    for (let k = 0; k < keys.length; k++) {
      const v = cols[k]![i];
      if (v === null || v === undefined || v === '') throw new Error(`partition column "${keys[k]!.column}" row ${i}: empty value cannot name a partition`);
      values[k] = v;
    }
    const dir = partitionDir(keys, values);
    let g = groups.get(dir);
    if (!g) groups.set(dir, (g = []));
    g.push(i);
  }
  const out = new Map<string, ColumnBatch>();
  for (const [dir, idx] of groups) out.set(dir, takeRows(fileSchema, batch, idx));
  return out;
}
