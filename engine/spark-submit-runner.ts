/**
 * The spark-submit engine (`courier run --engine spark-submit`): a job run on a self-hosted Hadoop/Spark
 * cluster through the cluster's own command-line tools on a gateway (`engine.sparkSubmit.gateway`, a command
 * prefix: `docker compose … exec -T gateway` for the mini-cluster in docker/, `ssh <host>` for a real one).
 *
 * For each step: the job's stage bundle and the step's scripts are written under `engine.sparkSubmit.stagingUri`
 * (webhdfs:// or file://, through the storage room), then the gateway runs
 *   - `hadoop jar hadoop-streaming.jar …` for a text-only step (every input `format: 'lines'`; see
 *     hadoop-streaming-step.ts): Hadoop reads the text, the bundle maps and reduces over the streaming
 *     protocol, and this runner turns the reducers' lines into the step's Parquet dataset and quarantine;
 *   - `spark-sql -f <script>` for a step with a Parquet input (the script from spark-sql-step.ts: Spark
 *     reads and writes Parquet itself, the bundle runs in `SELECT TRANSFORM`).
 * The command's output is read as it runs: Hadoop's `map N% reduce M%` lines become the step's progress, and
 * all of it is written to `_cluster/<step>/driver.log` in the run's work dir (kept when the step fails). A
 * failing command fails the step with its exit code and the tail of its output. Outputs are committed and
 * marked here, with the same `_SUCCESS` markers as the local runners, so `courier runs` and resume work alike.
 *
 * URIs as the cluster sees them: a `webhdfs://host:port/p` storage URI becomes `hdfs:///p` (the cluster's own
 * default file system; Courier may reach the namenode by another name than the cluster does), `file://` stays.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import {
  fileSystemFor,
  joinUri,
  readMarker,
  rowsToBatch,
  schemeOf,
  writeDataset,
  type ColumnBatch,
  type DatasetMarker,
  type PartitionKey,
  type RecordSchema,
  type Row,
} from '../storage/index.ts';
import { EMPTY_BAD_RECORD_STATE, QUARANTINE_SCHEMA, type BadRecordState } from './bad-records.ts';
import type { Counters } from './counters.ts';
import { JobError } from './engine-error.ts';
import { GatewayCommandError, runGatewayCommand } from './gateway-command.ts';
import { DEFAULT_HADOOP_STREAMING_JAR, hadoopStreamingStep, parseHadoopCounters, PLAIN_WORD, type StreamingInputFile } from './hadoop-streaming-step.ts';
import type { Job, JobSource } from './job-definition.ts';
import { resolveShuffle } from './key-order.ts';
import { SPARK_STEP_DIRS, sparkSqlSteps, sparkSqlStepScript, sparkStepDir } from './spark-sql-step.ts';
import { adoptSparkParquet, commitSparkStep, sparkFiles } from './spark-step-output.ts';
import { commitOutput } from './local-runner.ts';
import { finishRun, planRun, type PlannedStep, type RunPlan } from './run-plan.ts';
import type { JobResult, JobRunner, RunOptions, StepResult } from './runner-types.ts';
import { buildStageBundle, stageBundleName } from './stage-bundle.ts';
import { ENGINE_COUNTER_GROUP } from './stage-cli.ts';
import { failStep, finishStep, startStep, stepProgressReporter, type StartedStep, type StepCounts } from './step-input.ts';
import { BAD_TAG, RECORD_TAG, rowLineDecoder, splitFields, unescapeField } from './streaming-protocol.ts';

/** Options of the spark-submit runner (`engine.sparkSubmit` in the config, plus defaults). */
export interface SparkSubmitRunnerOptions {
  /** The command prefix that runs a command on the cluster's gateway. */
  readonly gateway: readonly string[];
  /** Where bundles and scripts are staged: webhdfs:// or file://. */
  readonly stagingUri: string;
  /** The streaming jar on the gateway (default: where the official apache/hadoop 3.4.1 image has it). */
  readonly hadoopStreamingJar?: string;
  /** The node command on the cluster's nodes (default `node`). */
  readonly node?: string;
  /** Reducers of steps that do not set `shuffle.reducers` (default 2). */
  readonly reducers?: number;
  /** A storage URI as the cluster addresses it (default: webhdfs://h:p/x → hdfs:///x, file:// as is). */
  readonly clusterUri?: (uri: string) => string;
  /** Bad records kept per step in the quarantine dataset (default 10,000). */
  readonly quarantineSample?: number;
  /** Rows per output batch written (default 8192). */
  readonly outputBatchRows?: number;
  /** Where bundles are built (default: a directory under the OS temp dir). */
  readonly bundleDir?: string;
  /** Lines of driver output an error shows (default 40). */
  readonly tailLines?: number;
  /** Each line the gateway command prints, as it arrives (the CLI may log them). */
  readonly onOutput?: (line: string, step: string) => void;
  /** Where these options come from, for messages (default `engine.sparkSubmit`). */
  readonly configKey?: string;
}

