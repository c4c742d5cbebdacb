// The Dataproc engine against a local insecure gRPC stand-in of the Dataproc services, loaded from the
// client package's own protos (test/support/dataproc-server.ts). The stand-in cannot run Spark: in the round
// trips its jobs carry out each step from the spec staged next to its SQL, with the stage bundle over the
// streaming protocol (test/support/dataproc-step-executor.ts); elsewhere a job just succeeds, fails or waits.
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { grpc } from 'google-gax';
import protobuf from 'protobufjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataprocRunner, localRunner, type DataprocRunnerOptions, type StepProgress } from '../../engine/index.ts';
import { generateSyntheticData } from '../../jobs/synthetic/index.ts';
import { listDatasets, readMarker, fileSystemFor, toStorageUri } from '../../storage/index.ts';
import { dailyRefreshWorkflow, listRuns, planWorkflowSubmission, runWorkflow, type CourierWorkflowSettings, type WorkflowEvent } from '../../workflows/index.ts';
import { readRows } from './conformance/fixtures.ts';
import { loadDataprocRoot, startDataprocServer, type DataprocServer, type StandInExecute } from '../support/dataproc-server.ts';
import { streamingStepExecutor } from '../support/dataproc-step-executor.ts';

const D = '2026-11-23';
const BUCKET = 'gs://courier-test-bucket';
const settings: CourierWorkflowSettings = {
  refresherPartners: [
    { id: 17, segmentMap: { '1001': 'acme-auto', '1002': 'acme-travel', '1003': '55012' }, expiryDays: 30 },
    { id: 42, segmentMap: { '1001': 'GX-AUTO', '1004': 'GX-SPORTS' }, expiryDays: 60 },
  ],
  storeMaxAgeDays: 90,
  refreshEveryDays: 7,
  batchPartners: [{ id: 42, name: 'globex-dmp', schedule: 'daily', template: { fields: ['partner_user_id', 'segments'], header: ['#rows=${ROWS}'] } }],
};
const workflow = dailyRefreshWorkflow(settings);

let tmp: string;
let seeded: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-dataproc-'));
  seeded = path.join(tmp, 'seed');
  await generateSyntheticData({ out: toStorageUri(seeded), logs: 4_000, segments: 600, partners: 2, configuredPartnerIds: [17, 42], configuredSegmentIds: [1001, 1002, 1003, 1004], days: 1, date: D, seed: 5 });
}, 120_000);
afterAll(async () => fsp.rm(tmp, { recursive: true, force: true }));

/** A fresh bucket directory (a copy of the seeded inputs) standing for gs://courier-test-bucket. */
async function bucket(name: string): Promise<{ dir: string; root: string }> {
  const dir = path.join(tmp, name);
  await fsp.cp(seeded, path.join(dir, 'courier'), { recursive: true });
  return { dir, root: toStorageUri(path.join(dir, 'courier')) };
}

let server: DataprocServer | undefined;
let runner: DataprocRunner | undefined;
afterEach(async () => {
  await runner?.close();
  await server?.settled();
  await server?.close();
  runner = server = undefined;
});

