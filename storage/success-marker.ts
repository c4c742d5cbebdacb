/**
 * `_SUCCESS` markers: written last into a dataset directory, they make it complete. Unlike Hadoop's empty
 * marker ours lists every file with rows, bytes and sha256, and a checksum over that list, so a reader can
 * tell a complete dataset from a partial or tampered one without scanning it.
 */
import { createHash } from 'node:crypto';
import type { FieldSpec } from './record-schema.ts';
import type { PartitionKey } from './dataset-partitions.ts';
import type { FileSystem } from './file-system.ts';
import { joinUri } from './storage-uri.ts';
import { StorageError } from './storage-error.ts';

export const MARKER_NAME = '_SUCCESS';
const FORMAT = 'courier-dataset/1';

/** One data file of a dataset, path relative to the dataset directory. */
export interface MarkerFile {
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
}

/** The content of a `_SUCCESS` marker. */
export interface DatasetMarker {
  format: typeof FORMAT;
  writtenAt: string;
  rows: number;
  /** How rows are stored: `parquet` datasets carry a schema; `files` datasets (logs, batch files) do not. */
  kind: 'parquet' | 'files';
  schema?: FieldSpec[];
  partitionBy?: PartitionKey[];
  files: MarkerFile[];
  /** sha256 over the sorted `path rows bytes sha256` lines. */
  checksum: string;
  /** Free-form facts of the producing run (counters, parameters). */
  extra?: Record<string, unknown>;
}

/** The checksum over a marker's file list. */
export function markerChecksum(files: readonly MarkerFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) h.update(`${f.path} ${f.rows} ${f.bytes} ${f.sha256}\n`);
  return h.digest('hex');
}

/** Builds a marker for files already written. */
export function buildMarker(fields: Omit<DatasetMarker, 'format' | 'writtenAt' | 'rows' | 'checksum'>): DatasetMarker {
  return {
    format: FORMAT,
    writtenAt: new Date().toISOString(),
    rows: fields.files.reduce((s, f) => s + f.rows, 0),
    checksum: markerChecksum(fields.files),
    ...fields,
  };
}

/** Writes the marker into the dataset directory (atomically); call it only after every file is in place. */
export async function writeMarker(fs: FileSystem, datasetUri: string, marker: DatasetMarker): Promise<void> {
  await fs.writeAtomic(joinUri(datasetUri, MARKER_NAME), JSON.stringify(marker, null, 2) + '\n');
}

/** True when the dataset has a marker. */
export async function isComplete(fs: FileSystem, datasetUri: string): Promise<boolean> {
  return fs.exists(joinUri(datasetUri, MARKER_NAME));
}

/** Reads and checks a dataset's marker; a missing or damaged marker is an error saying the dataset is incomplete. */
export async function readMarker(fs: FileSystem, datasetUri: string): Promise<DatasetMarker> {
  const uri = joinUri(datasetUri, MARKER_NAME);
  if (!(await fs.exists(uri))) {
    throw new StorageError(
      datasetUri,
      'is not complete: it has no _SUCCESS marker',
      'the stage that writes it has not finished or failed; run (or re-run) that stage',
    );
  }
  let marker: DatasetMarker;
  try {
    marker = JSON.parse((await fs.readBytes(uri)).toString('utf8')) as DatasetMarker;
  } catch (e) {
    throw new StorageError(uri, `is not a readable marker: ${(e as Error).message}`, 'delete it and re-run the stage that writes the dataset', { cause: e });
  }
  if (marker.format !== FORMAT || !Array.isArray(marker.files)) {
    throw new StorageError(uri, `has format ${JSON.stringify(marker.format)}, expected ${FORMAT}`, 'it was not written by Courier; re-run the stage that writes the dataset');
  }
  if (markerChecksum(marker.files) !== marker.checksum) {
    throw new StorageError(uri, 'checksum does not match its file list', 'the marker was edited or damaged; re-run the stage that writes the dataset');
  }
  return marker;
}
