/**
 * The streaming runner (`--engine streaming`): a job run as a cluster runs it, on this machine. The job is
 * built into its stage bundle (stage-bundle.ts); every map task and every reduce task is a `node` child
 * process fed through the streaming protocol (docs/cluster.md), and the shuffle between them sorts the map
 * output lines by key text, bytewise and stable (GNU sort, LC_ALL=C), as Hadoop and Spark sort them. mrjob's `local` runner idea:
 * what passes here passes the cluster's protocol, since the bundle, its arguments and its lines are the same.
 *
 * The runner does the file I/O (inputs read as every runner reads them, outputs staged and marked as the
 * local runner does); map output goes to one file per map task and partition in the step's spill directory,
 * and sort spills to disk past its buffer, so memory stays bounded whatever the data size.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { joinUri, fileSystemFor, rowsToBatch, writeDataset, type ColumnBatch, type DatasetMarker, type RecordSchema, type Row } from '../storage/index.ts';
import { JobError } from './engine-error.ts';
import type { Job, JobSource, StepInput } from './job-definition.ts';
import { resolveShuffle } from './key-order.ts';
import { commitOutput, describeSource, spillDirFor, splitRowsFor, splitSources, taskError } from './local-runner.ts';
import { finishRun, planRun, type PlannedStep, type RunPlan } from './run-plan.ts';
import type { JobResult, JobRunner, RunOptions, StepResult } from './runner-types.ts';
import { buildStageBundle, stageBundleName } from './stage-bundle.ts';
import { ENGINE_COUNTER_GROUP, inputColumns, OUTCOME_PREFIX, type StageOutcome } from './stage-cli.ts';
import { failStep, finishStep, inputFileSources, readInputFile, startStep, stepProgressReporter, type InputFileSource, type StepCounts } from './step-input.ts';
import { BAD_TAG, RECORD_TAG, rowLineDecoder, rowLineEncoder, splitFields } from './streaming-protocol.ts';

/** Options of the streaming runner. */
export interface StreamingRunnerOptions {
  /** Task processes at once (default `os.availableParallelism()`). */
  readonly workers?: number;
  /** Reducer partitions of steps that do not set `shuffle.reducers` (default: the worker count). */
  readonly reducers?: number;
  /** Rows per input batch read (default 8192). */
  readonly batchRows?: number;
  /** Rows per output batch written (default 8192). */
  readonly outputBatchRows?: number;
  /** Bad records kept per step in the quarantine dataset (default 10,000). */
  readonly quarantineSample?: number;
  /** Where bundles are built (default: a directory under the OS temp dir, one per job source). */
  readonly bundleDir?: string;
  /** Local directory for the shuffle's files (`engine.local.spillDir`); default as the local runner's. */
  readonly spillDir?: string;
  /** Memory of each shuffle sort process before it spills to disk, in MiB (default 256). */
  readonly sortBufferMb?: number;
  /** The node binary tasks run with (default: this process's). */
  readonly node?: string;
}

/** Where the time of a streaming run went, summed over its steps' tasks (for `npm run bench -- cluster`). */
export interface StreamingTimings {
  /** Building the bundle (once per job source and process). */
  bundleSeconds: number;
  /** From spawning a task to its first byte of output or its end, whichever comes first (process start and bundle load). */
  startSeconds: number;
  /** The runner's encoding of input rows into lines, and decoding of output lines into rows. */
  codecSeconds: number;
  /** The shuffle's sort processes (GNU sort), wall time summed; they run beside the reducers they feed. */
  sortSeconds: number;
  /** Wall time inside map and reduce task processes, all tasks summed. */
  taskSeconds: number;
}

/** Runs jobs through their stage bundles, one child process per task. */
export class StreamingRunner implements JobRunner {
  readonly kind = 'streaming';
  private readonly workers: number;
  /** Time spent, summed over this runner's runs. */
  readonly timings: StreamingTimings = { bundleSeconds: 0, startSeconds: 0, codecSeconds: 0, sortSeconds: 0, taskSeconds: 0 };

  constructor(private readonly options: StreamingRunnerOptions = {}) {
    this.workers = Math.max(1, Math.floor(options.workers ?? os.availableParallelism()));
  }