/** A bad `SparkSubmitRunnerOptions` value. */
export class SparkSubmitConfigError extends Error {
  override readonly name = 'SparkSubmitConfigError';
}

/** The default `clusterUri`: WebHDFS paths on the cluster's default file system, file:// unchanged. */
export function defaultClusterUri(uri: string): string {
  const scheme = schemeOf(uri);
  if (scheme === 'file') return uri;
  if (scheme === 'webhdfs') return `hdfs://${uri.replace(/^webhdfs:\/\/[^/]*/i, '') || '/'}`;
  throw new Error(`${uri}: the spark-submit engine hands the cluster webhdfs:// and file:// paths only`);
}

/** The figures a step's cluster job reported (the bundle's `courier` counters, summed by the cluster). */
interface EngineFigures {
  recordsIn: number;
  mapOutputRecords: number;
  reduceGroups: number;
  badRecords: number;
}

/** Runs jobs on a Hadoop/Spark cluster through its CLI on a gateway. */
export class SparkSubmitRunner implements JobRunner {
  readonly kind = 'spark-submit';
  private readonly key: string;

  constructor(private readonly options: SparkSubmitRunnerOptions) {
    this.key = options.configKey ?? 'engine.sparkSubmit';
    const g = options.gateway as unknown;
    if (!Array.isArray(g) || g.length === 0 || !g.every((w) => typeof w === 'string' && w !== '')) {
      throw new SparkSubmitConfigError(
        `${this.key}.gateway must be a non-empty list of command words, e.g. [docker, compose, -f, docker/compose.yaml, exec, -T, gateway] or [ssh, gateway.example]; got ${JSON.stringify(g)}`,
      );
    }
    const staging = options.stagingUri as unknown;
    const scheme = typeof staging === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(staging) ? staging.slice(0, staging.indexOf(':')).toLowerCase() : undefined;
    if (scheme !== 'webhdfs' && scheme !== 'file') {
      throw new SparkSubmitConfigError(
        `${this.key}.stagingUri must be a webhdfs:// or file:// URI the cluster can read (e.g. webhdfs://namenode:9870/courier/staging); got ${JSON.stringify(staging)}`,
      );
    }
    if (options.reducers !== undefined && !(Number.isInteger(options.reducers) && options.reducers >= 1)) {
      throw new SparkSubmitConfigError(`${this.key}: reducers must be a whole number of 1 or more, got ${String(options.reducers)}`);
    }
  }

  async run<P>(job: Job<P>, params: unknown, options: RunOptions): Promise<JobResult> {
    const started = performance.now();
    const source = job.source;
    if (!source) {
      throw new JobError(job.name, undefined, 'the spark-submit engine ships the job to the cluster as its stage bundle, built from the job\'s source: add source: { module: import.meta.url, export: "<its export>" } to defineJob');
    }
    const plan = (await planRun(job, params, options)) as RunPlan<unknown>;
    const steps: StepResult[] = [];
    let succeeded = false;
    const stagingDir = joinUri(this.options.stagingUri, job.name, plan.runId);
    try {
      await this.stageBundle(source, job.name, stagingDir);
      for (const step of plan.steps) steps.push(await this.runStep(plan, step, stagingDir, params));
      succeeded = true;
    } finally {
      await finishRun(plan, succeeded);
    }
    // What a run staged goes with its success; a failed run's bundle and scripts stay, to re-run by hand.
    await fileSystemFor(stagingDir).delete(stagingDir, { recursive: true }).catch(() => undefined);
    await removeIfEmpty(joinUri(this.options.stagingUri, job.name));
    return { job: job.name, runId: plan.runId, params: plan.params, workDir: plan.workDir, seconds: (performance.now() - started) / 1000, steps };
  }

  private clusterUri(uri: string): string {
    return (this.options.clusterUri ?? defaultClusterUri)(uri);
  }

