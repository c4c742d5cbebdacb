/**
 * The Dataproc engine (`--engine dataproc`, docs/dataproc.md). A workflow run is submitted as ONE inline
 * workflow template (dataproc-template.ts): each job step a Spark SQL job (spark-sql-step.ts) running the
 * job's stage bundle through TRANSFORM, in the stage DAG's order. The workflow runner then runs its stages as
 * always; each `runner.run(job)` waits for that job's template steps, and Courier commits what they wrote.
 *
 * Courier has no gs:// client: it sees the bucket through `storageRoot` (a Cloud Storage FUSE mount, or any
 * file system Courier has), and the cluster sees the same files at `storageUri`. Through the mount Courier
 * stages the bundles, parameters and scripts, and after each step commits its Spark output into the dataset
 * with a `_SUCCESS` marker (files, rows from the Parquet footers, bytes, sha256, counters from the step's
 * `counters/` lines), so markers, run history, `courier runs` and resume work as for local runs.
 *
 * The operation's metadata (WorkflowMetadata: each graph node's state) is polled and reported as step
 * progress; a failed node names its stage, step, Dataproc job and driver output URI (JobController.getJob).
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { protos as DataprocProtos, v1 as DataprocV1 } from '@google-cloud/dataproc';
import type { ClientOptions } from 'google-gax';
import { fileSystemFor, joinUri, readMarker, type PartitionKey } from '../storage/index.ts';
import type { ClusterJobRequest, ClusterWorkflowRequest, WorkflowSubmitter } from './cluster-submission.ts';
import { JobError } from './engine-error.ts';
import type { Job } from './job-definition.ts';
import { dataprocTemplateRequest, labelValue, stepIdOf, type DataprocManagedCluster, type DataprocStepJob } from './dataproc-template.ts';
import { finishRun, newRunId, planRun, type RunPlan } from './run-plan.ts';
import type { JobResult, RunOptions, StepProgress, StepResult } from './runner-types.ts';
import { SPARK_STEP_DIRS, sparkSqlSteps, sparkSqlStepScript, type SparkSqlStep, type SparkStepCounts } from './spark-sql-step.ts';
import { buildStageBundle, stageBundleName } from './stage-bundle.ts';
import { commitSparkStep, readSparkJsonLines } from './spark-step-output.ts';

/** Options of the Dataproc runner (engine.dataproc in the config, plus the storage root). */
export interface DataprocRunnerOptions {
  readonly projectId: string;
  readonly region: string;
  readonly clusterName: string;
  readonly clusterLabels?: Readonly<Record<string, string>>;
  readonly managedCluster?: DataprocManagedCluster;
  /** The storage root as Courier sees it (storage.root). */
  readonly storageRoot: string;
  /** The same place as the cluster sees it (engine.dataproc.storageUri). */
  readonly storageUri?: string;
  /** Where bundles, parameters, scripts and the init action go; under storageUri. */
  readonly stagingUri: string;
  readonly nodeVersion?: string;
  readonly reducers?: number;
  readonly sparkProperties?: Readonly<Record<string, string>>;
  readonly pollMs?: number;
  /** Client options (tests: apiEndpoint, port and insecure sslCreds); default: the region's endpoint and application default credentials. */
  readonly clientOptions?: ClientOptions;
  /** Names the config file in errors. */
  readonly configFile?: string;
}

/** Dataproc's WorkflowNode states (google.cloud.dataproc.v1.WorkflowNode.NodeState). */
const NODE_STATES = ['NODE_STATE_UNSPECIFIED', 'BLOCKED', 'RUNNABLE', 'RUNNING', 'COMPLETED', 'FAILED'] as const;
type NodeState = (typeof NODE_STATES)[number];

interface NodeStatus {
  state: NodeState;
  jobId?: string;
  error?: string;
}

/** One job of a submission, planned: its run plan, Spark steps and template step ids. */
interface PreparedJob {
  readonly stage: string;
  readonly key: string;
  readonly request: ClusterJobRequest;
  readonly plan: RunPlan<unknown>;
  readonly steps: readonly SparkSqlStep[];
  readonly stepIds: readonly string[];
  readonly scripts: readonly { readonly uri: string; readonly text: string }[];
  readonly paramsFile: { readonly uri: string; readonly text: string };
  claimed: boolean;
}

