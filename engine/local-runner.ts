/**
 * The local runner, the embedded default engine: all cores of one machine. Each step runs as
 *
 * 1. map tasks on worker threads, one per input file: map and combine per batch (the shared MapTask),
 *    partition pairs by `partitionOf(key)`, buffer them, and spill sorted runs to disk whenever the buffer
 *    passes its share of `memoryMb` (the combiner runs over each spilled run too);
 * 2. reduce tasks on worker threads, one per partition: a k-way merge of the partition's runs feeds the
 *    shared ReduceTask, which writes a dataset per reducer in the work dir;
 * 3. a commit in the runner's thread: counters and bad records are merged in task order (so errors, the
 *    first bad record and the quarantine sample match an inline run), the bad-record rate is judged, and
 *    only then are the reducers' files moved into one staged output dataset, marked `_SUCCESS` last.
 *
 * Workers cannot receive functions, so they import the job from `job.source` (`{ module: import.meta.url,
 * export: 'myJob', args? }`). A job without a source runs its tasks in the runner's own thread, one at a
 * time, with the same spilling and merging (set `workers: 0` for that on purpose).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  DatasetStaging,
  fileSystemFor,
  joinUri,
  localPath,
  type DatasetMarker,
} from '../storage/index.ts';
import { EMPTY_BAD_RECORD_STATE } from './bad-records.ts';
import { JobError } from './engine-error.ts';
import type { Job, JobSource } from './job-definition.ts';
import { resolveShuffle } from './key-order.ts';
import { executeTask, type MapOutcome, type MapTaskSpec, type ReduceOutcome, type ReduceTaskSpec, type TaskOutcome, type TaskProgress, type TaskSpec } from './local-tasks.ts';
import type { WorkerReply, WorkerRequest } from './local-worker.ts';
import { finishRun, planRun, type PlannedStep, type RunPlan } from './run-plan.ts';
import type { JobResult, JobRunner, RunOptions, StepResult } from './runner-types.ts';
import { failStep, finishStep, inputFileSources, stepProgressReporter, type StepCounts, startStep, type InputFileSource } from './step-input.ts';

/** Options of the local runner. */
export interface LocalRunnerOptions {
  /** Worker threads (default `os.availableParallelism()`); 0 runs every task in the runner's thread. */
  readonly workers?: number;
  /** Reducer partitions of steps that do not set `shuffle.reducers` (default: the worker count, at least 1). */
  readonly reducers?: number;
  /** Memory for buffered map output over all workers, in MiB (default 1024); past its share a task spills. */
  readonly memoryMb?: number;
  /** Rows per input batch read (default 8192). */
  readonly batchRows?: number;
  /** Rows per output batch written (default 8192). */
  readonly outputBatchRows?: number;
  /** Bad records kept per step in the quarantine dataset (default 10,000); all are counted. */
  readonly quarantineSample?: number;
  /**
   * Local directory for spill files (`engine.local.spillDir`): each step spills into a fresh directory under
   * it, removed when the step ends. Default: `<workDir>/_spill/<step>` when the work dir is local, else the OS temp dir.
   */
  readonly spillDir?: string;
  /**
   * DuckDB's `memory_limit` in each worker thread, in MiB. Default: 0.3 × `memoryMb` divided among the
   * workers, at least 256; past it DuckDB spills into the step's spill directory.
   */
  readonly duckDbMemoryMb?: number;
}

/** Default of `LocalRunnerOptions.memoryMb`. */
export const DEFAULT_LOCAL_MEMORY_MB = 1024;

/**
 * How `memoryMb` is spent. V8 lets a heap grow far past its live data before collecting hard (a run with
 * 128 MiB of shuffle buffers peaked at 1.3 GB RSS; the same with the heap capped at 400 MiB, 0.6 GB), so each
 * worker's heap is capped at WORKER_HEAP_SHARE of the cap divided among the workers (the rest is for the
 * runner's thread, DuckDB and worker baselines), and a task's buffered map output (as estimated) at
 * BUFFER_SHARE, half its heap, leaving the other half for GC headroom, input batches and the reducer's writer.
 */
const WORKER_HEAP_SHARE = 0.8;
const BUFFER_SHARE = 0.4;
/**
 * DuckDB's memory (reading and writing Parquet) in each worker thread, divided among the workers. The heap
 * caps are ceilings V8 rarely reaches (peak RSS 0.78 × memoryMb at 10M events), so this share sits beside them;
 * below about 200 MiB a 1.5M-row map range failed to read. Past it DuckDB spills to the step's spill directory.
 */