async function setUp(name: string, execute: (dir: string) => StandInExecute, extra: Partial<DataprocRunnerOptions> = {}, standIn: { unavailableGetOperations?: number } = {}) {
  const b = await bucket(name);
  server = await startDataprocServer({ clusters: ['courier-prod'], execute: execute(b.dir), ...standIn });
  runner = new DataprocRunner({
    projectId: 'courier-test',
    region: 'europe-west1',
    clusterName: 'courier-prod',
    storageRoot: b.root,
    storageUri: `${BUCKET}/courier`,
    stagingUri: `${BUCKET}/courier/_staging`,
    pollMs: 25,
    // universeDomain given: the client then never looks for credentials (no metadata-server probe off this machine).
    clientOptions: { apiEndpoint: '127.0.0.1', port: server.port, sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' },
    ...extra,
  });
  return b;
}

const executeSteps = (dir: string) => streamingStepExecutor({ clusterRoot: BUCKET, localDir: dir });

describe('Dataproc runner on the stand-in', () => {
  it('daily-refresh round trip: one template, jobs in DAG order, datasets committed with markers, the same rows as the local engine, run history', async () => {
    const { root } = await setUp('round-trip', executeSteps);
    const events: WorkflowEvent[] = [];
    const result = await runWorkflow(workflow, { date: D, storageRoot: root, settings, runner: runner!, onEvent: (e) => events.push(e) });
    expect(result.state, result.error).toBe('succeeded');

    // One inline template: four Spark SQL steps, each after the one before (refresher, then the partner's formatter).
    expect(server!.requests).toHaveLength(1);
    const template = server!.requests[0]!['template'] as { jobs: { stepId: string; prerequisiteStepIds?: string[]; sparkSqlJob: { queryFileUri: string } }[]; placement: unknown };
    expect(template.jobs.map((j) => [j.stepId, j.prerequisiteStepIds ?? []])).toEqual([
      ['refresher-merge-store', []],
      ['refresher-requests', ['refresher-merge-store']],
      ['format-globex-dmp-latest', ['refresher-requests']],
      ['format-globex-dmp-format', ['format-globex-dmp-latest']],
    ]);
    expect(template.placement).toMatchObject({ clusterSelector: { clusterLabels: { 'goog-dataproc-cluster-name': 'courier-prod' } } });
    for (const j of template.jobs) expect(j.sparkSqlJob.queryFileUri).toMatch(new RegExp(`^${BUCKET}/courier/_staging/daily-refresh/${D}/.+/${j.stepId}\\.sql$`));

    // Outputs are complete datasets written by the Dataproc runner, equal row for row to a local run's.
    const local = await bucket('round-trip-local');
    const localResult = await runWorkflow(workflow, { date: D, storageRoot: local.root, settings, runner: localRunner({ workers: 2 }) });
    expect(localResult.state).toBe('succeeded');
    for (const p of [`cookie-sync-store/dt=${D}`, `requests/dt=${D}`]) {
      const marker = await readMarker(fileSystemFor(`${root}/${p}`), `${root}/${p}`);
      expect(marker.extra?.['runner'], p).toBe('dataproc');
      expect(sortRows(await readRows(`${root}/${p}`)), p).toEqual(sortRows(await readRows(`${local.root}/${p}`)));
    }
    const batchDir = `batch/globex-dmp/dt=${D}`;
    const files = async (r: string) => (await fsp.readdir(new URL(`${r}/${batchDir}`), { withFileTypes: true })).filter((f) => f.name.endsWith('.gz')).map((f) => f.name);
    const [name] = await files(root);
    expect(await files(local.root)).toEqual([name]);
    expect(await fsp.readFile(new URL(`${root}/${batchDir}/${name}`))).toEqual(await fsp.readFile(new URL(`${local.root}/${batchDir}/${name}`)));
    // The batch counters came back in band (Spark keeps no stderr counters): the file's header row count is right.
    const stage = result.stages.find((s) => s.name === 'format-globex-dmp')!;
    expect(stage.counters?.['batch']?.['rows']).toBeGreaterThan(0);

    // Progress: each step reported running, then done with its counts, under its stage.
    const progress = events.filter((e): e is Extract<WorkflowEvent, { type: 'stage-progress' }> => e.type === 'stage-progress');
    const done = progress.filter((e) => e.progress.phase === 'done').map((e) => `${e.stage}/${e.progress.step}`);
    expect(done).toEqual(['refresher/merge-store', 'refresher/requests', 'format-globex-dmp/latest', 'format-globex-dmp/format']);
    expect(progress.find((e) => e.progress.step === 'requests' && e.progress.phase === 'done')!.progress.recordsOut).toBeGreaterThan(0);
    // While a step runs, its total is what it will read: its inputs' marker rows, or what the step before it wrote.
    // (A formatter step may be over before its stage starts waiting, and then shows only as done.)
    const runningSteps = progress.filter((e) => e.progress.phase === 'map').map((e) => e.progress.step);
    expect(runningSteps).toEqual(expect.arrayContaining(['merge-store', 'requests']));
    for (const step of runningSteps) {
      const running = progress.find((e) => e.progress.step === step && e.progress.phase === 'map')!.progress;
      const finished = progress.find((e) => e.progress.step === step && e.progress.phase === 'done')!.progress;
      expect(running.recordsInTotal, step).toBe(finished.recordsIn);
    }
    expect(server!.operations[0]!.getOperations).toBeGreaterThan(4);

    // Run history as for local runs; a second run skips everything and submits nothing.
    const runs = await listRuns(root, { workflow: 'daily-refresh' });
    expect(runs.runs[0]!.state).toBe('succeeded');
    expect(runs.runs[0]!.params.runner).toBe('dataproc');
    const again = await runWorkflow(workflow, { date: D, storageRoot: root, settings, runner: runner! });
    expect(again.state).toBe('skipped');
    expect(server!.requests).toHaveLength(1);
    // Nothing is left in the work dirs but what a local run leaves.
    expect((await listDatasets(root)).filter((d) => d.path.includes('/spark/'))).toEqual([]);
  }, 180_000);

  it('a failing job fails its stage naming the stage, step, Dataproc job and driver output URI; later stages are blocked', async () => {
    const { root } = await setUp('failing', (dir) => async (job) => {
      if (job.stepId === 'refresher-requests') throw new Error('Script failed: TRANSFORM exited with code 1');
      return executeSteps(dir)(job);
    });
    const result = await runWorkflow(workflow, { date: D, storageRoot: root, settings, runner: runner! });
    expect(result.state).toBe('failed');
    const refresher = result.stages.find((s) => s.name === 'refresher')!;
    expect(refresher.state).toBe('failed');
    expect(refresher.attempts).toBe(1);
    const message = refresher.error!.message;
    expect(message).toContain('stage "refresher"');
    expect(message).toContain('step "requests"');
    expect(message).toMatch(/Dataproc step refresher-requests \(job refresher-requests-job1\) failed/);
    expect(message).toContain('Script failed: TRANSFORM exited with code 1');
    expect(message).toContain('driver output: gs://dataproc-staging-standin/google-cloud-dataproc-metainfo/courier-prod/jobs/refresher-requests-job1/driveroutput');
    expect(server!.getJobs).toEqual(['refresher-requests-job1']);
    expect(result.stages.find((s) => s.name === 'format-globex-dmp')!.state).toBe('blocked');
    // The step that ran before the failure was committed; the failed one was not.
    expect(await fileSystemFor(root).exists(`${root}/cookie-sync-store/dt=${D}/_SUCCESS`)).toBe(true);
    expect(await fileSystemFor(root).exists(`${root}/requests/dt=${D}/_SUCCESS`)).toBe(false);
  }, 120_000);

  it('long-running operation: polled until done, each node seen running before it completes', async () => {
    const seen: string[] = [];
    const { root } = await setUp('polling', () => async (job) => {
      seen.push(job.stepId);
      await new Promise((r) => setTimeout(r, 150));
      throw new Error('stop after the first step');
    });
    const progress: StepProgress[] = [];
    const result = await runWorkflow(workflow, { date: D, storageRoot: root, settings, runner: runner!, onEvent: (e) => e.type === 'stage-progress' && progress.push(e.progress) });
    expect(result.state).toBe('failed');
    expect(seen).toEqual(['refresher-merge-store']);
    expect(progress.map((p) => `${p.step}:${p.phase}`)).toEqual(['merge-store:map']);
    // 150 ms of job at 25 ms polls: several GetOperation calls, the last one seeing DONE.
    expect(server!.operations[0]!.getOperations).toBeGreaterThanOrEqual(5);
    expect(server!.operations[0]!.done).toBe(true);
  }, 60_000);

  it('polls through a flaky connection: GetOperation answered UNAVAILABLE is tried again and the run goes on', async () => {
    const { root } = await setUp('flaky', () => async () => undefined, {}, { unavailableGetOperations: 4 });
    const result = await runWorkflow(workflow, { date: D, storageRoot: root, settings, runner: runner! });
    // The jobs "ran" but wrote nothing, so the first commit fails naming its missing counts: polling itself survived.
    expect(result.stages.find((s) => s.name === 'refresher')!.error!.message).toMatch(/expected one counts row in .*spark\/merge-store\/counts, found 0/);
    expect(server!.operations[0]!.done).toBe(true);
    expect(server!.operations[0]!.getOperations).toBeGreaterThan(0);
  }, 60_000);

  it('an aborted run (Ctrl-C) cancels the operation with CancelOperation and fails naming the cancel', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const { root } = await setUp('cancel', () => (job) => {
      started();
      return new Promise<void>((_resolve, reject) => job.signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true }));
    });
    const controller = new AbortController();
    const run = runWorkflow(workflow, { date: D, storageRoot: root, settings, runner: runner!, signal: controller.signal });
    await running;
    controller.abort('SIGINT');
    const result = await run;
    expect(result.state).toBe('failed');
    expect(server!.cancels).toEqual([server!.operations[0]!.name]);
    expect(server!.operations[0]!.error?.code).toBe(1);
    expect(result.stages.find((s) => s.name === 'refresher')!.error!.message).toMatch(/cancelled/);
    expect(await fileSystemFor(root).exists(`${root}/cookie-sync-store/dt=${D}/_SUCCESS`)).toBe(false);
  }, 60_000);

  it('a cluster name no cluster has fails the run naming engine.dataproc.clusterName and what to do', async () => {
    const { root } = await setUp('bad-cluster', () => async () => undefined, { clusterName: 'courier-prd' });
    const result = await runWorkflow(workflow, { date: D, storageRoot: root, settings, runner: runner! });
    expect(result.state).toBe('failed');
    const message = result.stages.find((s) => s.name === 'refresher')!.error!.message;
    expect(message).toContain('Cluster selector did not match any cluster');
    expect(message).toContain('Check engine.dataproc.clusterName');
    expect(message).toContain('gcloud dataproc clusters list --region europe-west1');
    expect(server!.jobs).toEqual([]);
  }, 60_000);

  it('inputs from outside the run that are not complete fail the run naming them, and nothing is submitted', async () => {
    const { root } = await setUp('no-logs', () => async () => undefined);
    await fsp.rm(new URL(`${root}/logs/dt=${D}/_SUCCESS`), { force: true });
    const result = await runWorkflow(workflow, { date: D, storageRoot: root, settings, runner: runner! });
    expect(result.state).toBe('failed');
    expect(result.stages.find((s) => s.name === 'refresher')!.error!.message).toContain(`logs/dt=${D}`);
    expect(server!.requests).toEqual([]);
  }, 60_000);

  it('a job matches its submitted steps once: a second run of it (a stage retry) gets a template of its own', async () => {
    const { root } = await setUp('retry', () => async () => undefined);
    const request = await planWorkflowSubmission(workflow, { date: D, storageRoot: root, settings, runner: runner! });
    await runner!.submitWorkflow(request);
    const refresher = request.stages[0]!.jobs[0]!;
    // The stand-in's jobs write nothing, so each run fails at its first commit: what matters is where it ran.
    await expect(runner!.run(refresher.job, refresher.params, refresher.options)).rejects.toThrow(/expected one counts row/);
    expect(server!.requests).toHaveLength(1);
    await expect(runner!.run(refresher.job, refresher.params, refresher.options)).rejects.toThrow(/expected one counts row/);
    expect(server!.requests).toHaveLength(2);
    const second = server!.requests[1]!['template'] as { jobs: { stepId: string; prerequisiteStepIds?: string[] }[] };
    expect(second.jobs.map((j) => j.stepId)).toEqual(['refresher-merge-store', 'refresher-requests']);
  }, 60_000);

  it('the dry-run request is a complete InstantiateInlineWorkflowTemplateRequest of the package protos, unchanged by a proto round trip', async () => {
    const { root } = await setUp('dry-run', () => async () => undefined, {
      managedCluster: { imageVersion: '2.2-debian12', masterMachineType: 'n2-standard-4', workerMachineType: 'n2-standard-8', workers: 3, zone: 'europe-west1-b' },
    });
    const request = (await runner!.describeSubmission(await planWorkflowSubmission(workflow, { date: D, storageRoot: root, settings, runner: runner! }))) as Record<string, unknown>;
    const Request = loadDataprocRoot().lookupType('google.cloud.dataproc.v1.InstantiateInlineWorkflowTemplateRequest');
    expect(Request.verify(request)).toBeNull();
    // fromObject drops what the proto does not know: an unchanged round trip means every field is real.
    const back = Request.toObject(Request.fromObject(request), { longs: Number, enums: String, defaults: false });
    expect(back).toEqual(request);
    const template = request['template'] as { jobs: unknown[]; placement: { managedCluster: { config: { initializationActions: { executableFile: string }[]; gceClusterConfig: { metadata: Record<string, string> } } } } };
    expect(template.jobs).toHaveLength(4);
    expect(template.placement.managedCluster.config.initializationActions[0]!.executableFile).toMatch(new RegExp(`^${BUCKET}/courier/_staging/.+/dataproc-init-node\\.sh$`));
    expect(template.placement.managedCluster.config.gceClusterConfig.metadata).toEqual({ 'courier-node-version': '20.19.0' });
    expect(request['parent']).toBe('projects/courier-test/regions/europe-west1');
    // A dry run writes nothing and sends nothing.
    expect(server!.requests).toEqual([]);
    expect(await fileSystemFor(root).exists(`${root}/_staging`)).toBe(false);
    void protobuf;
  }, 60_000);
});

function sortRows(rows: readonly Record<string, unknown>[]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}
