/**
 * The tasks of the local runner, run on a worker thread or (for jobs without a `source`) in the runner's
 * own thread: the same code either way.
 *
 * - A map task reads one input file, maps with the shared MapTask, and buffers its pairs per reducer
 *   partition with each key's sort key (`sortKeyOf`, computed once). When the buffer passes its memory
 *   share, every partition is sorted by sort key, combined (if the step has a combiner: one call per run of
 *   equal keys) and spilled to disk as a sorted run; at the end what is left is written the same way as a
 *   last run per partition. Runs are JSON lines `[key, value]`.
 * - A reduce task k-way merges its partition's runs (a binary heap; ties go to the earlier run, so equal
 *   keys keep the order an inline run gives them) into the shared ReduceTask and writes its output as a
 *   dataset of its own, which the runner moves into the step's output at commit.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import {
  rowsToBatch,
  writeDataset,
  type ColumnBatch,
  type DatasetMarker,
  type PartitionSpec,
  type RecordSchema,
  type Row,
} from '../storage/index.ts';
import { BadRecordLog, type BadRecordState } from './bad-records.ts';
import { CounterSet, type Counters } from './counters.ts';
import type { ShufflePair } from './job-context.ts';
import type { Job } from './job-definition.ts';
import { partitionOf, sortKeyOf, type ResolvedShuffle } from './key-order.ts';
import { CombineTask, MapTask, type MapTaskEnv } from './map-task.ts';
import { ReduceTask } from './reduce-task.ts';
import { readInputFile, type InputFileSource } from './step-input.ts';

/** What every task needs to rebuild its step's environment. */
interface TaskBase {
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
    if (spec.kind === 'map') return await mapTask(job, spec, env, onProgress);
    return await reduceTask(job, spec, env, onProgress);
  } catch (error) {
    return { ok: false, error, counters: counters.toJSON(), bad: bad.toState() };
  }
}

/** One buffered pair: its sort key, and the pair itself (kept only for a combiner) or its run line. */
interface Buffered {
  readonly sk: string;
  readonly pair: ShufflePair | null;
  line: string | null;
}

async function mapTask(job: Job, spec: MapTaskSpec, env: MapTaskEnv<unknown>, onProgress: (p: TaskProgress) => void): Promise<MapOutcome> {
  const def = job.steps[spec.stepIndex]!;
  // The combiner runs over each sorted run (adjacent equal keys), not per input batch: a batch rarely holds
  // a key twice, and a sorted run groups without a hash map.
  const task = new MapTask(env, def, spec.input, { combinePerBatch: false });
  const combiner = def.combine ? new CombineTask(env, def) : undefined;
  const reducers = spec.shuffle.reducers;
  const buffers: Buffered[][] = Array.from({ length: reducers }, () => []);
  const runs: string[][] = Array.from({ length: reducers }, () => []);
  let bufferedBytes = 0;
  let spilledRuns = 0;
  let runNo = 0;
  await fsp.mkdir(spec.spillDir, { recursive: true });

  const writeRuns = async (pressure: boolean): Promise<void> => {
    for (let p = 0; p < reducers; p++) {
      let items = sortItems(buffers[p]!);
      buffers[p] = [];
      if (items.length === 0) continue;
      if (combiner) items = combineSorted(combiner, items);
      const file = path.join(spec.spillDir, `t${String(spec.taskIndex).padStart(5, '0')}-p${String(p).padStart(4, '0')}-r${String(runNo).padStart(4, '0')}.jsonl`);
      await writeLines(file, items);
      runs[p]!.push(file);
      if (pressure) spilledRuns++;
    }
    runNo++;
    bufferedBytes = 0;
  };

  let recordsIn = 0;
  let bytesRead = 0;
  const file = spec.source.file;
  for await (const batch of readInputFile(spec.source, spec.batchRows)) {
    const pairs = task.mapRows(batch.rows, file.uri, batch.firstRow);
    recordsIn += batch.rows.length;
    for (const pair of pairs) {
      const sk = sortKeyOf(pair.key);
      const line = JSON.stringify([pair.key, pair.value]);
      // Without a combiner only the line is kept; with one, the pair (its line is written after combining).
      buffers[partitionOf(pair.key, spec.shuffle)]!.push(combiner ? { sk, pair, line: null } : { sk, pair: null, line });
      bufferedBytes += (line.length + sk.length) * 2 + 96;
    }
    onProgress({ recordsIn: batch.rows.length, bytesIn: batch.bytesRead - bytesRead, recordsOut: 0 });
    bytesRead = batch.bytesRead;
    if (bufferedBytes > spec.memoryBytes) await writeRuns(true);
  }
  await writeRuns(false);
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

/** Stable sort by sort key (equal keys keep their emission order, as in an inline run). */
function sortItems(items: Buffered[]): Buffered[] {
  return items.sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0));
}

/** Combines a sorted run: one combiner call per run of equal keys; the result stays sorted. */
function combineSorted(combiner: CombineTask, items: readonly Buffered[]): Buffered[] {
  const out: Buffered[] = [];
  let i = 0;
  while (i < items.length) {
    const sk = items[i]!.sk;
    const values: unknown[] = [];
    let j = i;
    for (; j < items.length && items[j]!.sk === sk; j++) values.push(items[j]!.pair!.value);
    combiner.combineGroup(items[i]!.pair!.key, values);
    for (const pair of combiner.take()) out.push({ sk, pair: null, line: JSON.stringify([pair.key, pair.value]) });
    i = j;
  }
  return out;
}