const DUCKDB_SHARE = 0.3;
const MIN_DUCKDB_MB = 256;
/**
 * Each worker's young generation (counted against `memoryMb` with the rest of the process): 192 MiB when the
 * worker's heap cap is at least 768 MiB, else 96. Map and reduce allocate short-lived rows and values by the
 * million, and a small young generation scavenges so often that it shows: V8's default (16 MiB semi-spaces) cost
 * ~8% of the bench job's time, and 96 MiB against 192 MiB cost the daily refresher (memoryMb 2048) 3-5%. V8 rounds
 * the semi-spaces up to powers of two, so anything between the two steps costs as much memory as 192: at
 * memoryMb 1024, 102 MiB took the 3M bench's peak RSS from 0.95 to 1.12 × the cap.
 */
function youngGenerationMb(heapMb: number): number {
  return heapMb >= 768 ? 192 : 96;
}

/** A worker's heap is never capped below this: tsx, the engine and a job need it to start. */
const MIN_WORKER_HEAP_MB = 192;

/** The old-generation heap cap of each worker for a memory cap and worker count. */
function workerHeapMb(memoryMb: number, workers: number): number {
  return Math.max(MIN_WORKER_HEAP_MB, Math.floor((memoryMb * WORKER_HEAP_SHARE) / Math.max(1, workers)));
}

type Execute = (spec: TaskSpec, onProgress: (p: TaskProgress) => void) => Promise<TaskOutcome>;

/** Runs jobs on worker threads with a spilling shuffle. */
export class LocalRunner implements JobRunner {
  readonly kind = 'local';
  private readonly workers: number;

  constructor(private readonly options: LocalRunnerOptions = {}) {
    this.workers = Math.max(0, Math.floor(options.workers ?? os.availableParallelism()));
  }

  async run<P>(job: Job<P>, params: unknown, options: RunOptions): Promise<JobResult> {
    const started = performance.now();
    const plan = await planRun(job, params, options);
    const steps: StepResult[] = [];
    let succeeded = false;
    const source = job.source;
    const pool = source && this.workers > 0 ? WorkerPool.of(this.workers, workerHeapMb(this.options.memoryMb ?? DEFAULT_LOCAL_MEMORY_MB, this.workers)) : undefined;
    const execute: Execute =
      pool && source ? (spec, onProgress) => pool.run(job.name, source, spec, onProgress) : (spec, onProgress) => executeTask(job as Job, spec, onProgress);
    const concurrency = pool ? this.workers : 1;
    try {
      for (const step of plan.steps) steps.push(await this.runStep(plan as RunPlan<unknown>, step as PlannedStep<unknown>, execute, concurrency));
      succeeded = true;
    } finally {
      await finishRun(plan as RunPlan<unknown>, succeeded);
    }
    return { job: job.name, runId: plan.runId, params: plan.params, workDir: plan.workDir, seconds: (performance.now() - started) / 1000, steps };
  }