interface Prepared {
  readonly request: ClusterWorkflowRequest;
  readonly jobs: PreparedJob[];
  readonly template: Record<string, unknown>;
  readonly stagingDir: string;
  readonly bundles: Map<string, { readonly job: Job; readonly uri: string }>;
  readonly initAction: { readonly uri: string };
  /** The template steps that read each step's Spark output: it is committed (moved) only after they ran. */
  readonly readers: Map<string, string[]>;
}

/** A submitted template being polled. */
interface Live {
  readonly prepared: Prepared;
  readonly operation: string;
  readonly nodes: Map<string, NodeStatus>;
  done: boolean;
  /** Set when the operation ended with an error (or was cancelled). */
  failure?: Error;
  readonly listeners: Set<() => void>;
  readonly started: number;
}

/** Submissions kept for stages to match (each workflow run makes one, plus one per retried job). */
const MAX_LIVE = 32;
/** Consecutive passing poll errors tolerated before the run is given up on. */
const MAX_POLL_ERRORS = 10;

interface DataprocClients {
  readonly templates: InstanceType<typeof DataprocV1.WorkflowTemplateServiceClient>;
  readonly jobs: InstanceType<typeof DataprocV1.JobControllerClient>;
  readonly protos: typeof DataprocProtos;
}

const INIT_ACTION = fileURLToPath(new URL('../scripts/dataproc-init-node.sh', import.meta.url));

/** Runs workflows on Google Dataproc, one inline workflow template per run. */
export class DataprocRunner implements WorkflowSubmitter {
  readonly kind = 'dataproc';
  /** The gRPC clients, made on first use: loading @google-cloud/dataproc costs ~170 ms, which every process
   * importing the engine (each local worker thread too) would otherwise pay. */
  private clientsMade: Promise<DataprocClients> | undefined;
  private readonly live: Live[] = [];
  private readonly storageRoot: string;
  private readonly storageUri: string;
  private readonly pollMs: number;

  constructor(private readonly options: DataprocRunnerOptions) {
    const where = options.configFile ? ` in ${options.configFile}` : '';
    if (options.storageUri === undefined) {
      throw new Error(
        `engine.dataproc.storageUri is missing${where}: set it to storage.root as the cluster sees it (e.g. storage.root file:///mnt/courier-bucket/courier, a Cloud Storage FUSE mount of gs://courier-bucket, and storageUri gs://courier-bucket/courier); see docs/dataproc.md`,
      );
    }
    this.storageRoot = trimSlash(options.storageRoot);
    this.storageUri = trimSlash(options.storageUri);
    if (!isUnder(trimSlash(options.stagingUri), this.storageUri)) {
      throw new Error(`engine.dataproc.stagingUri ${options.stagingUri}${where} is not under engine.dataproc.storageUri ${this.storageUri}: Courier writes staged files through storage.root, so put staging below it (e.g. ${this.storageUri}/_staging)`);
    }
    if (options.managedCluster && options.clusterName.length > 35) {
      throw new Error(`engine.dataproc.clusterName "${options.clusterName}"${where} has ${options.clusterName.length} characters: a managed cluster's name prefix has at most 35 (Dataproc appends a suffix)`);
    }
    this.pollMs = Math.max(10, options.pollMs ?? 10_000);
    // The project is given, so the client never asks a metadata server for one.
  }

  private clients(): Promise<DataprocClients> {
    this.clientsMade ??= import('@google-cloud/dataproc').then(({ v1, protos }) => {
      const client: ClientOptions = { apiEndpoint: `${this.options.region}-dataproc.googleapis.com`, projectId: this.options.projectId, ...this.options.clientOptions };
      return { templates: new v1.WorkflowTemplateServiceClient(client), jobs: new v1.JobControllerClient(client), protos };
    });
    return this.clientsMade;
  }

