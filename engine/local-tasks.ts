/**
 * The tasks of the local runner, run on a worker thread or (for jobs without a `source`) in the runner's
 * own thread: the same code either way.
 *
 * - A map task reads one input file, maps with the shared MapTask, whose emits encode each pair into its
 *   reducer partition's buffer (sort key and encoded value, `shuffle-runs.ts`). When the buffers pass their memory
 *   share, every partition is sorted by sort key, combined (if the step has a combiner: one call per run of
 *   equal keys) and spilled to disk as a sorted run; at the end what is left is written the same way as a
 *   last run per partition.
 * - A reduce task k-way merges its partition's runs (a binary heap; ties go to the earlier run, so equal
 *   keys keep the order an inline run gives them) into the shared ReduceTask and writes its output as a
 *   dataset of its own, which the runner moves into the step's output at commit.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import {
  setDuckDbMemory,
  writeDataset,
  type ColumnBatch,
  type DatasetMarker,
  type PartitionSpec,
  type RecordSchema,
} from '../storage/index.ts';
import { BadRecordLog, type BadRecordState } from './bad-records.ts';
import { CounterSet, type Counters } from './counters.ts';
import type { Job } from './job-definition.ts';
import { compareSortKeys, readSortKey, type ResolvedShuffle } from './key-order.ts';
import { CombineTask, MapTask, type MapTaskEnv } from './map-task.ts';
import { readAhead } from './read-ahead.ts';
import { ReduceTask } from './reduce-task.ts';
import { MergedPairs, mergePasses, PairBuffer, RunReader, RunWriter, ShuffleSink } from './shuffle-runs.ts';
import { readInputFile, type InputFileSource } from './step-input.ts';
import { decodeValue } from './value-codec.ts';

/** What every task needs to rebuild its step's environment. */
interface TaskBase {
  /** DuckDB's `memory_limit` in the task's thread (its Parquet reads and writes). */
  readonly duckDbMemoryMb: number;
  readonly stepIndex: number;
  readonly params: unknown;
  readonly maxBadRecordRate: number;
  readonly expectedRecordsIn: number;
  readonly quarantine: string;
  readonly quarantineSample?: number;
}

/** One map task: one input file. */
export interface MapTaskSpec extends TaskBase {
  readonly kind: 'map';
  readonly taskIndex: number;
  readonly input: string;
  /** The file and how to read it. */
  readonly source: InputFileSource;
  readonly batchRows: number;
  readonly shuffle: ResolvedShuffle;
  /** Local directory for this task's runs. */
  readonly spillDir: string;
  /** Bytes of buffered map output (estimated) before a spill. */
  readonly memoryBytes: number;
}

/** One reduce task: one partition. */
export interface ReduceTaskSpec extends TaskBase {
  readonly kind: 'reduce';
  readonly partition: number;
  /** Run files in order (map task, then spill order). */
  readonly runs: readonly string[];
  readonly groupFields: number;
  /** The dataset this reducer writes (moved into the step output at commit). */
  readonly outputUri: string;
  readonly schema: RecordSchema;
  readonly partitionBy: readonly PartitionSpec[];
  readonly outputBatchRows: number;
  /** Local directory for intermediate merge passes (when there are more runs than MERGE_FACTOR). */
  readonly spillDir: string;
  /** The task's memory share: bounds the output rows buffered before a file is written. */
  readonly memoryBytes: number;
}

/** Runs merged at once; more runs are first merged in passes of this many consecutive runs. */
export const MERGE_FACTOR = 64;

export type TaskSpec = MapTaskSpec | ReduceTaskSpec;

/** Progress of a task since its last report. */
export interface TaskProgress {
  readonly recordsIn: number;
  readonly bytesIn: number;
  readonly recordsOut: number;
}

interface OutcomeBase {
  readonly counters: Counters;
  readonly bad: BadRecordState;
}

export interface MapOutcome extends OutcomeBase {
  readonly ok: true;
  readonly kind: 'map';
  /** Run files per partition, in spill order. */
  readonly runs: readonly (readonly string[])[];
  /** Runs written because the buffer passed its memory share (the final runs are not counted). */
  readonly spilledRuns: number;
  readonly recordsIn: number;
  readonly mapOutputRecords: number;
}