async function writeLines(file: string, items: readonly Buffered[]): Promise<void> {
  const handle = await fsp.open(file, 'w');
  try {
    const CHUNK = 4096;
    for (let i = 0; i < items.length; i += CHUNK) {
      let text = '';
      for (let j = i; j < Math.min(items.length, i + CHUNK); j++) text += items[j]!.line + '\n';
      await handle.write(text);
    }
  } finally {
    await handle.close();
  }
}

/** Reads a run file line by line, synchronously (the reducer pulls values from a sync iterator). */
class RunReader {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(1 << 16);
  private readonly decoder = new StringDecoder('utf8');
  private lines: string[] = [];
  private at = 0;
  private tail = '';
  private eof = false;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'r');
  }

  next(): ShufflePair | undefined {
    while (this.at >= this.lines.length) {
      if (this.eof) return undefined;
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
      let text: string;
      if (n === 0) {
        this.eof = true;
        text = this.tail + this.decoder.end();
        this.tail = '';
        this.lines = text === '' ? [] : [text];
      } else {
        text = this.tail + this.decoder.write(this.buf.subarray(0, n));
        const parts = text.split('\n');
        this.tail = parts.pop()!;
        this.lines = parts;
      }
      this.at = 0;
    }
    const line = this.lines[this.at++]!;
    if (line === '') return this.next();
    const [key, value] = JSON.parse(line) as [ShufflePair['key'], unknown];
    return { key, value };
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** K-way merge of sorted runs with a binary heap; on equal keys the earlier run comes first. */
export function* mergeRuns(readers: readonly { next(): ShufflePair | undefined }[]): Generator<ShufflePair> {
  // Each pair's sort key is computed once as it is read, so heap comparisons are string comparisons.
  const heap: { pair: ShufflePair; sk: string; run: number }[] = [];
  const less = (a: { sk: string; run: number }, b: { sk: string; run: number }): boolean => a.sk < b.sk || (a.sk === b.sk && a.run < b.run);
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  readers.forEach((reader, run) => {
    const pair = reader.next();
    if (pair) {
      heap.push({ pair, sk: sortKeyOf(pair.key), run });
      up(heap.length - 1);
    }
  });
  while (heap.length > 0) {
    const top = heap[0]!;
    yield top.pair;
    const next = readers[top.run]!.next();
    if (next) {
      heap[0] = { pair: next, sk: sortKeyOf(next.key), run: top.run };
    } else {
      const last = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    down(0);
  }
}

/**
 * Merges consecutive groups of `factor` runs into one run each until at most `factor` are left, so a reducer
 * never holds more than `factor` open runs. Consecutive groups keep the tie order (earlier run first).
 */
export async function mergePasses(runs: readonly string[], dir: string, factor: number): Promise<readonly string[]> {
  let current = runs;
  let pass = 0;
  while (current.length > factor) {
    await fsp.mkdir(dir, { recursive: true });
    const next: string[] = [];
    for (let g = 0; g < current.length; g += factor) {
      const group = current.slice(g, g + factor);
      if (group.length === 1) {
        next.push(group[0]!);
        continue;
      }
      const file = path.join(dir, `merge-${pass}-${next.length}.jsonl`);
      const readers = group.map((r) => new RunReader(r));
      const handle = await fsp.open(file, 'w');
      try {
        let text = '';
        for (const pair of mergeRuns(readers)) {
          text += JSON.stringify([pair.key, pair.value]) + '\n';
          if (text.length >= 1 << 20) {
            await handle.write(text);
            text = '';
          }
        }
        if (text !== '') await handle.write(text);
      } finally {
        await handle.close();
        for (const r of readers) r.close();
      }
      // Runs of an earlier pass are ours to remove; the map tasks' runs go with the step's spill dir.
      if (pass > 0) for (const r of group) await fsp.rm(r, { force: true });
      next.push(file);
    }
    current = next;
    pass++;
  }
  return current;
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
      let rows: Row[] = [];
      for (const written of task.reduceSorted(mergeRuns(readers))) {
        for (const r of written) rows.push(r);
        if (rows.length >= spec.outputBatchRows) {
          recordsOut += rows.length;
          onProgress({ recordsIn: 0, bytesIn: 0, recordsOut: rows.length });
          yield rowsToBatch(schema, rows);
          rows = [];
        }
      }
      if (rows.length > 0) {
        recordsOut += rows.length;
        onProgress({ recordsIn: 0, bytesIn: 0, recordsOut: rows.length });
        yield rowsToBatch(schema, rows);
      }
    }
    // Output rows wait in writeDataset's buffer until a file is written: keep that buffer within the memory share
    // (about 256 bytes a row), writing smaller files when the share is small.
    const maxBufferedRows = Math.max(8192, Math.min(2_000_000, Math.floor(spec.memoryBytes / 256)));
    const marker = await writeDataset(spec.outputUri, schema, batches(), { partitionBy: spec.partitionBy, overwrite: true, maxBufferedRows, rowsPerFile: Math.min(1_000_000, maxBufferedRows) });
    return { ok: true, kind: 'reduce', recordsOut, groups: task.groups, marker, counters: env.counters.toJSON(), bad: env.bad.toState() };
  } finally {
    for (const r of readers) r.close();
  }
}