  async run<P>(job: Job<P>, params: unknown, options: RunOptions): Promise<JobResult> {
    const started = performance.now();
    const source = job.source;
    if (!source) {
      throw new JobError(job.name, undefined, 'the streaming runner runs a job through its stage bundle, built from the job\'s source: add source: { module: import.meta.url, export: "<its export>" } to defineJob');
    }
    const plan = await planRun(job, params, options);
    const steps: StepResult[] = [];
    let succeeded = false;
    try {
      const t0 = performance.now();
      const bundle = await bundleOf(source, job.name, this.options.bundleDir);
      this.timings.bundleSeconds += (performance.now() - t0) / 1000;
      for (const step of plan.steps) steps.push(await this.runStep(plan as RunPlan<unknown>, step as PlannedStep<unknown>, bundle, params));
      succeeded = true;
    } finally {
      await finishRun(plan as RunPlan<unknown>, succeeded);
    }
    return { job: job.name, runId: plan.runId, params: plan.params, workDir: plan.workDir, seconds: (performance.now() - started) / 1000, steps };
  }

  private async runStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, bundle: string, rawParams: unknown): Promise<StepResult> {
    const started = performance.now();
    const def = step.definition;
    const job = plan.job as Job;
    const begun = await startStep(plan, step, this.options.quarantineSample);
    const { inputs, recordsInTotal, bytesInTotal, counters, bad } = begun;
    const shuffle = resolveShuffle(def.shuffle, this.options.reducers ?? this.workers);
    const shuffleUri = joinUri(plan.workDir, '_shuffle', def.name);
    const counts: StepCounts = { recordsIn: 0, recordsOut: 0, bytesIn: 0 };
    const progress = stepProgressReporter(plan, step, begun, started, counts);
    const common = [
      '--params', JSON.stringify(rawParams ?? {}),
      '--max-bad-record-rate', String(step.maxBadRecordRate),
      '--expected-records-in', String(recordsInTotal),
      ...(this.options.quarantineSample !== undefined ? ['--quarantine-sample', String(this.options.quarantineSample)] : []),
    ];
    const { spillDir, cleanSpill } = await spillDirFor(plan, def.name, this.options.spillDir);
    let marker: DatasetMarker;
    let mapOutputRecords = 0;
    let reduceGroups = 0;
    try {
      try {
        // Map: one task per input file, or per row range of a large Parquet file (as the local runner splits).
        const mapTasks: { input: string; source: InputFileSource }[] = [];
        const splitRows = splitRowsFor(recordsInTotal, this.workers);
        for (const input of inputs) for (const source of splitSources(inputFileSources(input), splitRows)) mapTasks.push({ input: input.name, source });
        // Each map task's lines go to one file per partition; a partition's files, in map-task order, are
        // what GNU sort reads (stable: ties keep that order, as inline and local runs keep it).
        const partitionFiles: string[][] = Array.from({ length: shuffle.reducers }, () => []);
        const mapped = await inOrder(mapTasks, this.workers, async ({ input, source }, taskIndex) => {
          const out = new PartitionFiles(spillDir, taskIndex, shuffle.reducers);
          const args = ['map', def.name, input, '--reducers', String(shuffle.reducers), '--file', source.file.uri, '--first-row', String(source.fromRow ?? 0), ...common];
          const { schema, columns } = inputColumns(job, def, def.inputs[input] as StepInput);
          const encode = rowLineEncoder(schema, columns);
          const isLines = source.format === 'lines';
          const outcome = await this.task(bundle, args, `map task of ${describeSource(source)}`, {
            feed: async (write) => {
              let bytesRead = 0;
              for await (const batch of readInputFile(source, this.options.batchRows ?? 8192)) {
                const t = performance.now();
                let text = '';
                for (const row of batch.rows) text += (isLines ? encodeLine(row['line'] as string) : encode(row)) + '\n';
                this.timings.codecSeconds += (performance.now() - t) / 1000;
                await write(text);
                counts.recordsIn += batch.rows.length;
                counts.bytesIn += batch.bytesRead - bytesRead;
                bytesRead = batch.bytesRead;
                progress('map');
              }
            },
            line: (line) => {
              const tab = line.indexOf('\t');
              const p = line.slice(0, tab);
              if (p === BAD_TAG) return;
              const n = Number(p);
              if (!(n >= 0 && n < shuffle.reducers)) throw new Error(`map output names partition ${p}; the step has ${shuffle.reducers}`);
              out.add(n, line);
            },
            pressure: () => out.full,
            relieved: () => out.drained(),
          }).finally(() => out.close());
          return { outcome, files: await out.close() };
        });
        counts.bytesIn = bytesInTotal;
        for (const [i, m] of mapped.entries()) {
          if (!m) continue;
          const o = m.outcome;
          counters.addAll(withoutEngineGroup(o.counters));
          bad.merge(o.bad);
          if (!o.ok) throw taskError(job.name, def.name, `map task of ${describeSource(mapTasks[i]!.source)}`, o.error);
          mapOutputRecords += o.mapOutputRecords;
          for (const [p, f] of m.files.entries()) if (f) partitionFiles[p]!.push(f);
        }
        counts.recordsIn = mapped.reduce((s, m) => s + (m?.outcome.recordsIn ?? 0), 0);

        // Reduce: one task per partition, its lines sorted by key text (bytewise; ties keep map order).
        const outputSchema = def.output.schema;
        const decode = rowLineDecoder(outputSchema, outputSchema.fields.map((f) => f.name), `step ${def.name} reduce output`, 1);
        const reduced = await inOrder(partitionFiles.map((files, p) => ({ files, p })), this.workers, async ({ files, p }) => {
          const outputUri = joinUri(shuffleUri, `r-${String(p).padStart(5, '0')}`);
          const rows = new RowQueue(outputSchema, this.options.outputBatchRows ?? 8192);
          let lineNo = 0;
          const writing = writeDataset(outputUri, outputSchema, rows.batches(), { partitionBy: def.output.partitionBy ?? [], overwrite: true });
          writing.catch(() => undefined);
          const outcome = await this.task(bundle, ['reduce', def.name, ...common], `reduce task of partition ${p}`, {
            feed: (_write, stdin) => this.sortInto(files, spillDir, stdin),
            line: (line) => {
              lineNo++;
              if (line.startsWith(RECORD_TAG + '\t')) {
                const t1 = performance.now();
                rows.push(decode(splitFields(line), lineNo - 1));
                this.timings.codecSeconds += (performance.now() - t1) / 1000;
                counts.recordsOut++;
                if (counts.recordsOut % 8192 === 0) progress('reduce');
              } else if (!line.startsWith(BAD_TAG + '\t')) {
                throw new Error(`reduce output line ${lineNo} starts with neither "r" nor "bad"`);
              }
            },
            pressure: () => rows.full,
            relieved: () => rows.drained(),
          });
          rows.end();
          const written = await writing;
          return { outcome, marker: written };
        });
        const markers: { marker: DatasetMarker }[] = [];
        for (const [i, r] of reduced.entries()) {
          if (!r) continue;
          const o = r.outcome;
          counters.addAll(withoutEngineGroup(o.counters));
          bad.merge(o.bad);
          if (!o.ok) throw taskError(job.name, def.name, `reduce task of partition ${i}`, o.error);
          reduceGroups += o.groups;
          markers.push({ marker: r.marker });
        }
        counts.recordsOut = reduced.reduce((s, r) => s + (r?.outcome.recordsOut ?? 0), 0);
        bad.check(counts.recordsIn);
        marker = await commitOutput(plan, step, markers, shuffleUri, {
          job: job.name,
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
    return result;
  }

  /**
   * The cluster's sort, run as GNU sort does it for mrjob's local runner: bytewise (LC_ALL=C) on the key
   * field, stable (-s) so ties keep map-task order, spilling to `spillDir` past its buffer; its output is
   * piped straight into the reducer's stdin.
   */
  private sortInto(files: readonly string[], spillDir: string, stdin: Writable): Promise<void> {
    if (files.length === 0) {
      stdin.end();
      return Promise.resolve();
    }
    const t0 = performance.now();
    const sort = spawn('sort', ['-s', '-t', '\t', '-k2,2', '-T', spillDir, '-S', `${this.options.sortBufferMb ?? 256}M`, '--', ...files], {
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    sort.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    sort.stdout.pipe(stdin);
    return new Promise((resolve, reject) => {
      sort.on('error', (e) => reject(new Error(`the shuffle sort could not start (${(e as Error).message}): the streaming runner needs GNU sort (coreutils) on PATH`)));
      sort.on('close', (code) => {
        this.timings.sortSeconds += (performance.now() - t0) / 1000;
        if (code === 0) resolve();
        else reject(new Error(`the shuffle sort exited with code ${code}: ${stderr.trim().slice(-500)}`));
      });
    });
  }

  /**
   * Runs one task process: `feed` writes its stdin (awaiting drains), `line` takes each stdout line, and
   * the outcome comes from its stderr. A process that dies without an outcome fails the task with its exit
   * code and the last lines it printed.
   */
  private task(
    bundle: string,
    args: readonly string[],
    what: string,
    io: { feed: (write: (text: string) => Promise<void>, stdin: Writable) => Promise<void>; line: (line: string) => void; pressure?: () => boolean; relieved?: () => Promise<void> },
  ): Promise<StageOutcome> {
    const spawned = performance.now();
    const child = spawn(this.options.node ?? process.execPath, ['--enable-source-maps', bundle, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let firstOutput = false;
    const started = (): void => {
      if (firstOutput) return;
      firstOutput = true;
      this.timings.startSeconds += (performance.now() - spawned) / 1000;
    };
    let outcome: StageOutcome | undefined;
    const tail: string[] = [];
    let failure: unknown;
    const fail = (e: unknown): void => {
      failure ??= e;
      child.kill('SIGKILL');
    };

    let stdoutRest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      started();
      const text = stdoutRest + chunk;
      let at = 0;
      try {
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
          io.line(text.slice(at, nl));
          at = nl + 1;
        }
      } catch (e) {
        fail(e);
      }
      stdoutRest = text.slice(at);
      if (io.pressure?.()) {
        child.stdout.pause();
        void io.relieved!().then(() => child.stdout.resume());
      }
    });
    let stderrRest = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const text = stderrRest + chunk;
      const lines = text.split('\n');
      stderrRest = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith(OUTCOME_PREFIX)) {
          try {
            outcome = v8.deserialize(Buffer.from(l.slice(OUTCOME_PREFIX.length), 'base64')) as StageOutcome;
          } catch (e) {
            fail(e);
          }
        } else if (!l.startsWith('reporter:')) {
          tail.push(l);
          if (tail.length > 20) tail.shift();
        }
      }
    });
    const stdinClosed = new Promise<void>((resolve) => {
      child.stdin.on('error', () => resolve());
      child.stdin.on('close', () => resolve());
    });
    const write = (text: string): Promise<void> =>
      new Promise((resolve, reject) => {
        if (child.stdin.destroyed) {
          reject(new Error('the task closed its input early'));
          return;
        }
        if (child.stdin.write(text)) resolve();
        else child.stdin.once('drain', resolve);
      });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const t0 = performance.now();
    return (async () => {
      try {
        await io.feed(write, child.stdin);
      } catch (e) {
        if (!child.stdin.destroyed || !(e instanceof Error && e.message.includes('closed its input'))) fail(e);
      }
      child.stdin.end();
      await stdinClosed;
      const code = await exited;
      started();
      this.timings.taskSeconds += (performance.now() - t0) / 1000;
      if (stdoutRest.length > 0 && failure === undefined) {
        try {
          io.line(stdoutRest);
        } catch (e) {
          failure = e;
        }
      }
      if (failure !== undefined) return { ok: false, error: failure, counters: outcome?.counters ?? {}, bad: outcome?.bad ?? { count: 0, sample: [], messages: [], rejected: { count: 0, sample: [] } }, recordsIn: 0, recordsOut: 0, mapOutputRecords: 0, groups: 0 };
      if (!outcome) {
        const error = new Error(`${what}: the stage bundle exited with code ${code} and no outcome: ${tail.join(' | ').slice(-2000) || '(no output)'}`);
        return { ok: false, error, counters: {}, bad: { count: 0, sample: [], messages: [], rejected: { count: 0, sample: [] } }, recordsIn: 0, recordsOut: 0, mapOutputRecords: 0, groups: 0 };
      }
      return outcome;
    })();
  }
}