export interface ReduceOutcome extends OutcomeBase {
  readonly ok: true;
  readonly kind: 'reduce';
  readonly recordsOut: number;
  readonly groups: number;
  readonly marker: DatasetMarker;
}

export interface FailedOutcome extends OutcomeBase {
  readonly ok: false;
  /** What was thrown (user errors keep their class, message and stack through structured cloning). */
  readonly error: unknown;
}

export type TaskOutcome = MapOutcome | ReduceOutcome | FailedOutcome;

/** Runs one task of `job`; never throws: failures come back with the task's counters and bad records. */
export async function executeTask(job: Job, spec: TaskSpec, onProgress: (p: TaskProgress) => void): Promise<TaskOutcome> {
  const def = job.steps[spec.stepIndex]!;
  const counters = new CounterSet();
  const bad = new BadRecordLog({
    job: job.name,
    step: def.name,
    maxRate: spec.maxBadRecordRate,
    expectedRecordsIn: spec.expectedRecordsIn,
    quarantine: spec.quarantine,
    sampleSize: spec.quarantineSample,
  });
  const env: MapTaskEnv<unknown> = { job: job.name, step: def.name, params: spec.params, counters, bad };
  try {
    // A worker's DuckDB is the runner's own; the runner's thread's belongs to the whole process (and would keep
    // a temp directory that is removed with the step), so it is left as the process set it.
    if (!isMainThread) await setDuckDbMemory(spec.duckDbMemoryMb, path.join(spec.spillDir, 'duckdb'));
    if (spec.kind === 'map') return await mapTask(job, spec, env, onProgress);
    return await reduceTask(job, spec, env, onProgress);
  } catch (error) {
    return { ok: false, error, counters: counters.toJSON(), bad: bad.toState() };
  }
}

async function mapTask(job: Job, spec: MapTaskSpec, env: MapTaskEnv<unknown>, onProgress: (p: TaskProgress) => void): Promise<MapOutcome> {
  const def = job.steps[spec.stepIndex]!;
  // The combiner runs over each sorted run (adjacent equal keys), not per input batch: a batch rarely holds
  // a key twice, and a sorted run groups without a hash map.
  const sink = new ShuffleSink(spec.shuffle);
  const task = new MapTask(env, def, spec.input, { combinePerBatch: false, sink });
  const combiner = def.combine ? new CombineTask(env, def) : undefined;
  const combining = new CombineStats();
  const reducers = spec.shuffle.reducers;
  const buffers = sink.buffers;
  const runs: string[][] = Array.from({ length: reducers }, () => []);
  let spilledRuns = 0;
  let runNo = 0;
  await fsp.mkdir(spec.spillDir, { recursive: true });

  const writeRuns = (pressure: boolean): void => {
    for (let p = 0; p < reducers; p++) {
      const buffer = buffers[p]!;
      if (buffer.count === 0) continue;
      const file = path.join(spec.spillDir, `t${String(spec.taskIndex).padStart(5, '0')}-p${String(p).padStart(4, '0')}-r${String(runNo).padStart(4, '0')}.run`);
      const writer = new RunWriter(file);
      try {
        if (combiner && combining.worthIt) combineSorted(combiner, combining, buffer, writer);
        else buffer.drainSorted((data, start, _keyStart, _keyEnd, end) => writer.copy(data, start, end));
      } finally {
        writer.close();
      }
      runs[p]!.push(file);
      if (pressure) spilledRuns++;
    }
    runNo++;
  };

  let recordsIn = 0;
  let bytesRead = 0;
  const file = spec.source.file;
  for await (const batch of readInputFile(spec.source, spec.batchRows)) {
    task.mapRows(batch.rows, file.uri, batch.firstRow);
    recordsIn += batch.rows.length;
    onProgress({ recordsIn: batch.rows.length, bytesIn: batch.bytesRead - bytesRead, recordsOut: 0 });
    bytesRead = batch.bytesRead;
    if (sink.full || sink.bytes > spec.memoryBytes) writeRuns(true);
  }
  writeRuns(false);
  return {
    ok: true,
    kind: 'map',
    runs,
    spilledRuns,
    recordsIn,
    mapOutputRecords: task.mapOutputRecords,
    counters: env.counters.toJSON(),
    bad: env.bad.toState(),
  };
}