  /** Closes the gRPC channels. */
  async close(): Promise<void> {
    if (!this.clientsMade) return;
    const { templates, jobs } = await this.clientsMade;
    await Promise.all([templates.close(), jobs.close()]);
  }

  /** The exact InstantiateInlineWorkflowTemplateRequest of a workflow run (nothing is written or sent). */
  async describeSubmission(request: ClusterWorkflowRequest): Promise<unknown> {
    return (await this.prepare(request, { lenient: true })).template;
  }

  /** Stages the run's files and instantiates its template; progress is polled in the background. */
  async submitWorkflow(request: ClusterWorkflowRequest, signal?: AbortSignal): Promise<void> {
    if (request.stages.every((s) => s.jobs.length === 0)) return;
    const prepared = await this.prepare(request);
    await this.stage(prepared);
    await this.instantiate(prepared, signal);
  }

  /** Runs one job: the submitted template's steps for it when one matches, else a template of its own. */
  async run<P>(job: Job<P>, params: unknown, options: RunOptions): Promise<JobResult> {
    const started = performance.now();
    const key = jobKey(job, params);
    let found: { live: Live; job: PreparedJob } | undefined;
    for (const live of this.live) {
      // A claimed job is not taken twice: a stage's second attempt gets a template of its own.
      const j = live.prepared.jobs.find((p) => !p.claimed && p.request.job.name === job.name && jobKey(p.request.job, p.request.params) === key && sameOptions(p.request.options, options));
      if (j) {
        found = { live, job: j };
        break;
      }
    }
    if (!found) {
      // A retry, or a job no stage declared: a template of its own.
      const { onProgress: _p, ...rest } = options;
      const request: ClusterWorkflowRequest = { workflow: job.name, period: 'adhoc', runId: newRunId(), stages: [{ stage: job.name, dependsOn: [], jobs: [{ job, params, options: rest }] }] };
      const prepared = await this.prepare(request);
      await this.stage(prepared);
      const live = await this.instantiate(prepared);
      found = { live, job: prepared.jobs[0]! };
    }
    found.job.claimed = true;
    return this.await(found.live, found.job, options, started);
  }

  // ---- preparing ----