  /** Builds the bundle here and writes it to the run's staging directory. */
  private async stageBundle(source: JobSource, jobName: string, stagingDir: string): Promise<void> {
    const local = await bundleOf(source, jobName, this.options.bundleDir);
    const target = joinUri(stagingDir, stageBundleName(jobName));
    const fs = fileSystemFor(target);
    await fs.mkdirs(stagingDir);
    await fs.writeAtomic(target, await readFile(local));
  }

  private async runStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, stagingDir: string, rawParams: unknown): Promise<StepResult> {
    const textOnly = step.inputs.every((i) => i.format === 'lines' || i.uris.length === 0);
    return textOnly ? this.runStreamingStep(plan, step, stagingDir, rawParams) : this.runSparkSqlStep(plan, step, stagingDir, rawParams);
  }

  /** A step with a Parquet input as one `spark-sql -f` run of its script (spark-sql-step.ts). */
  private async runSparkSqlStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, stagingDir: string, rawParams: unknown): Promise<StepResult> {
    const started = performance.now();
    const def = step.definition;
    // Opened as every runner opens them: a missing input or a changed schema fails here, before the cluster.
    const begun = await startStep(plan, step, this.options.quarantineSample);
    const counts: StepCounts = { recordsIn: 0, recordsOut: 0, bytesIn: 0 };
    const progress = stepProgressReporter(plan, step, begun, started, counts);
    const sparkDir = sparkStepDir(plan, def.name);
    const clusterDir = joinUri(plan.workDir, '_cluster', def.name);
    let committed;
    try {
      await fileSystemFor(sparkDir).delete(sparkDir, { recursive: true });
      // Earlier steps are committed before this one runs, so an input from one is its dataset, read like any other.
      const view: PlannedStep<unknown> = { ...step, inputs: step.inputs.map(({ fromStep: _from, ...input }) => input) };
      const keys = new Map<string, readonly PartitionKey[]>();
      for (const input of begun.inputs) {
        if (input.format !== 'parquet') continue;
        for (const uri of input.uris) keys.set(uri, (await readMarker(fileSystemFor(uri), uri)).partitionBy ?? []);
      }
      const paramsUri = joinUri(stagingDir, `${plan.job.name}.params.json`);
      const [sql] = sparkSqlSteps({ ...plan, steps: [view] }, {
        clusterUri: (u) => this.clusterUri(u),
        bundleUri: this.clusterUri(joinUri(stagingDir, stageBundleName(plan.job.name))),
        paramsUri: this.clusterUri(paramsUri),
        reducers: this.options.reducers ?? 2,
        inputPartitionKeys: (u) => keys.get(u),
        ...(this.options.quarantineSample !== undefined ? { quarantineSample: this.options.quarantineSample } : {}),
        ...(this.options.node !== undefined ? { node: this.options.node } : {}),
      });
      const scriptUri = joinUri(stagingDir, `courier-${def.name}.sql`);
      await fileSystemFor(paramsUri).writeAtomic(paramsUri, JSON.stringify(rawParams ?? {}) + '\n');
      await fileSystemFor(scriptUri).writeAtomic(scriptUri, sparkSqlStepScript(sql!));
      await this.gateway(plan, step, ['spark-sql', '--name', `courier:${plan.job.name}:${def.name}:${plan.runId}`, '-f', this.clusterUri(scriptUri)], clusterDir, (line) => {
        // Spark's console progress bar and scheduler lines: the step is running on the cluster.
        if (/\[Stage \d+:|DAGScheduler: (ResultStage|ShuffleMapStage) \d+/.test(line)) progress('map');
      });
      committed = await commitSparkStep(plan, step, sparkDir, sql!.output.partitionBy, {
        job: plan.job.name,
        step: def.name,
        runId: plan.runId,
        params: plan.params,
        runner: this.kind,
        clusterJob: 'spark-sql',
      });
    } catch (e) {
      // The script writes the quarantine before it judges the bad-record rate: keep it as a failed local step keeps its own.
      const quarantineDir = joinUri(sparkDir, SPARK_STEP_DIRS.quarantine);
      if ((await sparkFiles(quarantineDir).catch(() => [])).length > 0) {
        await adoptSparkParquet(quarantineDir, step.quarantine, { overwrite: true, schema: [...QUARANTINE_SCHEMA.fields], partitionBy: [], extra: { job: plan.job.name, step: def.name, runId: plan.runId, failed: true } }).catch(() => undefined);
      }
      throw e instanceof JobError ? e : new JobError(plan.job.name, def.name, (e as Error).message ?? String(e), { cause: e });
    }
    await fileSystemFor(sparkDir).delete(sparkDir, { recursive: true }).catch(() => undefined);
    await removeIfEmpty(joinUri(plan.workDir, 'spark'));
    await fileSystemFor(clusterDir).delete(clusterDir, { recursive: true }).catch(() => undefined);
    await removeIfEmpty(joinUri(plan.workDir, '_cluster'));
    counts.recordsIn = committed.counts.recordsIn;
    counts.recordsOut = committed.counts.recordsOut;
    counts.bytesIn = begun.bytesInTotal;
    progress('done');
    const engine = committed.counters[ENGINE_COUNTER_GROUP] ?? {};
    const { [ENGINE_COUNTER_GROUP]: _engine, ...counters } = committed.counters;
    return {
      name: def.name,
      recordsIn: committed.counts.recordsIn,
      recordsOut: committed.counts.recordsOut,
      // The bundle's engine figures reach Spark only in band (its counters line), when it sends them.
      mapOutputRecords: engine['map_output_records'] ?? 0,
      reduceGroups: engine['reduce_groups'] ?? 0,
      badRecords: committed.counts.badRecords,
      counters,
      seconds: (performance.now() - started) / 1000,
      output: step.output.uri,
      intermediate: step.output.intermediate,
      marker: committed.marker,
      ...(committed.quarantine ? { quarantine: committed.quarantine } : {}),
    };
  }

  /** A text-only step as a Hadoop Streaming job. */
  private async runStreamingStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, stagingDir: string, rawParams: unknown): Promise<StepResult> {
    const started = performance.now();
    const def = step.definition;
    const job = plan.job as Job;
    const begun = await startStep(plan, step, this.options.quarantineSample);
    const counts: StepCounts = { recordsIn: 0, recordsOut: 0, bytesIn: 0 };
    const progress = stepProgressReporter(plan, step, begun, started, counts);
    const shuffle = resolveShuffle(def.shuffle, this.options.reducers ?? 2);
    const clusterDir = joinUri(plan.workDir, '_cluster', def.name);
    const outputDir = joinUri(clusterDir, 'streaming-output');
    const shuffleUri = joinUri(plan.workDir, '_shuffle', def.name);
    const storage = fileSystemFor(clusterDir);
    let marker: DatasetMarker;
    let figures: EngineFigures = { recordsIn: 0, mapOutputRecords: 0, reduceGroups: 0, badRecords: 0 };
    try {
      const files: StreamingInputFile[] = begun.inputs.flatMap((input) =>
        input.datasets.flatMap((d) => d.files.map((f) => ({ input: input.name, uri: f.uri, clusterUri: this.clusterUri(f.uri) }))),
      );
      const markers: { marker: DatasetMarker }[] = [];
      if (files.length === 0) {
        // Hadoop refuses a job without input paths; an empty step has an empty output.
        markers.push({ marker: await writeDataset(joinUri(shuffleUri, 'r-00000'), def.output.schema, [], { partitionBy: def.output.partitionBy ?? [], overwrite: true }) });
      } else {
        await storage.delete(clusterDir, { recursive: true });
        const built = hadoopStreamingStep(plan, step, {
          jar: this.options.hadoopStreamingJar ?? DEFAULT_HADOOP_STREAMING_JAR,
          node: this.options.node ?? 'node',
          rawParams,
          reducers: shuffle.reducers,
          recordsInTotal: begun.recordsInTotal,
          ...(this.options.quarantineSample !== undefined ? { quarantineSample: this.options.quarantineSample } : {}),
          stagingDir,
          clusterStagingDir: this.clusterUri(stagingDir),
          clusterOutput: this.clusterUri(outputDir),
          files,
        });
        for (const [uri, text] of built.scripts) await fileSystemFor(uri).writeAtomic(uri, text);
        const lines = await this.gateway(plan, step, built.args, clusterDir, (line) => {
          // Hadoop's job client: "INFO mapreduce.Job:  map 57% reduce 0%".
          const m = / map (\d+)% reduce (\d+)%/.exec(line);
          if (!m) return;
          const mapShare = Number(m[1]) / 100;
          counts.recordsIn = Math.round(mapShare * begun.recordsInTotal);
          counts.bytesIn = mapShare * begun.bytesInTotal;
          progress(mapShare < 1 || m[2] === '0' ? 'map' : 'reduce');
        });
        const counters = parseHadoopCounters(lines);
        if (!counters?.job[ENGINE_COUNTER_GROUP]) {
          throw new Error(`the hadoop job client printed no "${ENGINE_COUNTER_GROUP}" counters (its "Counters:" section), so the step's record counts are unknown; see ${joinUri(clusterDir, 'driver.log')}`);
        }
        const { [ENGINE_COUNTER_GROUP]: engine, ...jobCounters } = counters.job;
        begun.counters.addAll(jobCounters);
        figures = {
          recordsIn: engine['records_in'] ?? 0,
          mapOutputRecords: engine['map_output_records'] ?? 0,
          reduceGroups: engine['reduce_groups'] ?? 0,
          badRecords: engine['bad_records'] ?? 0,
        };
        if (!(await storage.exists(joinUri(outputDir, '_SUCCESS')))) {
          throw new Error(`the streaming job exited 0, but its output ${outputDir} has no _SUCCESS file (Hadoop writes it when the job commits)`);
        }
        const parts = (await storage.list(outputDir)).filter((e) => !e.isDirectory && e.name.startsWith('part-'));
        const badRows: Row[] = [];
        for (const [i, part] of parts.entries()) {
          const written = await this.readReducerOutput(part.uri, def.output.schema, badRows, counts, () => progress('reduce'));
          markers.push({ marker: await writeDataset(joinUri(shuffleUri, `r-${String(i).padStart(5, '0')}`), def.output.schema, written, { partitionBy: def.output.partitionBy ?? [], overwrite: true }) });
        }
        begun.bad.merge(clusterBadRecords(badRows, figures.badRecords, jobCounters));
      }
      counts.recordsIn = figures.recordsIn;
      counts.bytesIn = begun.bytesInTotal;
      begun.bad.check(counts.recordsIn);
      marker = await commitOutput(plan, step, markers, shuffleUri, {
        job: job.name,
        step: def.name,
        runId: plan.runId,
        params: plan.params,
        runner: this.kind,
        clusterJob: 'hadoop-streaming',
        recordsIn: counts.recordsIn,
        recordsOut: counts.recordsOut,
        badRecords: begun.bad.count,
        counters: begun.counters.toJSON(),
      });
    } catch (e) {
      // Awaited here, so the rejection is handled before the cleanup below runs.
      return await failStep(plan, step, begun.bad, e);
    } finally {
      await fileSystemFor(shuffleUri).delete(shuffleUri, { recursive: true }).catch(() => undefined);
      await removeIfEmpty(joinUri(plan.workDir, '_shuffle'));
    }
    // The cluster's files of a step that succeeded go; a failed step's stay for diagnosis.
    await storage.delete(clusterDir, { recursive: true }).catch(() => undefined);
    await removeIfEmpty(joinUri(plan.workDir, '_cluster'));
    const result = await finishStep(plan, step, begun as StartedStep, started, { recordsIn: counts.recordsIn, recordsOut: counts.recordsOut, mapOutputRecords: figures.mapOutputRecords, reduceGroups: figures.reduceGroups, marker });
    progress('done');
    return result;
  }

  /** Runs one command on the gateway, keeping its output in `<clusterDir>/driver.log`; failures name the step. */
  private async gateway(plan: RunPlan<unknown>, step: PlannedStep<unknown>, args: readonly string[], clusterDir: string, onLine: (line: string) => void): Promise<readonly string[]> {
    const stepName = step.definition.name;
    for (const a of args) {
      if (!PLAIN_WORD.test(a)) {
        throw new JobError(plan.job.name, stepName, `the cluster command would carry ${JSON.stringify(a)}, which a remote shell (ssh) would split or expand; use dataset paths, a staging URI and names of letters, digits and ${'_@%+=:,./-'}`);
      }
    }
    const log = joinUri(clusterDir, 'driver.log');
    let result;
    try {
      result = await runGatewayCommand(this.options.gateway, args, {
        configKey: `${this.key}.gateway`,
        ...(this.options.tailLines !== undefined ? { tailLines: this.options.tailLines } : {}),
        onLine: (line) => {
          this.options.onOutput?.(line, stepName);
          onLine(line);
        },
      });
    } catch (e) {
      if (e instanceof GatewayCommandError && e.code !== null) {
        await writeLog(log, args, e.lines, 0).catch(() => undefined);
        throw new JobError(plan.job.name, stepName, `${e.message}\n(the output's tail is kept in ${log})`, { cause: e });
      }
      throw new JobError(plan.job.name, stepName, (e as Error).message, { cause: e });
    }
    await writeLog(log, args, result.lines, result.droppedLines);
    return result.lines;
  }

  /** The `r` lines of one reducer output file as row batches; `bad` lines go to `badRows`. */
  private async *readReducerOutput(uri: string, schema: RecordSchema, badRows: Row[], counts: StepCounts, progress: () => void): AsyncGenerator<ColumnBatch> {
    const decode = rowLineDecoder(schema, schema.fields.map((f) => f.name), `reducer output ${uri}`, 1);
    const batchRows = this.options.outputBatchRows ?? 8192;
    const input = createInterface({ input: await fileSystemFor(uri).openRead(uri), crlfDelay: Infinity });
    let rows: Row[] = [];
    let lineNo = 0;
    for await (const line of input) {
      lineNo++;
      if (line.startsWith(RECORD_TAG + '\t')) {
        rows.push(decode(splitFields(line), lineNo - 1));
        counts.recordsOut++;
        if (rows.length >= batchRows) {
          yield rowsToBatch(schema, rows);
          rows = [];
          progress();
        }
      } else if (line.startsWith(BAD_TAG + '\t')) {
        badRows.push(JSON.parse(unescapeField(splitFields(line)[1]!)) as Row);
      } else if (line !== '') {
        throw new Error(`${uri} line ${lineNo}: starts with neither "${RECORD_TAG}" nor "${BAD_TAG}" (is the reducer Courier's stage bundle?)`);
      }
    }
    if (rows.length > 0) yield rowsToBatch(schema, rows);
  }
}

