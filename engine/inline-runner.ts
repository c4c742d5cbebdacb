/**
 * The inline runner: one thread, everything in memory, like mrjob's inline runner. It runs the same map,
 * combine, shuffle order and reduce code as the other runners, so it is the place to debug a job: user code
 * runs on the caller's stack, and a failure names the record (input, file, row) with the error's own stack.
 * It holds a step's whole map output in memory: use it on small data; the local runner spills.
 */
import {
  writeDataset,
  type ColumnBatch,
  type DatasetMarker,
} from '../storage/index.ts';
import type { ShufflePair } from './job-context.ts';
import type { Job } from './job-definition.ts';
import { compareKeys, partitionOf, resolveShuffle } from './key-order.ts';
import { MapTask, type MapTaskEnv } from './map-task.ts';
import { ArrayPairs, ReduceTask } from './reduce-task.ts';
import { finishRun, planRun, type PlannedStep, type RunPlan } from './run-plan.ts';
import type { JobResult, JobRunner, RunOptions, StepResult } from './runner-types.ts';
import { failStep, finishStep, inputFileSources, stepProgressReporter, type StepCounts, readInputFile, startStep } from './step-input.ts';

/** Options of the inline runner. */
export interface InlineRunnerOptions {
  /** Rows per input batch read (default 8192). */
  readonly batchRows?: number;
  /** Rows per output batch written (default 8192). */
  readonly outputBatchRows?: number;
  /** Bad records kept per step in the quarantine dataset (default 10,000); all are counted. */
  readonly quarantineSample?: number;
}

/** Runs jobs in this thread, in memory: for debugging and small data. */
export class InlineRunner implements JobRunner {
  readonly kind = 'inline';

  constructor(private readonly options: InlineRunnerOptions = {}) {}

  async run<P>(job: Job<P>, params: unknown, options: RunOptions): Promise<JobResult> {
    const started = performance.now();
    const plan = await planRun(job, params, options);
    const steps: StepResult[] = [];
    let succeeded = false;
    try {
      for (const step of plan.steps) steps.push(await this.runStep(plan as RunPlan<unknown>, step as PlannedStep<unknown>));
      succeeded = true;
    } finally {
      await finishRun(plan as RunPlan<unknown>, succeeded);
    }
    return { job: job.name, runId: plan.runId, params: plan.params, workDir: plan.workDir, seconds: (performance.now() - started) / 1000, steps };
  }

  private async runStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>): Promise<StepResult> {
    const started = performance.now();
    const def = step.definition;
    const jobName = plan.job.name;
    const begun = await startStep(plan, step, this.options.quarantineSample);
    const { inputs, counters, bad } = begun;
    const env: MapTaskEnv<unknown> = { job: jobName, step: def.name, params: plan.params, counters, bad };
    const shuffle = resolveShuffle(def.shuffle);
    const partitions: ShufflePair[][] = Array.from({ length: shuffle.reducers }, () => []);
    const counts: StepCounts = { recordsIn: 0, recordsOut: 0, bytesIn: 0 };
    let mapOutputRecords = 0;
    let reduceGroups = 0;
    const progress = stepProgressReporter(plan, step, begun, started, counts);

    let marker: DatasetMarker;
    try {
      // Map (and combine per batch), partitioning pairs as they come.
      for (const input of inputs) {
        const task = new MapTask(env, def, input.name);
        for (const source of inputFileSources(input)) {
          const bytesBefore = counts.bytesIn;
          for await (const batch of readInputFile(source, this.options.batchRows ?? 8192)) {
            const pairs = task.mapRows(batch.rows, source.file.uri, batch.firstRow);
            counts.recordsIn += batch.rows.length;
            for (const p of pairs) partitions[partitionOf(p.key, shuffle)]!.push(p);
            counts.bytesIn = bytesBefore + batch.bytesRead;
            progress('map');
          }
          counts.bytesIn = bytesBefore + source.file.bytes;
        }
        mapOutputRecords += task.mapOutputRecords;
      }

      // Sort, group and reduce partition by partition, writing as we go; the dataset is marked only if all succeeds.
      const reduceTask = new ReduceTask(env, def, shuffle.groupFields);
      const outSchema = step.output.schema;
      const batchRows = this.options.outputBatchRows ?? 8192;
      async function* outputBatches(): AsyncGenerator<ColumnBatch> {
        for (let p = 0; p < partitions.length; p++) {
          const pairs = partitions[p]!;
          partitions[p] = [];
          pairs.sort((a, b) => compareKeys(a.key, b.key));
          for (const batch of reduceTask.reduceSorted(new ArrayPairs(pairs), batchRows)) {
            counts.recordsOut += batch.numRows;
            yield batch;
            progress('reduce');
          }
        }
        reduceGroups = reduceTask.groups;
        // Judge the rate before writeDataset commits: a failed step leaves no marked output.
        bad.check(counts.recordsIn);
      }
      // writeDataset stores `extra` in the marker at commit, after the batches are consumed: fill it in then.
      const extra: Record<string, unknown> = { job: jobName, step: def.name, runId: plan.runId, params: plan.params, runner: this.kind };
      marker = await writeDataset(step.output.uri, outSchema, wrapAfter(outputBatches(), () => {
        Object.assign(extra, { recordsIn: counts.recordsIn, recordsOut: counts.recordsOut, badRecords: bad.count, counters: counters.toJSON() });
      }), {
        partitionBy: step.output.partitionBy,
        overwrite: step.output.intermediate || plan.options.overwrite === true,
        extra,
      });
    } catch (e) {
      return failStep(plan, step, bad, e);
    }
    const result = await finishStep(plan, step, begun, started, { recordsIn: counts.recordsIn, recordsOut: counts.recordsOut, mapOutputRecords, reduceGroups, marker });
    progress('done');
    return result;
  }
}

/** Runs `after` once `source` is exhausted, before its consumer sees the end. */
async function* wrapAfter<T>(source: AsyncIterable<T>, after: () => void): AsyncGenerator<T> {
  yield* source;
  after();
}

/** An inline runner with default options. */
export function inlineRunner(options?: InlineRunnerOptions): JobRunner {
  return new InlineRunner(options);
}
