/**
 * Assembles a batch file from the formatter job's sorted rows and writes it, with its manifest, as a complete
 * `files` dataset. Everything streams: rows are read batch by batch, turned into text and gzipped on the way
 * to the file system, which hashes and sizes the bytes as they go; a segment's member list is never one string.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import {
  DatasetStaging,
  datasetFiles,
  fileSystemFor,
  readDatasetFile,
  type ColumnBatch,
  type DatasetMarker,
  type MarkerFile,
} from '../../storage/index.ts';
import { MANIFEST_SUFFIX, type BatchFormatterParams } from './batch-params.ts';

/** A batch file could not be assembled; names the file and what went wrong. */
export class BatchFileError extends Error {
  override readonly name = 'BatchFileError';
}

/** Which run produced a batch file. */
export interface BatchRunInfo {
  readonly job: string;
  readonly runId: string;
  readonly runner: string;
}

/** The manifest written beside each batch file (`<file>.manifest.json`). */
export interface BatchManifest {
  readonly format: 'courier-batch-manifest/1';
  readonly partner: { readonly id: number; readonly name: string };
  readonly schedule: 'daily' | 'monthly';
  readonly period: string;
  readonly file: string;
  /** Data rows, header lines not included. */
  readonly rows: number;
  readonly headerLines: number;
  readonly bytes: number;
  /** Hex sha256 of the file's bytes as stored (compressed when gzip). */
  readonly sha256: string;
  readonly compression: 'gzip' | 'none';
  readonly groupBy: 'cookie' | 'segment';
  /** The request datasets read, relative to the storage root. */
  readonly inputs: readonly string[];
  readonly createdBy: BatchRunInfo;
  readonly createdAt: string;
}