  /** Plans every job (lenient: inputs may be missing yet, as in a dry run). */
  private async prepare(request: ClusterWorkflowRequest, how: { lenient?: boolean } = {}): Promise<Prepared> {
    const stagingDir = joinUri(this.courierUri(trimSlash(this.options.stagingUri)), request.workflow, request.period, request.runId);
    const bundles = new Map<string, { job: Job; uri: string }>();
    const produced = new Map<string, { outputDir: string; partitionBy: readonly PartitionKey[]; stepId: string }>();
    const readers = new Map<string, string[]>();
    const jobs: PreparedJob[] = [];
    const lastStepOfStage = new Map<string, string>();
    const templateJobs: DataprocStepJob[] = [];
    for (const stage of request.stages) {
      let previous = stage.dependsOn.flatMap((d) => (lastStepOfStage.has(d) ? [lastStepOfStage.get(d)!] : []));
      for (const [i, r] of stage.jobs.entries()) {
        const key = stage.jobs.length === 1 ? stage.stage : `${stage.stage}-${i + 1}`;
        const plan = (await planRun(r.job, r.params, r.options)) as RunPlan<unknown>;
        if (!r.job.source) throw new JobError(r.job.name, undefined, 'Dataproc runs a job through its stage bundle, built from the job\'s source: add source: { module: import.meta.url, export: "<its export>" } to defineJob');
        if (!bundles.has(r.job.name)) bundles.set(r.job.name, { job: r.job, uri: joinUri(stagingDir, stageBundleName(r.job.name)) });
        const paramsUri = joinUri(stagingDir, `${key}.params.json`);
        const partitionKeysOf = await this.inputPartitionKeys(plan, produced, how.lenient === true);
        const steps = sparkSqlSteps(plan, {
          clusterUri: (u) => this.clusterUri(u),
          bundleUri: this.clusterUri(bundles.get(r.job.name)!.uri),
          paramsUri: this.clusterUri(paramsUri),
          reducers: this.options.reducers ?? 8,
          producedEarlier: (u) => produced.get(u),
          inputPartitionKeys: (u) => partitionKeysOf.get(u),
        });
        const stepIds = steps.map((s) => stepIdOf([key, s.step]));
        for (const [n, planned] of plan.steps.entries()) {
          for (const input of planned.inputs) {
            const producers = input.fromStep !== undefined ? [stepIds[plan.steps.findIndex((p) => p.definition.name === input.fromStep)]!] : input.uris.flatMap((u) => (produced.has(u) ? [produced.get(u)!.stepId] : []));
            for (const producer of producers) readers.set(producer, [...(readers.get(producer) ?? []), stepIds[n]!]);
          }
        }
        const scripts = steps.map((s, n) => ({ uri: joinUri(stagingDir, `${stepIds[n]}.sql`), text: sparkSqlStepScript(s) }));
        for (const [n, s] of steps.entries()) {
          templateJobs.push({
            stepId: stepIds[n]!,
            prerequisiteStepIds: previous,
            queryFileUri: this.clusterUri(scripts[n]!.uri),
            labels: { 'courier-stage': labelValue(stage.stage), 'courier-job': labelValue(r.job.name), 'courier-step': labelValue(s.step) },
          });
          previous = [stepIds[n]!];
          const out = plan.steps[n]!;
          if (!out.output.intermediate) produced.set(out.output.uri, { outputDir: joinUri(this.courierSparkDir(s), SPARK_STEP_DIRS.output), partitionBy: s.output.partitionBy, stepId: stepIds[n]! });
        }
        jobs.push({ stage: stage.stage, key, request: r, plan, steps, stepIds, scripts, paramsFile: { uri: paramsUri, text: JSON.stringify(r.params ?? {}) + '\n' }, claimed: false });
      }
      if (previous.length === 1 && stage.jobs.length > 0) lastStepOfStage.set(stage.stage, previous[0]!);
      else if (stage.jobs.length === 0) {
        // A stage with no cluster jobs passes its dependencies on to the stages after it.
        const through = stage.dependsOn.flatMap((d) => (lastStepOfStage.has(d) ? [lastStepOfStage.get(d)!] : []));
        if (through.length === 1) lastStepOfStage.set(stage.stage, through[0]!);
      }
    }
    const initAction = { uri: joinUri(stagingDir, path.basename(INIT_ACTION)) };
    const template = dataprocTemplateRequest(
      {
        projectId: this.options.projectId,
        region: this.options.region,
        clusterName: this.options.clusterName,
        ...(this.options.clusterLabels ? { clusterLabels: this.options.clusterLabels } : {}),
        ...(this.options.managedCluster ? { managedCluster: this.options.managedCluster } : {}),
        nodeVersion: this.options.nodeVersion ?? '20.19.0',
        ...(this.options.sparkProperties ? { sparkProperties: this.options.sparkProperties } : {}),
      },
      { workflow: request.workflow, period: request.period, runId: request.runId, jobs: templateJobs, initActionUri: this.clusterUri(initAction.uri) },
    );
    return { request, jobs, template, stagingDir, bundles, initAction, readers };
  }

  /** Partition keys of each existing Parquet input (from its marker); inputs produced earlier are known without it. */
  private async inputPartitionKeys(plan: RunPlan<unknown>, produced: Map<string, unknown>, lenient: boolean): Promise<Map<string, readonly PartitionKey[]>> {
    const out = new Map<string, readonly PartitionKey[]>();
    for (const step of plan.steps) {
      for (const input of step.inputs) {
        if (input.fromStep !== undefined || input.format !== 'parquet') continue;
        for (const uri of input.uris) {
          if (produced.has(uri) || out.has(uri)) continue;
          const marker = await readMarker(fileSystemFor(uri), uri).catch((e: unknown) => {
            if (lenient) return { partitionBy: undefined };
            throw new JobError(plan.job.name, step.definition.name, `input "${input.name}": ${(e as Error).message}`, { cause: e });
          });
          if (marker.partitionBy !== undefined || !lenient) out.set(uri, marker.partitionBy ?? []);
        }
      }
    }
    return out;
  }

