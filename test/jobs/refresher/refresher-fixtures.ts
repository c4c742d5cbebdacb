/**
 * Hand-built refresher inputs (gzipped log days, segment snapshots with PII columns) and readers of its outputs
 * as canonical rows, shared by the refresher tests.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { segmentDataSchema } from '../../../jobs/synthetic/index.ts';
import {
  batchToRows,
  DatasetStaging,
  fileSystemFor,
  joinUri,
  markerSchema,
  readDataset,
  readMarker,
  writeDataset,
  type Row,
} from '../../../storage/index.ts';
import { formatSyncTarget, formatWebappLogLine, isRefreshDue, parseLogTimestamp } from '../../../udfs/index.ts';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0';

/** A cookie-sync log line (status 302, as the webapp answers a sync redirect). */
export function syncLine(ts: string, cookieId: string, partnerId: number, puid: string): string {
  return formatWebappLogLine({
    ts: parseLogTimestamp(ts),
    host: 'web-01',
    method: 'GET',
    target: formatSyncTarget(partnerId, puid),
    status: 302,
    cookieId,
    userAgent: UA,
    latencyMs: 2,
  });
}

/** A page view: not a sync. */
export function pageLine(ts: string, cookieId: string | null): string {
  return formatWebappLogLine({ ts: parseLogTimestamp(ts), host: 'web-01', method: 'GET', target: '/products/7', status: 200, cookieId, userAgent: UA, latencyMs: 9 });
}

/** Writes `logs/dt=<date>` as a files dataset of gzipped log files (`{ 'hour=00/webapp-web-01.log.gz': lines }`). */
export async function writeLogDay(root: string, date: string, files: Record<string, readonly string[]>): Promise<void> {
  const uri = joinUri(root, 'logs', `dt=${date}`);
  const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
  for (const [file, lines] of Object.entries(files)) {
    await staging.addFile(file, gzipSync(lines.map((l) => `${l}\n`).join('')), lines.length);
  }
  await staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
}

/** One segment data row as matching delivers it. */
export interface SegmentRow {
  cookie_id: string;
  segment_ids: number[];
  email?: string | null;
  postal_address?: string | null;
}

/** Writes `segments/dt=<date>` with the full input schema (PII columns included). */
export async function writeSegmentDay(root: string, date: string, rows: readonly SegmentRow[]): Promise<void> {
  const updated = Date.parse(`${date}T03:00:00Z`);
  const batch = {
    numRows: rows.length,
    columns: {
      cookie_id: rows.map((r) => r.cookie_id),
      segment_ids: rows.map((r) => Int32Array.from(r.segment_ids)),
      updated_at: Float64Array.from(rows.map(() => updated)),
      email: rows.map((r) => r.email ?? null),
      postal_address: rows.map((r) => r.postal_address ?? null),
    },
  };
  await writeDataset(joinUri(root, 'segments', `dt=${date}`), segmentDataSchema, [batch]);
}

/** A cookie id (22 base64url characters) derived from `name`, whose rota slot is (or is not) due on `date`. */
export function cookieNamed(name: string, due?: { date: string; everyDays: number; due: boolean }): string {
  for (let i = 0; ; i++) {
    const id = createHash('sha256').update(`${name}/${i}`).digest().subarray(0, 16).toString('base64url');
    if (!due || isRefreshDue(id, due.date, due.everyDays) === due.due) return id;
  }
}

/** Plain JSON-able values: typed arrays as arrays. */
function plain(row: Row): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : Array.isArray(v) ? [...v] : v]));
}

/** Every row of a complete dataset (partition columns restored), sorted canonically. */
export async function readRows(uri: string): Promise<Record<string, unknown>[]> {
  const marker = await readMarker(fileSystemFor(uri), uri);
  const schema = markerSchema(marker, uri);
  const rows: Record<string, unknown>[] = [];
  for await (const b of readDataset(uri)) for (const r of batchToRows(schema, b)) rows.push(plain(r));
  return rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

/** Every regular file below a local directory. */
export async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(p)));
    else out.push(p);
  }
  return out.sort();
}

/**
 * A file's content as text for scanning: Parquet rows as JSON (every column, read by DuckDB directly with Hive
 * partitioning off, so nothing is filtered by a schema), gzip inflated, anything else as is.
 */
export async function readableContent(file: string): Promise<string> {
  const bytes = await fs.readFile(file);
  if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}', hive_partitioning = false)`);
      return reader.getRowObjectsJson().map((r) => JSON.stringify(r)).join('\n');
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return gunzipSync(bytes).toString('utf8');
  return bytes.toString('utf8');
}