/**
 * How well a map task's combiner reduces its output. Combining costs a decode, a call and an encode per value;
 * when keys rarely repeat within a run it saves nothing, so after COMBINE_TRIAL values a task whose combiner
 * kept more than COMBINE_MIN_GAIN of them stops combining (the reducers fold the same values anyway). A
 * runner may combine any number of times, so outputs do not change; only combiner counters can.
 */
class CombineStats {
  valuesIn = 0;
  pairsOut = 0;
  /** Set false mid-run when the trial shows no gain; the rest of the task copies pairs as they are. */
  worthIt = true;

  judge(): void {
    if (this.valuesIn >= COMBINE_TRIAL && this.pairsOut > COMBINE_MIN_GAIN * this.valuesIn) this.worthIt = false;
  }
}
const COMBINE_TRIAL = 20_000;
const COMBINE_MIN_GAIN = 0.7;

/**
 * Sorts a partition's buffer into `writer`, combining it: one combiner call per run of equal keys, whose
 * pairs keep the run's sort key (a combiner emits the key it was given), so the run stays sorted.
 */
function combineSorted(combiner: CombineTask, stats: CombineStats, buffer: PairBuffer, writer: RunWriter): void {
  let groupData: Buffer | undefined;
  let groupStart = 0;
  let groupEnd = 0;
  let values: unknown[] = [];
  const flush = (): void => {
    if (!groupData || values.length === 0) return;
    combiner.combineGroup(readSortKey(groupData, groupStart, groupEnd), values);
    const out = combiner.take();
    for (const pair of out) writer.pair(groupData, groupStart, groupEnd, pair.value);
    stats.valuesIn += values.length;
    stats.pairsOut += out.length;
    stats.judge();
    values = [];
  };
  buffer.drainSorted((data, start, keyStart, keyEnd, end) => {
    if (!groupData || compareSortKeys(data, keyStart, keyEnd, groupData, groupStart, groupEnd) !== 0) {
      flush();
      groupData = data;
      groupStart = keyStart;
      groupEnd = keyEnd;
    }
    if (stats.worthIt) values.push(decodeValue(data, keyEnd, end));
    else writer.copy(data, start, end);
  });
  flush();
}

async function reduceTask(job: Job, spec: ReduceTaskSpec, env: MapTaskEnv<unknown>, onProgress: (p: TaskProgress) => void): Promise<ReduceOutcome> {
  const def = job.steps[spec.stepIndex]!;
  const task = new ReduceTask(env, def, spec.groupFields);
  const readers: RunReader[] = [];
  let recordsOut = 0;
  try {
    const runs = await mergePasses(spec.runs, spec.spillDir, MERGE_FACTOR);
    for (const run of runs) readers.push(new RunReader(run));
    const schema = spec.schema;
    async function* batches(): AsyncGenerator<ColumnBatch> {
      for (const batch of task.reduceSorted(new MergedPairs(readers), spec.outputBatchRows)) {
        recordsOut += batch.numRows;
        onProgress({ recordsIn: 0, bytesIn: 0, recordsOut: batch.numRows });
        yield batch;
      }
    }
    // Output rows wait in writeDataset's buffer until a file is written: keep that buffer within the memory share
    // (about 256 bytes a row), writing smaller files when the share is small. An eighth of those rows may be
    // reduced ahead while DuckDB writes a file (this thread would otherwise idle through the write).
    const shareRows = Math.max(8192, Math.min(2_000_000, Math.floor(spec.memoryBytes / 256)));
    const aheadBatches = Math.max(1, Math.floor(shareRows / 8 / spec.outputBatchRows));
    const maxBufferedRows = Math.max(8192, shareRows - aheadBatches * spec.outputBatchRows);
    const marker = await writeDataset(spec.outputUri, schema, readAhead(batches(), aheadBatches), { partitionBy: spec.partitionBy, overwrite: true, maxBufferedRows, rowsPerFile: Math.min(1_000_000, maxBufferedRows) });
    return { ok: true, kind: 'reduce', recordsOut, groups: task.groups, marker, counters: env.counters.toJSON(), bad: env.bad.toState() };
  } finally {
    for (const r of readers) r.close();
  }
}