  private async runStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, execute: Execute, concurrency: number): Promise<StepResult> {
    const started = performance.now();
    const def = step.definition;
    const jobName = plan.job.name;
    const begun = await startStep(plan, step, this.options.quarantineSample);
    const { inputs, recordsInTotal, bytesInTotal, counters, bad } = begun;
    const shuffle = resolveShuffle(def.shuffle, this.options.reducers ?? Math.max(1, this.workers));
    const memoryBytes = ((this.options.memoryMb ?? DEFAULT_LOCAL_MEMORY_MB) * 1024 * 1024 * BUFFER_SHARE) / Math.max(1, concurrency);
    const { spillDir, cleanSpill } = await spillDirFor(plan, def.name, this.options.spillDir);
    const duckDbMemoryMb = this.options.duckDbMemoryMb ?? Math.max(MIN_DUCKDB_MB, Math.floor(((this.options.memoryMb ?? DEFAULT_LOCAL_MEMORY_MB) * DUCKDB_SHARE) / Math.max(1, concurrency)));
    const shuffleUri = joinUri(plan.workDir, '_shuffle', def.name);
    const counts: StepCounts = { recordsIn: 0, recordsOut: 0, bytesIn: 0 };
    const progress = stepProgressReporter(plan, step, begun, started, counts);
    const base = {
      stepIndex: step.index,
      params: plan.params,
      maxBadRecordRate: step.maxBadRecordRate,
      expectedRecordsIn: recordsInTotal,
      quarantine: step.quarantine,
      duckDbMemoryMb,
      ...(this.options.quarantineSample !== undefined ? { quarantineSample: this.options.quarantineSample } : {}),
    };

    let marker: DatasetMarker;
    let mapOutputRecords = 0;
    let reduceGroups = 0;
    let spilledRuns = 0;
    try {
      try {
        // Map: one task per input file, or per row range of a large Parquet file so every worker has work.
        const mapSpecs: MapTaskSpec[] = [];
        const splitRows = splitRowsFor(recordsInTotal, concurrency);
        for (const input of inputs) {
          for (const source of splitSources(inputFileSources(input), splitRows)) {
            mapSpecs.push({
              ...base,
              kind: 'map',
              taskIndex: mapSpecs.length,
              input: input.name,
              source,
              batchRows: this.options.batchRows ?? 8192,
              shuffle,
              spillDir: path.join(spillDir, `map-${String(mapSpecs.length).padStart(5, '0')}`),
              memoryBytes,
            });
          }
        }
        const mapOutcomes = await runTasks(mapSpecs, execute, concurrency, (p) => {
          counts.recordsIn += p.recordsIn;
          counts.bytesIn += p.bytesIn;
          progress('map');
        });
        counts.bytesIn = bytesInTotal;
        const mapped: MapOutcome[] = [];
        for (const [i, o] of mapOutcomes.entries()) {
          if (!o) continue;
          counters.addAll(o.counters);
          bad.merge(o.bad);
          if (!o.ok) throw taskError(jobName, def.name, `map task of ${describeSource(mapSpecs[i]!.source)}`, o.error);
          mapped.push(o as MapOutcome);
        }
        counts.recordsIn = mapped.reduce((s, o) => s + o.recordsIn, 0);
        mapOutputRecords = mapped.reduce((s, o) => s + o.mapOutputRecords, 0);
        spilledRuns = mapped.reduce((s, o) => s + o.spilledRuns, 0);

        // Reduce: one task per partition, over its runs in map-task order.
        const reduceSpecs: ReduceTaskSpec[] = Array.from({ length: shuffle.reducers }, (_, p) => ({
          ...base,
          kind: 'reduce',
          partition: p,
          runs: mapped.flatMap((o) => o.runs[p] ?? []),
          groupFields: shuffle.groupFields,
          outputUri: joinUri(shuffleUri, `r-${String(p).padStart(5, '0')}`),
          schema: step.output.schema,
          partitionBy: step.output.partitionBy,
          outputBatchRows: this.options.outputBatchRows ?? 8192,
          spillDir: path.join(spillDir, `reduce-${String(p).padStart(5, '0')}`),
          memoryBytes,
        }));
        const reduceOutcomes = await runTasks(reduceSpecs, execute, concurrency, (p) => {
          counts.recordsOut += p.recordsOut;
          progress('reduce');
        });
        const reduced: ReduceOutcome[] = [];
        for (const [i, o] of reduceOutcomes.entries()) {
          if (!o) continue;
          counters.addAll(o.counters);
          bad.merge(o.bad);
          if (!o.ok) throw taskError(jobName, def.name, `reduce task of partition ${i}`, o.error);
          reduced.push(o as ReduceOutcome);
        }
        counts.recordsOut = reduced.reduce((s, o) => s + o.recordsOut, 0);
        reduceGroups = reduced.reduce((s, o) => s + o.groups, 0);
        // Judge the rate before the commit: a failed step leaves no marked output.
        bad.check(counts.recordsIn);
        marker = await commitOutput(plan, step, reduced, shuffleUri, {
          job: jobName,
          step: def.name,
          runId: plan.runId,
          params: plan.params,
          runner: this.kind,
          recordsIn: counts.recordsIn,
          recordsOut: counts.recordsOut,
          badRecords: bad.count,
          counters: counters.toJSON(),
        });
      } finally {
        await cleanSpill();
        await fileSystemFor(shuffleUri).delete(shuffleUri, { recursive: true }).catch(() => undefined);
        const shuffleRoot = joinUri(plan.workDir, '_shuffle');
        const fs = fileSystemFor(shuffleRoot);
        if ((await fs.list(shuffleRoot).catch(() => [1])).length === 0) await fs.delete(shuffleRoot, { recursive: true }).catch(() => undefined);
      }
    } catch (e) {
      return failStep(plan, step, bad, e);
    }
    const result = await finishStep(plan, step, begun, started, { recordsIn: counts.recordsIn, recordsOut: counts.recordsOut, mapOutputRecords, reduceGroups, marker });
    progress('done');
    return { ...result, spilledRuns };
  }
}

