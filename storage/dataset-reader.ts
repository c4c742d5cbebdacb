/**
 * Reads complete Parquet datasets: only through their `_SUCCESS` marker (an unmarked dataset is an error),
 * only the files the marker lists (checked by size), with partition columns restored from the paths.
 */
import { readParquetFile, type ParquetReadOptions } from './parquet-reader.ts';
import { allocateColumn, type ColumnBatch, type ColumnValues, type FieldSpec, type RecordSchema } from './record-schema.ts';
import { parsePartitionPath, partitionValueOf } from './dataset-partitions.ts';
import { fileSystemFor } from './file-system.ts';
import { joinUri } from './storage-uri.ts';
import { StorageError } from './storage-error.ts';
import { readMarker, type DatasetMarker, type MarkerFile } from './success-marker.ts';

/** A data file of a dataset with its partition values, for engines that split work per file. */
export interface DatasetFile extends MarkerFile {
  uri: string;
  partition: Record<string, string | number>;
}

/** Options of a dataset read. */
export interface DatasetReadOptions {
  /** Only these columns (partition columns included), in this order. */
  columns?: readonly string[];
  /** Keep only partitions whose column values are listed, e.g. `{partner_id: [17], priority: ['high']}`. */
  partitions?: Record<string, readonly (string | number)[]>;
  batchRows?: number;
}

/** The schema stored in a dataset's marker. */
export function markerSchema(marker: DatasetMarker, uri: string): RecordSchema {
  if (marker.kind !== 'parquet' || !marker.schema) {
    throw new StorageError(uri, 'is a files dataset, not a Parquet dataset', 'read its files with the file system instead');
  }
  return { fields: marker.schema };
}

/** Lists a complete dataset's files with their partition values, filtered by `partitions`. */
export async function datasetFiles(
  uri: string,
  options: Pick<DatasetReadOptions, 'partitions'> = {},
): Promise<{ marker: DatasetMarker; schema: RecordSchema; files: DatasetFile[] }> {
  const fs = fileSystemFor(uri);
  const marker = await readMarker(fs, uri);
  const schema = markerSchema(marker, uri);
  return { marker, schema, files: filesOf(uri, marker, schema, options) };
}

/**
 * Lists the files of a complete dataset of either kind. A `files` dataset has no schema, so its partition
 * values stay as the path text (`hour: '05'`); a Parquet dataset's are typed by its schema.
 */
export async function listDatasetFiles(
  uri: string,
  options: Pick<DatasetReadOptions, 'partitions'> = {},
): Promise<{ marker: DatasetMarker; schema: RecordSchema | undefined; files: DatasetFile[] }> {
  const fs = fileSystemFor(uri);
  const marker = await readMarker(fs, uri);
  const schema = marker.kind === 'parquet' ? markerSchema(marker, uri) : undefined;
  return { marker, schema, files: filesOf(uri, marker, schema, options) };
}

function filesOf(uri: string, marker: DatasetMarker, schema: RecordSchema | undefined, options: Pick<DatasetReadOptions, 'partitions'>): DatasetFile[] {
  const keys = marker.partitionBy ?? [];
  for (const col of Object.keys(options.partitions ?? {})) {
    if (!keys.some((k) => k.column === col)) {
      throw new StorageError(uri, `cannot filter on "${col}": it is not a partition column`, `partition columns: ${keys.map((k) => k.column).join(', ') || 'none'}`);
    }
  }
  const files: DatasetFile[] = [];
  for (const f of marker.files) {
    const fromPath = parsePartitionPath(f.path);
    const partition: Record<string, string | number> = {};
    for (const k of keys) {
      const text = fromPath[k.key];
      if (text === undefined) throw new StorageError(joinUri(uri, f.path), `path lacks partition key ${k.key}=`, 'the marker does not match the layout; re-run the stage');
      const type = schema?.fields.find((x) => x.name === k.column)!.type;
      partition[k.column] = type === undefined ? text : partitionValueOf(type, text, joinUri(uri, f.path));
    }
    const wanted = Object.entries(options.partitions ?? {}).every(([col, vals]) => vals.includes(partition[col]!));
    if (wanted) files.push({ ...f, uri: joinUri(uri, f.path), partition });
  }
  return files;
}

/** Checks a listed file is there with the size its marker recorded (a changed file is an error). */
export async function checkListedFile(file: DatasetFile): Promise<void> {
  const st = await fileSystemFor(file.uri).stat(file.uri);
  if (!st) throw new StorageError(file.uri, 'is listed in the _SUCCESS marker but missing', 'the dataset was damaged after it was written; re-run the stage that writes it');
  if (st.size !== file.bytes) {
    throw new StorageError(file.uri, `has ${st.size} bytes, the marker says ${file.bytes}`, 'the file changed after the dataset was written; re-run the stage that writes it');
  }
}

/**
 * Reads one data file of a dataset as batches, restoring its partition columns; `fromRow`/`toRow` read a row
 * range only (as `readParquetFile` does), so a large file can be read by several tasks.
 */
export async function* readDatasetFile(
  file: DatasetFile,
  schema: RecordSchema,
  options: Pick<DatasetReadOptions, 'columns' | 'batchRows'> & Pick<ParquetReadOptions, 'fromRow' | 'toRow'> = {},
): AsyncGenerator<ColumnBatch> {
  const fs = fileSystemFor(file.uri);
  await checkListedFile(file);
  const wanted: readonly FieldSpec[] = options.columns
    ? options.columns.map((n) => {
        const f = schema.fields.find((x) => x.name === n);
        if (!f) throw new StorageError(file.uri, `no column "${n}"`, `columns: ${schema.fields.map((x) => x.name).join(', ')}`);
        return f;
      })
    : schema.fields;
  const partitionCols = new Set(Object.keys(file.partition));
  const stored = wanted.filter((f) => !partitionCols.has(f.name));
  const fileSchema: RecordSchema = { fields: schema.fields.filter((f) => !partitionCols.has(f.name)) };
  const local = await fs.localPathFor(file.uri);
  let any = false;
  for await (const part of readParquetFile(local, fileSchema, { columns: stored.map((f) => f.name), batchRows: options.batchRows, fromRow: options.fromRow, toRow: options.toRow }, file.uri)) {
    any = true;
    yield withPartitionColumns(part, wanted, file.partition);
  }
  if (!any && stored.length === 0 && file.rows > 0) {
    // Only partition columns asked for: synthesise rows from the marker's count.
    const rows = Math.max(0, Math.min(file.rows, options.toRow ?? file.rows) - (options.fromRow ?? 0));
    if (rows > 0) yield withPartitionColumns({ numRows: rows, columns: {} }, wanted, file.partition);
  }
}

function withPartitionColumns(batch: ColumnBatch, fields: readonly FieldSpec[], partition: Record<string, string | number>): ColumnBatch {
  const columns: Record<string, ColumnValues> = {};
  for (const f of fields) {
    if (f.name in partition) {
      const col = allocateColumn(f.type, batch.numRows);
      (col as { fill(v: unknown): unknown }).fill(partition[f.name]);
      columns[f.name] = col;
    } else {
      columns[f.name] = batch.columns[f.name]!;
    }
  }
  return batch.valid ? { numRows: batch.numRows, columns, valid: batch.valid } : { numRows: batch.numRows, columns };
}

/** Reads a complete dataset as batches, file by file in marker order. */
export async function* readDataset(uri: string, options: DatasetReadOptions = {}): AsyncGenerator<ColumnBatch> {
  const { schema, files } = await datasetFiles(uri, options);
  for (const file of files) yield* readDatasetFile(file, schema, options);
}
