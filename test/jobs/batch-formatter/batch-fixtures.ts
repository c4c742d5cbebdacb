/**
 * Helpers of the batch formatter tests: a temp storage root, data sync request datasets written with storage's
 * writeDataset (partitioned by partner and priority as the refresher writes them), reading a batch file back
 * (gunzipped and checked), and golden files (regenerated with UPDATE_GOLDEN=1).
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { joinUri, localPath, readMarker, fileSystemFor, rowsToBatch, toStorageUri, writeDataset, type Row } from '../../../storage/index.ts';
import { dataSyncRequestSchema } from '../../../jobs/refresher/data-sync-request.ts';
import type { BatchFormatterResult, BatchManifest } from '../../../jobs/batch-formatter/index.ts';

export interface TempRoot {
  readonly dir: string;
  readonly root: string;
}

export async function makeTempRoot(): Promise<TempRoot> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-batch-'));
  return { dir, root: toStorageUri(dir) };
}

export async function removeTempRoot(t: TempRoot | undefined): Promise<void> {
  if (t) await fsp.rm(t.dir, { recursive: true, force: true });
}

/** A data sync request as a test writes it; the rest is filled in. */
export interface RequestSpec {
  readonly cookie: string;
  readonly puid?: string;
  readonly segments: readonly string[];
  readonly partner?: number;
  readonly priority?: 'high' | 'normal';
  /** ISO time of the sync; default noon of the dataset's day. */
  readonly syncedAt?: string;
  /** ISO expiry; default 60 days after the dataset's day. */
  readonly expiresAt?: string;
  readonly requestId?: string;
}

const DAY = 86_400_000;

export function requestRow(date: string, r: RequestSpec): Row {
  const day = Date.parse(`${date}T00:00:00Z`);
  const partner = r.partner ?? 42;
  return {
    request_id: r.requestId ?? createHash('sha256').update(`${date}|${partner}|${r.cookie}`).digest('hex').slice(0, 32),
    partner_id: partner,
    priority: r.priority ?? 'normal',
    cookie_id: r.cookie,
    partner_user_id: r.puid ?? `U-${r.cookie.slice(0, 6)}`,
    segments: [...r.segments],
    removed_segments: [],
    synced_at: r.syncedAt ? Date.parse(r.syncedAt) : day + DAY / 2,
    expires_at: r.expiresAt ? Date.parse(r.expiresAt) : day + 60 * DAY,
  };
}

/** Writes `requests/dt=<date>` (complete, possibly empty) as the refresher would. */
export async function writeRequests(t: TempRoot, date: string, requests: readonly RequestSpec[]): Promise<void> {
  const rows = requests.map((r) => requestRow(date, r));
  await writeDataset(joinUri(t.root, `requests/dt=${date}`), dataSyncRequestSchema, rows.length ? [rowsToBatch(dataSyncRequestSchema, rows)] : [], {
    partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'],
  });
}

/** A batch file's bytes and its text (gunzipped when the manifest says gzip, which also proves it valid gzip). */
export async function readBatchFile(result: BatchFormatterResult): Promise<{ bytes: Buffer; text: string; manifest: BatchManifest }> {
  const [file, manifestFile] = result.files;
  const bytes = await fsp.readFile(localPath(file.uri));
  const manifest = JSON.parse(await fsp.readFile(localPath(manifestFile.uri), 'utf8')) as BatchManifest;
  let text: string;
  if (manifest.compression === 'gzip') {
    expect([bytes[0], bytes[1]], 'gzip magic').toEqual([0x1f, 0x8b]);
    text = gunzipSync(bytes).toString('utf8');
  } else {
    text = bytes.toString('utf8');
  }
  return { bytes, text, manifest };
}

/** Checks what every complete batch dataset must satisfy: marker, manifest and file agree byte for byte. */
export async function expectConsistentDataset(result: BatchFormatterResult): Promise<{ text: string; bytes: Buffer; manifest: BatchManifest }> {
  const read = await readBatchFile(result);
  const [file, manifestFile] = result.files;
  const sha = createHash('sha256').update(read.bytes).digest('hex');
  expect(read.manifest.sha256).toBe(sha);
  expect(read.manifest.bytes).toBe(read.bytes.length);
  expect(file).toMatchObject({ path: read.manifest.file, bytes: read.bytes.length, sha256: sha, rows: read.manifest.rows });
  const marker = await readMarker(fileSystemFor(result.dataset), result.dataset);
  expect(marker.kind).toBe('files');
  expect(marker.files.map((f) => f.path)).toEqual([file.path, manifestFile.path].sort());
  expect(marker.files.find((f) => f.path === file.path)).toEqual({ path: file.path, rows: file.rows, bytes: file.bytes, sha256: file.sha256 });
  const dataLines = read.text.split('\n').slice(read.manifest.headerLines, -1);
  expect(read.text.endsWith('\n') || read.text === '').toBe(true);
  expect(dataLines.length).toBe(read.manifest.rows);
  return read;
}

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

/** Compares `text` with `golden/<name>` exactly; UPDATE_GOLDEN=1 writes it instead. */
export async function expectGolden(name: string, text: string): Promise<void> {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    await fsp.writeFile(file, text);
    return;
  }
  const expected = await fsp.readFile(file, 'utf8').catch(() => {
    throw new Error(`golden file ${file} is missing; run UPDATE_GOLDEN=1 npx vitest run test/jobs/batch-formatter, review it, and commit it`);
  });
  expect(text, `batch file differs from golden/${name} (UPDATE_GOLDEN=1 regenerates it after review)`).toBe(expected);
}