/** DuckDB's Parquet row group: splits are whole row groups, so a range query skips the others. */
const ROW_GROUP = 122_880;
/** Files below this many rows are never split (a task's fixed costs would outweigh it). */
const MIN_SPLIT_ROWS = 2 * ROW_GROUP;

/** Rows per map task of a step reading `recordsInTotal` rows on `concurrency` lanes: about four tasks a lane, in whole row groups. */
export function splitRowsFor(recordsInTotal: number, concurrency: number): number {
  return concurrency > 1 ? Math.max(MIN_SPLIT_ROWS, Math.ceil(recordsInTotal / (4 * concurrency) / ROW_GROUP) * ROW_GROUP) : Infinity;
}

/** Cuts Parquet files of more than `splitRows` rows into row ranges, in file order (so task order is row order). */
export function splitSources(sources: readonly InputFileSource[], splitRows: number): InputFileSource[] {
  const out: InputFileSource[] = [];
  for (const s of sources) {
    const rows = s.file.rows;
    if (s.format !== 'parquet' || rows <= splitRows) {
      out.push(s);
      continue;
    }
    const parts = Math.ceil(rows / splitRows);
    const step = Math.ceil(rows / parts / ROW_GROUP) * ROW_GROUP;
    for (let from = 0; from < rows; from += step) out.push({ ...s, fromRow: from, toRow: Math.min(rows, from + step) });
  }
  return out;
}

export function describeSource(s: InputFileSource): string {
  return s.fromRow === undefined ? s.file.uri : `${s.file.uri} rows ${s.fromRow}-${(s.toRow ?? s.file.rows) - 1}`;
}

/** A JobError for a task that failed outside user code (I/O, loading the job); the error is the cause. */
export function taskError(job: string, step: string, where: string, error: unknown): JobError {
  const message = error instanceof Error ? error.message : String(error);
  return new JobError(job, step, `${where} failed: ${message}`, { cause: error });
}

/**
 * The spill directory of a step: a fresh directory under `configured` when given, else under the work dir
 * when it is local, else under the OS temp dir.
 */
export async function spillDirFor(plan: RunPlan<unknown>, step: string, configured: string | undefined): Promise<{ spillDir: string; cleanSpill: () => Promise<void> }> {
  let root: string;
  let parent: string | undefined;
  if (configured !== undefined) {
    await fsp.mkdir(configured, { recursive: true });
    root = await fsp.mkdtemp(path.join(configured, `courier-spill-${plan.runId}-${step}-`));
  } else {
    try {
      parent = path.join(localPath(plan.workDir), '_spill');
      root = path.join(parent, step);
    } catch {
      root = await fsp.mkdtemp(path.join(os.tmpdir(), `courier-spill-${plan.runId}-`));
    }
  }
  await fsp.mkdir(root, { recursive: true });
  return {
    spillDir: root,
    cleanSpill: async () => {
      await fsp.rm(root, { recursive: true, force: true });
      if (parent) await fsp.rmdir(parent).catch(() => undefined);
    },
  };
}

/** Moves every reducer's files into one staged dataset and marks it `_SUCCESS`, once, last. */
export async function commitOutput(
  plan: RunPlan<unknown>,
  step: PlannedStep<unknown>,
  reduced: readonly { readonly marker: DatasetMarker }[],
  shuffleUri: string,
  extra: Record<string, unknown>,
): Promise<DatasetMarker> {
  const uri = step.output.uri;
  const fs = fileSystemFor(uri);
  const staging = await DatasetStaging.begin(fs, uri, { overwrite: step.output.intermediate || plan.options.overwrite === true });
  try {
    for (const [r, o] of reduced.entries()) {
      const from = joinUri(shuffleUri, `r-${String(r).padStart(5, '0')}`);
      for (const f of o.marker.files) {
        const slash = f.path.lastIndexOf('/');
        const dir = slash >= 0 ? f.path.slice(0, slash + 1) : '';
        const name = f.path.slice(slash + 1).replace(/^part-/, `part-r${String(r).padStart(5, '0')}-`);
        const rel = dir + name;
        const target = staging.stagedUri(rel);
        await fs.mkdirs(target.slice(0, target.lastIndexOf('/')));
        await fs.rename(joinUri(from, f.path), target);
        staging.files.push({ ...f, path: rel });
      }
    }
    const partitionBy = reduced[0]?.marker.partitionBy;
    return await staging.commit({
      kind: 'parquet',
      schema: [...step.output.schema.fields],
      ...(partitionBy && partitionBy.length ? { partitionBy } : {}),
      extra,
    });
  } catch (e) {
    await staging.abort();
    throw e;
  }
}