  /** Writes the bundles, parameters, scripts and init action under the staging dir, through storage.root. */
  private async stage(prepared: Prepared): Promise<void> {
    const fs = fileSystemFor(prepared.stagingDir);
    await fs.mkdirs(prepared.stagingDir);
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-dataproc-'));
    try {
      for (const { job, uri } of prepared.bundles.values()) {
        const local = path.join(tmp, stageBundleName(job.name));
        await buildStageBundle(job.source!, local, { minify: true });
        await fs.writeAtomic(uri, await fsp.readFile(local));
      }
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
    for (const j of prepared.jobs) {
      await fs.writeAtomic(j.paramsFile.uri, j.paramsFile.text);
      for (const [n, s] of j.scripts.entries()) {
        await fs.writeAtomic(s.uri, s.text);
        // The step as planned, as data, next to its script: for whoever debugs the run (and the test stand-in).
        await fs.writeAtomic(s.uri.replace(/\.sql$/, '.step.json'), JSON.stringify(j.steps[n], null, 2) + '\n');
      }
    }
    await fs.writeAtomic(prepared.initAction.uri, await fsp.readFile(INIT_ACTION));
  }

  // ---- submitting and polling ----

  private async instantiate(prepared: Prepared, signal?: AbortSignal): Promise<Live> {
    let operation: { name?: string | null };
    const { templates } = await this.clients();
    try {
      [operation] = (await templates.instantiateInlineWorkflowTemplate(prepared.template as never)) as unknown as [{ name?: string | null }];
    } catch (e) {
      throw this.submitError(e);
    }
    const live: Live = { prepared, operation: operation.name ?? '', nodes: new Map(), done: false, listeners: new Set(), started: performance.now() };
    this.live.push(live);
    // Only recent submissions can still be matched by a stage; a long-running scheduler keeps no more.
    if (this.live.length > MAX_LIVE) this.live.splice(0, this.live.length - MAX_LIVE);
    const onAbort = (): void => {
      void templates.cancelOperation({ name: live.operation } as Parameters<typeof templates.cancelOperation>[0]).catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    void this.poll(live, signal).finally(() => signal?.removeEventListener('abort', onAbort));
    return live;
  }

  /** An RPC error of the submission, said in terms of the config. */
  private submitError(e: unknown): Error {
    const code = (e as { code?: number }).code;
    const message = (e as Error).message ?? String(e);
    const where = this.options.configFile ? ` (${this.options.configFile})` : '';
    if (code === 5 || /cluster/i.test(message)) return new Error(`Dataproc could not place the run on cluster "${this.options.clusterName}"${where}: ${message}. ${this.clusterHint()}`, { cause: e });
    if (code === 7 || code === 16) return new Error(`Dataproc refused the submission in project ${this.options.projectId}${where}: ${message}; check engine.dataproc.projectId and the credentials (gcloud auth application-default login)`, { cause: e });
    return new Error(`Dataproc submission failed: ${message}`, { cause: e });
  }

  private clusterHint(): string {
    return this.options.managedCluster
      ? 'Check engine.dataproc.managedCluster and engine.dataproc.clusterName.'
      : `Check engine.dataproc.clusterName (and clusterLabels): it must name a running cluster in project ${this.options.projectId}, region ${this.options.region} (gcloud dataproc clusters list --region ${this.options.region}), or set engine.dataproc.managedCluster to create one per run.`;
  }

  private async poll(live: Live, signal?: AbortSignal): Promise<void> {
    let cancelledAt: number | undefined;
    let errors = 0;
    const { templates, protos } = await this.clients();
    for (;;) {
      try {
        const op = await templates.checkInstantiateInlineWorkflowTemplateProgress(live.operation);
        // Decoded here, not taken from op.metadata: gax leaves the metadata of an operation that ended in an error undecoded.
        const raw = (op.latestResponse as { metadata?: { value?: Uint8Array | null } | null }).metadata?.value;
        const metadata = raw ? (protos.google.cloud.dataproc.v1.WorkflowMetadata.decode(raw) as { graph?: { nodes?: { stepId?: string; state?: number | string; jobId?: string; error?: string }[] } }) : null;
        for (const n of metadata?.graph?.nodes ?? []) {
          if (!n.stepId) continue;
          const state = typeof n.state === 'number' ? (NODE_STATES[n.state] ?? 'NODE_STATE_UNSPECIFIED') : ((n.state as NodeState | undefined) ?? 'NODE_STATE_UNSPECIFIED');
          live.nodes.set(n.stepId, { state, ...(n.jobId ? { jobId: n.jobId } : {}), ...(n.error ? { error: n.error } : {}) });
        }
        if (op.done) {
          const error = (op.latestResponse as { error?: { code?: number; message?: string } | null }).error;
          if (error && (error.code ?? 0) !== 0) {
            live.failure = error.code === 1 || signal?.aborted ? new Error(`the Dataproc workflow was cancelled (${error.message ?? 'CANCELLED'})`) : new Error(error.message ?? `code ${error.code}`);
            (live.failure as Error & { code?: number }).code = error.code;
          }
          live.done = true;
        }
        errors = 0;
      } catch (e) {
        // A poll that fails for a passing reason (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) is tried again; the run on the cluster goes on regardless.
        const code = (e as { code?: number }).code;
        if (![4, 8, 14].includes(code ?? -1) || ++errors > MAX_POLL_ERRORS) {
          live.failure = new Error(`polling the Dataproc operation ${live.operation} failed${errors > 1 ? ` ${errors} times in a row` : ''}: ${(e as Error).message}; the workflow may still be running on the cluster (gcloud dataproc operations describe ${live.operation})`, { cause: e });
          live.done = true;
        }
      }
      for (const l of live.listeners) l();
      if (live.done) return;
      if (signal?.aborted) cancelledAt ??= Date.now();
      // After a cancel, wait a bounded time for the operation to say it ended.
      if (cancelledAt !== undefined && Date.now() - cancelledAt > 60_000) {
        live.failure = new Error(`the Dataproc workflow ${live.operation} was asked to cancel and had not ended after 60 s; check it with gcloud dataproc operations describe ${live.operation}`);
        live.done = true;
        for (const l of live.listeners) l();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** Waits for a prepared job's steps, committing each as it completes; returns what the job did. */
  private async await(live: Live, job: PreparedJob, options: RunOptions, started: number): Promise<JobResult> {
    const results: StepResult[] = [];
    let succeeded = false;
    const startedAt = job.steps.map(() => performance.now());
    const finished = job.steps.map(() => false);
    const progress = (n: number, phase: StepProgress['phase'], figures: { recordsIn: number; recordsInTotal: number; recordsOut: number }): void => {
      if (finished[n]) return;
      finished[n] = phase === 'done';
      options.onProgress?.({
        job: job.plan.job.name,
        step: job.steps[n]!.step,
        stepIndex: n,
        stepCount: job.steps.length,
        phase,
        ...figures,
        bytesIn: 0,
        bytesInTotal: 0,
        seconds: (performance.now() - startedAt[n]!) / 1000,
      });
    };
    // Every step's RUNNING is watched from the start: a step's commit waits for the steps after it.
    const watch = job.stepIds.map((stepId, n) => {
      let seen = false;
      const check = (): void => {
        if (seen || live.nodes.get(stepId)?.state !== 'RUNNING') return;
        seen = true;
        startedAt[n] = performance.now();
        // Running: the records it will read, from its inputs' markers (or the counts of the steps that wrote them).
        void this.recordsToRead(job.steps[n]!).then((total) => progress(n, 'map', { recordsIn: 0, recordsInTotal: total, recordsOut: 0 }));
      };
      live.listeners.add(check);
      check();
      return check;
    });
    try {
      for (const [n, step] of job.steps.entries()) {
        const stepId = job.stepIds[n]!;
        await this.nodeDone(live, job, stepId, step);
        // Later steps read this step's Spark output where it is: commit (move) it once they have run.
        await this.settledNodes(live, live.prepared.readers.get(stepId) ?? []);
        const result = await this.commitStep(job, n, startedAt[n]!);
        results.push(result);
        progress(n, 'done', { recordsIn: result.recordsIn, recordsInTotal: result.recordsIn, recordsOut: result.recordsOut });
      }
      succeeded = true;
    } finally {
      for (const check of watch) live.listeners.delete(check);
      await finishRun(job.plan, succeeded).catch(() => undefined);
      if (succeeded) await fileSystemFor(job.plan.workDir).delete(joinUri(job.plan.workDir, 'spark'), { recursive: true }).catch(() => undefined);
    }
    return { job: job.plan.job.name, runId: job.plan.runId, params: job.plan.params, workDir: job.plan.workDir, seconds: (performance.now() - started) / 1000, steps: results };
  }

  /** Resolves when the template node `stepId` completed; rejects naming the stage, step, job and driver output when it failed. */
  private nodeDone(live: Live, job: PreparedJob, stepId: string, step: SparkSqlStep): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const node = live.nodes.get(stepId);
        if (node?.state === 'COMPLETED') return finish(resolve);
        if (node?.state === 'FAILED') {
          return finish(() => {
            void this.failure(job, step, stepId, node).then(reject, reject);
          });
        }
        if (live.done) {
          const why = live.failure?.message ?? 'the workflow ended without running it';
          const code = (live.failure as { code?: number } | undefined)?.code;
          // Not retried (a JobError without cause): a cancel, a failed sibling or a placement error fails the same way
          // again, and after polling is lost the first workflow may still be running: a second would race it.
          finish(() => reject(new JobError(job.plan.job.name, step.step, `stage "${job.stage}": Dataproc step ${stepId} did not run: ${why}${code === 5 ? `. ${this.clusterHint()}` : ''}`)));
        }
      };
      const finish = (then: () => void): void => {
        live.listeners.delete(check);
        then();
      };
      live.listeners.add(check);
      check();
    });
  }

  /** Records a step will read: its inputs' marker rows, or for an earlier step's Spark output that step's records out (0 when unknown). */
  private async recordsToRead(step: SparkSqlStep): Promise<number> {
    let total = 0;
    for (const input of step.inputs) {
      for (const clusterUri of input.uris) {
        const uri = this.courierUri(clusterUri);
        try {
          if (uri.endsWith(`/${SPARK_STEP_DIRS.output}`) && /\/spark\/[^/]+\/output$/.test(uri)) {
            const counts = await readSparkJsonLines<SparkStepCounts>(joinUri(uri.slice(0, -SPARK_STEP_DIRS.output.length - 1), SPARK_STEP_DIRS.counts), uri);
            total += Number(counts[0]?.records_out ?? 0);
          } else {
            total += (await readMarker(fileSystemFor(uri), uri)).rows;
          }
        } catch {
          // Progress only: an input whose size cannot be read counts as 0.
        }
      }
    }
    return total;
  }

  /** Resolves when every node in `stepIds` completed or failed, or the operation ended. */
  private settledNodes(live: Live, stepIds: readonly string[]): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (live.done || stepIds.every((id) => ['COMPLETED', 'FAILED'].includes(live.nodes.get(id)?.state ?? ''))) {
          live.listeners.delete(check);
          resolve();
        }
      };
      live.listeners.add(check);
      check();
    });
  }

  /** The error of a failed node: its stage, step, Dataproc job, the job's status and driver output URI. */
  private async failure(job: PreparedJob, step: SparkSqlStep, stepId: string, node: NodeStatus): Promise<JobError> {
    let driver = '';
    let details = node.error ?? '';
    if (node.jobId) {
      try {
        const [j] = await (await this.clients()).jobs.getJob({ projectId: this.options.projectId, region: this.options.region, jobId: node.jobId });
        if (j.driverOutputResourceUri) driver = j.driverOutputResourceUri;
        if (!details && j.status?.details) details = j.status.details;
      } catch (e) {
        driver = `(unknown: getJob ${node.jobId} failed: ${(e as Error).message})`;
      }
    }
    return new JobError(
      job.plan.job.name,
      step.step,
      `stage "${job.stage}": Dataproc step ${stepId}${node.jobId ? ` (job ${node.jobId})` : ''} failed: ${details || 'no details'}; driver output: ${driver || 'unknown'}${node.jobId ? ` (gcloud dataproc jobs describe ${node.jobId} --region ${this.options.region})` : ''}`,
    );
  }

  // ---- committing ----

  /** Commits step `n`'s Spark output into its dataset with a `_SUCCESS` marker, and its quarantine. */
  private async commitStep(job: PreparedJob, n: number, started: number): Promise<StepResult> {
    const planned = job.plan.steps[n]!;
    const sparkDir = this.courierSparkDir(job.steps[n]!);
    const where = `job "${job.plan.job.name}" step "${planned.definition.name}" (stage "${job.stage}")`;
    // Shared with spark-submit: row counts checked against the files before the marker is written.
    const { marker, counts, counters, quarantine } = await commitSparkStep(job.plan, planned, sparkDir, job.steps[n]!.output.partitionBy, {
      job: job.plan.job.name,
      step: planned.definition.name,
      runId: job.plan.runId,
      params: job.plan.params,
      runner: this.kind,
    }).catch((e: unknown) => {
      throw e instanceof JobError ? e : new JobError(job.plan.job.name, planned.definition.name, `${where}: ${(e as Error).message}`);
    });
    return {
      name: planned.definition.name,
      recordsIn: counts.recordsIn,
      recordsOut: counts.recordsOut,
      // Spark SQL reports neither: the bundle's engine figures go to a TRANSFORM's stderr, which Spark only logs.
      mapOutputRecords: 0,
      reduceGroups: 0,
      badRecords: counts.badRecords,
      counters,
      seconds: (performance.now() - started) / 1000,
      output: planned.output.uri,
      intermediate: planned.output.intermediate,
      marker,
      ...(quarantine !== undefined ? { quarantine } : {}),
    };
  }

  // ---- URIs ----

  /** The cluster's URI of a storage URI under storage.root. */
  private clusterUri(uri: string): string {
    if (uri === this.storageRoot || uri.startsWith(this.storageRoot + '/')) return this.storageUri + uri.slice(this.storageRoot.length);
    if (isUnder(uri, this.storageUri)) return uri;
    throw new Error(`${uri} is outside storage.root ${this.storageRoot}: a Dataproc job can read only what lies under engine.dataproc.storageUri ${this.storageUri}`);
  }

  /** Courier's URI (under storage.root) of a cluster URI under storageUri. */
  private courierUri(uri: string): string {
    if (!isUnder(uri, this.storageUri)) throw new Error(`${uri} is not under engine.dataproc.storageUri ${this.storageUri}`);
    return this.storageRoot + uri.slice(this.storageUri.length);
  }

  private courierSparkDir(step: SparkSqlStep): string {
    return this.courierUri(step.dir);
  }
}

function trimSlash(uri: string): string {
  return uri.replace(/\/+$/, '');
}

function isUnder(uri: string, root: string): boolean {
  return uri === root || uri.startsWith(root + '/');
}

/** Canonical JSON (sorted keys) of a job's parsed parameters: what makes two runs of a job the same run. */
function jobKey(job: Job, params: unknown): string {
  let parsed: unknown;
  try {
    parsed = job.params.parse(params);
  } catch {
    parsed = params;
  }
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)])) : v;
  return createHash('sha256').update(JSON.stringify(canonical(parsed)) ?? '').digest('hex');
}

function sameOptions(a: Omit<RunOptions, 'onProgress'>, b: RunOptions): boolean {
  return trimSlash(a.storageRoot) === trimSlash(b.storageRoot) && (a.overwrite ?? false) === (b.overwrite ?? false) && a.workDir === b.workDir && a.maxBadRecordRate === b.maxBadRecordRate;
}

/** A Dataproc runner. */
export function dataprocRunner(options: DataprocRunnerOptions): DataprocRunner {
  return new DataprocRunner(options);
}
