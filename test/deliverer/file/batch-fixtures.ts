// Batch datasets as the batch formatter writes them (data file, `<file>.manifest.json`, `_SUCCESS` last), made
// with storage's DatasetStaging so the deliverer's tests need no formatter run; and small helpers around them.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { DatasetStaging, fileSystemFor, joinUri } from '../../../storage/index.ts';

export interface WrittenBatch {
  readonly path: string;
  readonly fileName: string;
  readonly content: Buffer;
  readonly sha256: string;
  readonly manifest: Record<string, unknown>;
  readonly markerChecksum: string;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Rows of `partner_user_id<TAB>segments` text, random enough that gzip keeps most of the size. */
export function batchText(rows: number, seed = randomBytes(8).toString('hex')): string {
  let out = '';
  for (let i = 0; i < rows; i++) out += `u${seed}${i}-${randomBytes(12).toString('base64url')}\tGX-AUTO,GX-${i % 97}\n`;
  return out;
}

/**
 * Writes `batch/<partner>/dt=<period>/` (or month=) with a gzip data file of about `approxBytes` and its manifest.
 * `headerLines` is what the manifest says the producer wrote (the formatter writes the template's header itself).
 */
export async function writeBatch(
  storageRoot: string,
  options: { partner: string; period: string; approxBytes?: number; headerLines?: number; text?: string; fileName?: string },
): Promise<WrittenBatch> {
  const monthly = /^\d{4}-\d{2}$/.test(options.period);
  const dsPath = `batch/${options.partner}/${monthly ? 'month' : 'dt'}=${options.period}`;
  const fileName = options.fileName ?? `${options.partner}_${options.period}.tsv.gz`;
  const text = options.text ?? batchText(Math.max(1, Math.round((options.approxBytes ?? 20_000) / 50)));
  const rows = text.split('\n').filter(Boolean).length;
  const content = gzipSync(text, { level: 1 });
  const staging = await DatasetStaging.begin(fileSystemFor(storageRoot), joinUri(storageRoot, dsPath), { overwrite: true });
  const file = await staging.addFile(fileName, content, rows);
  const manifest = {
    format: 'courier-batch-manifest/1',
    partner: { id: 42, name: options.partner },
    schedule: monthly ? 'monthly' : 'daily',
    period: options.period,
    file: fileName,
    rows,
    headerLines: options.headerLines ?? 2,
    bytes: file.bytes,
    sha256: file.sha256,
    compression: 'gzip',
    groupBy: 'cookie',
  };
  await staging.addFile(`${fileName}.manifest.json`, JSON.stringify(manifest, null, 2) + '\n', 0);
  const marker = await staging.commit({ kind: 'files', extra: { partner: manifest.partner, period: options.period, file: fileName } });
  return { path: dsPath, fileName, content, sha256: file.sha256, manifest, markerChecksum: marker.checksum };
}

/** A fresh temp dir with a storage root URI inside it. */
export async function tempStore(prefix: string): Promise<{ dir: string; root: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.mkdir(path.join(dir, 'store'));
  return { dir, root: pathToFileURL(path.join(dir, 'store')).href };
}

/** A logger whose JSON lines are kept, to check what was (and was not) logged. */
export function capturedLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

/** Reads a JSON file. */
export async function readJson<T = Record<string, unknown>>(file: string): Promise<T> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as T;
}

/** Polls `check` every `everyMs` until it returns a value, for at most `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