/** Replaces `${NAME}` macros; the templates were checked for unknown names when the parameters were parsed. */
export function expandMacros(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\$\{([^}]*)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** The file name a partner's pattern gives for a period. */
export function batchFileName(p: BatchFormatterParams): string {
  return expandMacros(p.partner.template.fileNamePattern, { DATE: p.period, PARTNER_NAME: p.partner.name, PARTNER_ID: String(p.partner.id) });
}

/** Reads the format step's output dataset batch by batch, in file order. */
export async function* readRowBatches(rowsUri: string): AsyncGenerator<ColumnBatch> {
  const { schema, files } = await datasetFiles(rowsUri);
  for (const file of files) yield* readDatasetFile(file, schema);
}

const CHUNK_CHARS = 64 * 1024;

/**
 * The file's text in chunks: the header lines (macros resolved, `${ROWS}` = `rows`), then one line per row.
 * Checks the rows come in key order (one reducer's sorted run) and number exactly `rows`, so a file that
 * would differ between runs or disagree with its header is never completed.
 */
export async function* batchFileText(
  batches: AsyncIterable<ColumnBatch>,
  p: BatchFormatterParams,
  rows: number,
  where: string,
): AsyncGenerator<string> {
  const t = p.partner.template;
  const macros = { DATE: p.period, PARTNER_NAME: p.partner.name, PARTNER_ID: String(p.partner.id), ROWS: String(rows) };
  let out = t.header.map((line) => expandMacros(line, macros) + '\n').join('');
  let written = 0;
  let key: string | undefined;
  let tail: string | undefined;
  let member: string | undefined;
  const outOfOrder = (what: string) =>
    new BatchFileError(`${where}: ${what}; the format step's output must be one sorted run (shuffle.reducers 1): re-run the job`);
  for await (const batch of batches) {
    const keys = batch.columns['row_key'] as string[];
    const heads = batch.columns['head'] as (string | null)[];
    const tails = batch.columns['tail'] as (string | null)[];
    const members = batch.columns['member'] as (string | null)[];
    for (let i = 0; i < batch.numRows; i++) {
      const head = heads[i];
      if (head !== null && head !== undefined) {
        if (key !== undefined && !(keys[i]! > key)) throw outOfOrder(`row ${JSON.stringify(keys[i])} comes after ${JSON.stringify(key)}`);
        if (tail !== undefined) out += tail + '\n';
        key = keys[i]!;
        tail = tails[i] ?? '';
        member = undefined;
        out += head;
        written++;
      } else {
        const m = members[i]!;
        if (keys[i] !== key) throw outOfOrder(`member ${JSON.stringify(m)} of ${JSON.stringify(keys[i])} does not follow its row's head`);
        if (member !== undefined && !(m > member)) throw outOfOrder(`member ${JSON.stringify(m)} of ${JSON.stringify(key)} comes after ${JSON.stringify(member)}`);
        out += member === undefined ? m : t.segmentDelimiter + m;
        member = m;
      }
      if (out.length >= CHUNK_CHARS) {
        yield out;
        out = '';
      }
    }
  }
  if (tail !== undefined) out += tail + '\n';
  if (written !== rows) throw new BatchFileError(`${where}: wrote ${written} rows but the job counted ${rows}; the header's \${ROWS} would be wrong`);
  if (out.length > 0) yield out;
}

/** Text chunks as the file's bytes: gzipped (node:zlib, streamed with backpressure) or UTF-8 as is. */
function encoded(text: AsyncIterable<string>, compression: 'gzip' | 'none'): Readable {
  const source = Readable.from(text, { objectMode: false, encoding: 'utf8' });
  if (compression === 'none') return source;
  const gzip = createGzip();
  // pipeline destroys the gzip stream with the source's error, so the writer reading it fails with that error.
  pipeline(source, gzip).catch(() => undefined);
  return gzip;
}

/** Where and how a batch dataset is written. */
export interface BatchDatasetWrite {
  readonly uri: string;
  readonly params: BatchFormatterParams;
  /** The format step's output rows, in order. */
  readonly batches: AsyncIterable<ColumnBatch>;
  /** Data rows the job counted (`${ROWS}`). */
  readonly rows: number;
  readonly inputs: readonly string[];
  readonly createdBy: BatchRunInfo;
  readonly overwrite?: boolean;
  /** Facts of the run for the `_SUCCESS` marker (counters). */
  readonly extra?: Record<string, unknown>;
}

/** What was written: the dataset's marker, the data file and the manifest. */
export interface BatchDatasetWritten {
  readonly marker: DatasetMarker;
  readonly file: MarkerFile;
  readonly manifestFile: MarkerFile;
  readonly manifest: BatchManifest;
}

/**
 * Writes the batch file, then its manifest, then `_SUCCESS` (DatasetStaging): a failure anywhere removes the
 * staged files, so nothing is left that looks complete.
 */
export async function writeBatchDataset(w: BatchDatasetWrite): Promise<BatchDatasetWritten> {
  const t = w.params.partner.template;
  const name = batchFileName(w.params);
  const staging = await DatasetStaging.begin(fileSystemFor(w.uri), w.uri, { overwrite: w.overwrite });
  try {
    const where = `batch file ${w.uri}/${name}`;
    const file = await unwrapped(staging.addFile(name, encoded(batchFileText(w.batches, w.params, w.rows, where), t.compression), w.rows));
    const manifest: BatchManifest = {
      format: 'courier-batch-manifest/1',
      partner: { id: w.params.partner.id, name: w.params.partner.name },
      schedule: w.params.partner.schedule,
      period: w.params.period,
      file: name,
      rows: w.rows,
      headerLines: t.header.length,
      bytes: file.bytes,
      sha256: file.sha256,
      compression: t.compression,
      groupBy: t.groupBy,
      inputs: w.inputs,
      createdBy: w.createdBy,
      createdAt: new Date().toISOString(),
    };
    const manifestFile = await staging.addFile(name + MANIFEST_SUFFIX, JSON.stringify(manifest, null, 2) + '\n', 0);
    const marker = await staging.commit({ kind: 'files', extra: { ...w.extra, ...w.createdBy, partner: manifest.partner, period: w.params.period, file: name } });
    return { marker, file, manifestFile, manifest };
  } catch (e) {
    await staging.abort();
    throw e;
  }
}

/** The file system reports a failed write as a StorageError; a BatchFileError behind it is the real story. */
async function unwrapped<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (e) {
    if ((e as Error).cause instanceof BatchFileError) throw (e as Error).cause;
    throw e;
  }
}