const encodeLine = ((encode) => (line: string) => encode({ line }))(rowLineEncoder({ fields: [{ name: 'line', type: 'string' }] }, ['line']));

/** Counters without the engine's own group (its figures arrive in the outcome). */
function withoutEngineGroup(counters: StageOutcome['counters']): StageOutcome['counters'] {
  if (!(ENGINE_COUNTER_GROUP in counters)) return counters;
  const { [ENGINE_COUNTER_GROUP]: _engine, ...rest } = counters;
  return rest;
}

/** One map task's output lines, one file per partition, written in large appends with backpressure. */
class PartitionFiles {
  private readonly pending: string[][];
  private readonly sizes: number[];
  private readonly streams: (fs.WriteStream | undefined)[];
  private readonly names: (string | undefined)[];
  private waiting = 0;
  private relief: (() => void) | undefined;
  private closing: Promise<(string | undefined)[]> | undefined;

  constructor(
    private readonly dir: string,
    private readonly task: number,
    reducers: number,
  ) {
    this.pending = Array.from({ length: reducers }, () => []);
    this.sizes = new Array<number>(reducers).fill(0);
    this.streams = new Array<fs.WriteStream | undefined>(reducers).fill(undefined);
    this.names = new Array<string | undefined>(reducers).fill(undefined);
  }

