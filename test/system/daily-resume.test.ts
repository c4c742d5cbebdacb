/**
 * Resume of the real daily workflow: `courier run daily-refresh` (local engine, worker threads) is killed with
 * SIGKILL in the middle of a stage, then run again. Completed stages are skipped, the killed one re-runs from
 * scratch, and every output (cookie-sync store, requests, batch file bytes) equals a clean run's.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticData } from '../../jobs/synthetic/index.ts';
import { STREAMING_AND_BATCH_PARTNERS, MAPPED_SEGMENT_IDS } from '../support/workflow-config.ts';
import { batchToRows, datasetFiles, readDataset, toStorageUri, type Row } from '../../storage/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/courier.js');
const D1 = '2026-11-22';
const D2 = '2026-11-23';

const config = `storage:
  root: ./data
engine:
  kind: local
  local: { workers: 2, memoryMb: 256 }
${STREAMING_AND_BATCH_PARTNERS}`;

interface Courier {
  dir: string;
  data: string;
}

async function makeSetup(name: string): Promise<Courier> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `courier-resume-${name}-`));
  await fs.writeFile(path.join(dir, 'pw.txt'), 'secret\n');
  await fs.writeFile(path.join(dir, 'courier.yaml'), config);
  const data = path.join(dir, 'data');
  await generateSyntheticData({
    out: toStorageUri(data),
    logs: 60_000,
    segments: 8_000,
    partners: 2,
    configuredPartnerIds: [17, 42],
    configuredSegmentIds: MAPPED_SEGMENT_IDS,
    days: 2,
    date: D2,
    seed: 11,
  });
  return { dir, data };
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `courier run daily-refresh --date <date>`; with `killWhen`, SIGKILLs it once its stderr matches. */
function runDaily(c: Courier, date: string, killWhen?: RegExp): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, 'run', 'daily-refresh', '--date', date], { cwd: c.dir, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const guard = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (killWhen && killWhen.test(stderr)) p.kill('SIGKILL');
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const canonical = (rows: Row[]): string[] => rows.map((r) => JSON.stringify(r, (_, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v))).sort();

async function rowsOf(uri: string): Promise<string[]> {
  const rows: Row[] = [];
  const { schema } = await datasetFiles(uri);
  for await (const b of readDataset(uri)) rows.push(...batchToRows(schema, b));
  return canonical(rows);
}

/** What a day produced: store and request rows, the batch file's content and its manifest's facts. */
async function outputsOf(c: Courier, date: string): Promise<Record<string, unknown>> {
  const root = toStorageUri(c.data);
  const batchDir = path.join(c.data, 'batch', 'globex-dmp', `dt=${date}`);
  const file = path.join(batchDir, `globex-dmp_${date}.tsv.gz`);
  const bytes = await fs.readFile(file);
  const manifest = JSON.parse(await fs.readFile(`${file}.manifest.json`, 'utf8')) as Record<string, unknown>;
  return {
    store: await rowsOf(`${root}/cookie-sync-store/dt=${date}`),
    requests: await rowsOf(`${root}/requests/dt=${date}`),
    batchSha256: createHash('sha256').update(bytes).digest('hex'),
    batchText: gunzipSync(bytes).toString('utf8'),
    manifest: { rows: manifest['rows'], bytes: manifest['bytes'], sha256: manifest['sha256'] },
  };
}

let clean: Courier;
let killed: Courier;
beforeAll(async () => {
  [clean, killed] = await Promise.all([makeSetup('clean'), makeSetup('killed')]);
}, 60_000);
afterAll(async () => {
  await Promise.all([clean, killed].filter(Boolean).map((c) => fs.rm(c.dir, { recursive: true, force: true })));
});

describe('daily-refresh killed mid-stage and run again', () => {
  it('resumes: completed stages skipped, the killed stage re-run, outputs equal to a clean run', async () => {
    for (const date of [D1, D2]) {
      const r = await runDaily(clean, date);
      expect(r.code, r.stderr).toBe(0);
    }

    // Day 1: killed while the refresher's first step is mapping (nothing of the stage committed yet).
    const k1 = await runDaily(killed, D1, /refresher merge-store: [\d,]+\/[\d,]+ records in/);
    expect(k1.signal, k1.stderr).toBe('SIGKILL');
    const r1 = await runDaily(killed, D1);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toMatch(/refresher +succeeded/);

    // Day 2: killed once the refresher is done and the batch formatter has started.
    const k2 = await runDaily(killed, D2, /format-globex-dmp started/);
    expect(k2.signal, k2.stderr).toBe('SIGKILL');
    expect(k2.stderr).toMatch(/refresher succeeded/);
    const r2 = await runDaily(killed, D2);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/refresher +skipped/);
    expect(r2.stdout).toMatch(/format-globex-dmp +succeeded/);
    expect(r2.stdout).toMatch(/handoff +succeeded/);

    for (const date of [D1, D2]) {
      const want = await outputsOf(clean, date);
      const got = await outputsOf(killed, date);
      expect((want['requests'] as string[]).length).toBeGreaterThan(0);
      expect(got).toEqual(want);
    }
  }, 240_000);
});
