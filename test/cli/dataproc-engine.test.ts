// `courier run daily-refresh --engine dataproc` as users run it (the real executable), against the local
// insecure gRPC stand-in of the Dataproc services (COURIER_DATAPROC_EMULATOR_HOST). The stand-in runs no Spark:
// its jobs carry out each step from the spec staged next to its SQL, with the stage bundle over the streaming
// protocol, on the directory that stands for the bucket (see test/support/dataproc-step-executor.ts).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticData } from '../../jobs/synthetic/index.ts';
import { readMarker, fileSystemFor, toStorageUri } from '../../storage/index.ts';
import { loadDataprocRoot, startDataprocServer, type DataprocServer } from '../support/dataproc-server.ts';
import { streamingStepExecutor } from '../support/dataproc-step-executor.ts';
import { MAPPED_SEGMENT_IDS, STREAMING_AND_BATCH_PARTNERS } from '../support/workflow-config.ts';
import { runCourier } from './run-courier.ts';

const D = '2026-11-23';
const BUCKET = 'gs://courier-cli-bucket';
let dir: string;
let server: DataprocServer;

const config = (clusterName: string) => `storage:
  root: ./bucket/courier
engine:
  kind: local
  local: { workers: 2 }
  dataproc:
    projectId: courier-test
    region: europe-west1
    clusterName: ${clusterName}
    storageUri: ${BUCKET}/courier
    stagingUri: ${BUCKET}/courier/_staging
    pollSeconds: 0.05
${STREAMING_AND_BATCH_PARTNERS}`;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-dataproc-cli-'));
  await fs.writeFile(path.join(dir, 'courier.yaml'), config('courier-prod'));
  await fs.writeFile(path.join(dir, 'bad-name.yaml'), config('Courier_Prod'));
  await fs.writeFile(path.join(dir, 'pw.txt'), 'secret\n');
  await generateSyntheticData({ out: toStorageUri(path.join(dir, 'bucket', 'courier')), logs: 5_000, segments: 800, partners: 2, configuredPartnerIds: [17, 42], configuredSegmentIds: MAPPED_SEGMENT_IDS, days: 1, date: D, seed: 3 });
  server = await startDataprocServer({ clusters: ['courier-prod'], execute: streamingStepExecutor({ clusterRoot: BUCKET, localDir: path.join(dir, 'bucket') }) });
}, 120_000);
afterAll(async () => {
  await server?.settled();
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const courier = (args: string[]) => runCourier(args, { cwd: dir, env: { COURIER_DATAPROC_EMULATOR_HOST: `127.0.0.1:${server.port}` } });

describe('courier run --engine dataproc (stand-in Dataproc)', () => {
  it('--dry-run prints the exact request as JSON, a valid template of the package protos, and sends nothing', async () => {
    const r = await courier(['run', 'daily-refresh', '--date', D, '--engine', 'dataproc', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const request = JSON.parse(r.stdout) as Record<string, unknown>;
    const Request = loadDataprocRoot().lookupType('google.cloud.dataproc.v1.InstantiateInlineWorkflowTemplateRequest');
    expect(Request.verify(request)).toBeNull();
    expect(Request.toObject(Request.fromObject(request), { longs: Number, enums: String, defaults: false })).toEqual(request);
    const jobs = (request['template'] as { jobs: { stepId: string }[] }).jobs.map((j) => j.stepId);
    expect(jobs).toEqual(['refresher-merge-store', 'refresher-requests', 'format-globex-dmp-latest', 'format-globex-dmp-format']);
    expect(server.requests).toHaveLength(0);
  }, 120_000);

  it('runs daily-refresh end to end: progress per stage, datasets marked, the hand-off written, courier runs shows it; a second run skips all', async () => {
    const r = await courier(['run', 'daily-refresh', '--date', D, '--engine', 'dataproc']);
    expect(r.code, r.stderr).toBe(0);
    expect(server.requests).toHaveLength(1);
    expect(r.stderr).toMatch(/refresher merge-store: [\d,]+\/[\d,]+ records in, [\d,]+ out/);
    expect(r.stderr).toMatch(/format-globex-dmp format: /);
    const root = toStorageUri(path.join(dir, 'bucket', 'courier'));
    for (const p of [`cookie-sync-store/dt=${D}`, `requests/dt=${D}`, `batch/globex-dmp/dt=${D}`, `outbox/dt=${D}`]) {
      const marker = await readMarker(fileSystemFor(`${root}/${p}`), `${root}/${p}`);
      expect(marker.rows, p).toBeGreaterThanOrEqual(0);
    }
    const runs = await courier(['--json', 'runs', 'daily-refresh']);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toContain('"runner": "dataproc"');
    expect(runs.stdout).toContain('"state": "succeeded"');
    const again = await courier(['run', 'daily-refresh', '--date', D, '--engine', 'dataproc']);
    expect(again.code, again.stderr).toBe(0);
    expect(server.requests).toHaveLength(1);
  }, 240_000);

  it('a cluster name Dataproc cannot have is a config error naming engine.dataproc.clusterName', async () => {
    const r = await courier(['--config', 'bad-name.yaml', 'run', 'daily-refresh', '--date', D, '--engine', 'dataproc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('engine.dataproc.clusterName');
    expect(r.stderr).toContain('Dataproc cluster names start with a lowercase letter');
  }, 60_000);
});