  /** Writes are waiting on a full stream: the map task's output should pause. */
  get full(): boolean {
    return this.waiting > 0;
  }

  add(partition: number, line: string): void {
    this.pending[partition]!.push(line);
    this.sizes[partition]! += line.length + 1;
    if (this.sizes[partition]! >= 1 << 20) this.write(partition);
  }

  drained(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => (this.relief = resolve));
  }

  private write(p: number): void {
    const lines = this.pending[p]!;
    if (lines.length === 0) return;
    let stream = this.streams[p];
    if (!stream) {
      const name = path.join(this.dir, `m${String(this.task).padStart(5, '0')}-p${String(p).padStart(5, '0')}`);
      this.names[p] = name;
      this.streams[p] = stream = fs.createWriteStream(name);
    }
    this.pending[p] = [];
    this.sizes[p] = 0;
    if (!stream.write(lines.join('\n') + '\n')) {
      this.waiting++;
      stream.once('drain', () => {
        if (--this.waiting === 0 && this.relief) {
          const r = this.relief;
          this.relief = undefined;
          r();
        }
      });
    }
  }

  /** Flushes and closes every file; resolves to each partition's file (undefined: the task wrote none). */
  close(): Promise<(string | undefined)[]> {
    this.closing ??= (async () => {
      for (let p = 0; p < this.pending.length; p++) this.write(p);
      await Promise.all(this.streams.map((s) => (s ? new Promise<void>((resolve, reject) => s.end((e?: Error | null) => (e ? reject(e) : resolve()))) : undefined)));
      return this.names;
    })();
    return this.closing;
  }
}