/**
 * Runs tasks with at most `concurrency` in flight; outcomes come back in task order. After a failure no
 * new task starts (those not run are `undefined`).
 */
async function runTasks<S extends TaskSpec>(
  specs: readonly S[],
  execute: Execute,
  concurrency: number,
  onProgress: (p: TaskProgress) => void,
): Promise<(TaskOutcome | undefined)[]> {
  const outcomes: (TaskOutcome | undefined)[] = new Array(specs.length).fill(undefined);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < specs.length) {
      const i = next++;
      const o = await execute(specs[i]!, onProgress);
      outcomes[i] = o;
      if (!o.ok) failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, specs.length)) }, lane));
  return outcomes;
}

interface PendingTask {
  readonly request: WorkerRequest;
  readonly onProgress: (p: TaskProgress) => void;
  readonly resolve: (o: TaskOutcome) => void;
}

/** Idle workers end after this long; until then the next run reuses them (and the jobs they loaded). */
const IDLE_MS = 5000;

/**
 * Worker threads that load jobs from their source and run tasks one at a time each. One pool per worker
 * count is shared by every run in the process: starting a worker (tsx, the engine, DuckDB) costs far more
 * than a small step. Idle workers are unref'd (they never keep the process alive) and end after IDLE_MS.
 */
class WorkerPool {
  private static readonly shared = new Map<string, WorkerPool>();
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private readonly busy = new Map<Worker, PendingTask>();
  private readonly queue: PendingTask[] = [];
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly size: number,
    private readonly heapMb: number,
  ) {}

  /** The process-wide pool of `size` workers whose heaps are capped at `heapMb`. */
  static of(size: number, heapMb: number): WorkerPool {
    const id = `${size}/${heapMb}`;
    let pool = WorkerPool.shared.get(id);
    if (!pool) WorkerPool.shared.set(id, (pool = new WorkerPool(size, heapMb)));
    return pool;
  }

  run(jobName: string, source: JobSource, spec: TaskSpec, onProgress: (p: TaskProgress) => void): Promise<TaskOutcome> {
    return new Promise((resolve) => {
      this.queue.push({ request: { id: this.nextId++, jobName, source, spec }, onProgress, resolve });
      this.pump();
    });
  }

  private pump(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker) {
        if (this.all.size >= this.size) return;
        worker = this.spawn();
      }
      const task = this.queue.shift()!;
      this.busy.set(worker, task);
      worker.ref();
      worker.postMessage(task.request);
    }
    if (this.busy.size === 0 && this.all.size > 0) {
      this.idleTimer = setTimeout(() => this.endIdle(), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private endIdle(): void {
    this.idleTimer = undefined;
    for (const w of this.idle.splice(0)) {
      this.all.delete(w);
      void w.terminate();
    }
  }

  private spawn(): Worker {
    const worker = new Worker(bootCode(), { eval: true, resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: youngGenerationMb(this.heapMb) } });
    this.all.add(worker);
    worker.on('message', (m: WorkerReply) => {
      const task = this.busy.get(worker);
      if (!task || task.request.id !== m.id) return;
      if (m.type === 'progress') {
        task.onProgress(m);
        return;
      }
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      task.resolve(m.outcome);
      this.pump();
    });
    const lost = (cause: unknown): void => {
      const error =
        (cause as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new Error(
              `the worker ran out of memory: its heap is capped at ${this.heapMb} MiB (engine.local.memoryMb × ${WORKER_HEAP_SHARE} / workers); ` +
                'raise engine.local.memoryMb, or use fewer workers, or keep less in memory per reduce group',
              { cause },
            )
          : cause;
      if (!this.all.delete(worker)) return;
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
      const task = this.busy.get(worker);
      this.busy.delete(worker);
      if (task) task.resolve({ ok: false, error, counters: {}, bad: EMPTY_BAD_RECORD_STATE });
      this.pump();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`worker thread exited with code ${code}`)));
    return worker;
  }
}

/**
 * The worker's boot code: register tsx (jobs and the engine are TypeScript), then load the worker module.
 * Computed on first use: a stage bundle carries this module but has no tsx to resolve.
 */
let workerBoot: string | undefined;
function bootCode(): string {
  if (workerBoot === undefined) {
    // The ESM build of tsx's API (require.resolve finds the CommonJS one next to it).
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const entry = new URL('./local-worker.ts', import.meta.url).href;
    workerBoot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  }
  return workerBoot;
}

/** A local runner. */
export function localRunner(options?: LocalRunnerOptions): JobRunner {
  return new LocalRunner(options);
}