/**
 * The bad-record log of a cluster job as the runner merges it: the sampled rows the tasks sent in band, the
 * count from the `courier` counters (tasks sample at most their own quota), rejected records by counter group.
 */
function clusterBadRecords(rows: readonly Row[], badCount: number, counters: Counters): BadRecordState {
  const bad = rows.filter((r) => r['phase'] !== 'rejected');
  const rejected = rows.filter((r) => r['phase'] === 'rejected');
  const messages = new Map<string, number>();
  for (const r of bad) messages.set(`${String(r['phase'])}: ${String(r['error'])}`, (messages.get(`${String(r['phase'])}: ${String(r['error'])}`) ?? 0) + 1);
  if (badCount > bad.length) messages.set('(bad records the cluster tasks did not sample)', badCount - bad.length);
  const first = bad[0];
  const rejectedCount = Object.values(counters['rejected'] ?? {}).reduce((s, n) => s + n, 0);
  if (!first && badCount === 0) return { ...EMPTY_BAD_RECORD_STATE, rejected: { count: Math.max(rejectedCount, rejected.length), sample: rejected } };
  // The first error as the task's quarantine row names it ("RangeError: message"), with the task's own stack.
  const named = /^(\w+): ([\s\S]*)$/.exec(first ? String(first['error']) : '');
  const error = new Error(named ? named[2] : 'a bad record on the cluster');
  if (named) error.name = named[1]!;
  if (first?.['stack']) error.stack = String(first['stack']);
  return {
    count: badCount,
    sample: bad,
    messages: [...messages],
    ...(first
      ? {
          first: {
            location: {
              phase: first['phase'] as 'map' | 'combine' | 'reduce',
              input: (first['input'] as string | null) ?? null,
              file: (first['file'] as string | null) ?? null,
              row: first['row'] === null || first['row'] === undefined ? null : Number(first['row']),
            },
            error,
          },
        }
      : {}),
    rejected: { count: Math.max(rejectedCount, rejected.length), sample: rejected },
  };
}

async function writeLog(uri: string, args: readonly string[], lines: readonly string[], dropped: number): Promise<void> {
  const head = `# ${args.join(' ')}\n${dropped > 0 ? `# (the first ${dropped} lines are not kept)\n` : ''}`;
  await fileSystemFor(uri).writeAtomic(uri, head + lines.join('\n') + '\n');
}

async function removeIfEmpty(uri: string): Promise<void> {
  const fs = fileSystemFor(uri);
  if ((await fs.list(uri).catch(() => [1])).length === 0) await fs.delete(uri, { recursive: true }).catch(() => undefined);
}

const bundles = new Map<string, Promise<string>>();

/** The bundle of a job source, built once per process into `dir` or the OS temp dir. */
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

/** A spark-submit runner. */
export function sparkSubmitRunner(options: SparkSubmitRunnerOptions): JobRunner {
  return new SparkSubmitRunner(options);
}