/** Runs `fn` over items with at most `concurrency` at once; results in item order; after a failure no new item starts. */
async function inOrder<T, R extends { outcome: StageOutcome }>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array(items.length).fill(undefined);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      const r = await fn(items[i]!, i);
      results[i] = r;
      if (!r.outcome.ok) failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return results;
}

/** Output rows between a reduce task's stdout and the dataset writer, in batches, with backpressure. */
class RowQueue {
  private rows: Row[] = [];
  private readonly ready: ColumnBatch[] = [];
  private waiting: (() => void) | undefined;
  private relief: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly schema: RecordSchema,
    private readonly batchRows: number,
  ) {}

  /** More batches wait than the writer has taken: the reader should pause. */
  get full(): boolean {
    return this.ready.length >= 4;
  }

  push(row: Row): void {
    this.rows.push(row);
    if (this.rows.length >= this.batchRows) this.cut();
  }

  end(): void {
    this.cut();
    this.ended = true;
    this.wake();
  }

  /** Resolves once the writer has taken enough batches. */
  drained(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => (this.relief = resolve));
  }

  private cut(): void {
    if (this.rows.length === 0) return;
    this.ready.push(rowsToBatch(this.schema, this.rows));
    this.rows = [];
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  async *batches(): AsyncGenerator<ColumnBatch> {
    for (;;) {
      const batch = this.ready.shift();
      if (batch) {
        if (!this.full && this.relief) {
          const r = this.relief;
          this.relief = undefined;
          r();
        }
        yield batch;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}

const bundles = new Map<string, Promise<string>>();

/** The bundle of a job source, built once per process (keyed by source) into `dir` or the OS temp dir. */
function bundleOf(source: JobSource, jobName: string, dir: string | undefined): Promise<string> {
  const id = createHash('sha256').update(JSON.stringify([source.module, source.export, source.args ?? []])).digest('hex').slice(0, 16);
  let p = bundles.get(id);
  if (!p) {
    const file = path.join(dir ?? path.join(os.tmpdir(), `courier-stages-${process.pid}`), id, stageBundleName(jobName));
    p = buildStageBundle(source, file).then((b) => b.file);
    p.catch(() => bundles.delete(id));
    bundles.set(id, p);
  }
  return p;
}

/** A streaming runner. */
export function streamingRunner(options?: StreamingRunnerOptions): JobRunner {
  return new StreamingRunner(options);
}
