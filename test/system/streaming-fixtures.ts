// Pieces of the streaming system tests: request datasets as the refresher writes them, a config for partners at a
// partner stub, and running `courier` as a separate process that can be killed.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataSyncRequestSchema } from '../../jobs/refresher/data-sync-request.ts';
import type { SyncRequest } from '../../queue-bridge/index.ts';
import { joinUri, rowsToBatch, toStorageUri, writeDataset } from '../../storage/index.ts';

const bin = fileURLToPath(new URL('../../bin/courier.js', import.meta.url));

/** `n` requests of a partner with ids `<partner>-<i>`, a tenth of them high priority. */
export function partnerRequests(partnerId: number, n: number): SyncRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    requestId: `${partnerId}-${i}`,
    partnerId,
    priority: i % 10 === 0 ? 'high' : 'normal',
    cookieId: `ck-${partnerId}-${i}`,
    partnerUserId: `user-${i}`,
    segments: [`seg-${i % 4}`],
    removedSegments: [],
    syncedAt: Date.UTC(2026, 10, 23),
    expiresAt: Date.UTC(2026, 11, 23),
  }));
}

/** Writes `requests/dt=<day>` under `root` (partitioned partner/priority, with its marker), as the refresher does. */
export async function writeRequestDataset(root: string, day: string, requests: SyncRequest[]): Promise<void> {
  const rows = requests.map((r) => ({
    request_id: r.requestId,
    partner_id: r.partnerId,
    priority: r.priority,
    cookie_id: r.cookieId,
    partner_user_id: r.partnerUserId,
    segments: r.segments,
    removed_segments: r.removedSegments,
    synced_at: r.syncedAt,
    expires_at: r.expiresAt,
  }));
  await writeDataset(joinUri(toStorageUri(root), `requests/dt=${day}`), dataSyncRequestSchema, [rowsToBatch(dataSyncRequestSchema, rows)], {
    partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'],
  });
}

/** A streaming partner of the config, at `<stub>/<name>/sync`. */
export interface StubPartnerConfig {
  id: number;
  name: string;
  retry?: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  concurrency?: number;
}

/** Writes `<dir>/courier.yaml`: storage under `dir`, the given queue section, partners at the stub. */
export async function writeStreamingConfig(dir: string, stubUrl: string, partners: StubPartnerConfig[], queueYaml: string, syncerYaml = ''): Promise<string> {
  const partnerYaml = partners
    .map((p) => {
      const retry = p.retry ?? { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 100 };
      return `  - id: ${p.id}
    name: ${p.name}
    delivery: streaming
    segmentMap: { 1: a }
    streaming:
      url: ${stubUrl}/${p.name}/sync?uid=\${PARTNER_USER_ID}
      headers: { Content-Type: application/json }
      body: '{"segments":\${SEGMENTS}}'
      concurrency: ${p.concurrency ?? 8}
      timeoutMs: 2000
      retry: { maxAttempts: ${retry.maxAttempts}, baseDelayMs: ${retry.baseDelayMs}, maxDelayMs: ${retry.maxDelayMs} }`;
    })
    .join('\n');
  const file = path.join(dir, 'courier.yaml');
  await fsp.writeFile(
    file,
    `storage:\n  root: ./data\n${queueYaml}\nsyncer:\n  idlePollMs: 50\n  deadLetters: { flushEveryMs: 200 }\n${syncerYaml}partners:\n${partnerYaml}\n`,
  );
  return file;
}

/** A `courier` child process. */
export interface CourierProcess {
  readonly child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** Starts `node bin/courier.js args` in `cwd`. */
export function startCourier(args: string[], cwd: string): CourierProcess {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** Waits for `condition`, polling; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
