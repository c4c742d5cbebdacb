/**
 * Running the refresher for one day: find the previous store and segment versions it builds on, run the job on
 * any runner, and sum up what it produced (rows per partner and priority, counters) for the CLI, the demo and
 * the workflow's run history.
 */
import { JobError, type ClusterJobRequest, type Counters, type JobResult, type JobRunner, type StepProgress } from '../../engine/index.ts';
import { datasetFiles, fileSystemFor, isComplete, joinUri, parsePartitionPath, readMarker, readParquetSchema, toStorageUri, type RecordSchema } from '../../storage/index.ts';
import { latestCompleteBefore, REFRESHER_DATASET_NAMES, refresherDatasets, segmentInputSchema } from './refresher-datasets.ts';
import { refresherJob } from './refresher-job.ts';
import { parseRefresherParams, type RefresherParamsInput } from './refresher-params.ts';

/** What runRefresher needs: where the data lives, the day, the partners, and run options. */
export interface RefresherRunOptions extends Omit<RefresherParamsInput, 'previousStoreDate' | 'previousSegmentsDate'> {
  /** Storage root (URI or local path) holding logs/, segments/, cookie-sync-store/ and requests/. */
  storageRoot: string;
  /** Replace the day's store and requests if already complete. */
  overwrite?: boolean;
  onProgress?: (progress: StepProgress) => void;
  /** Work dir for intermediate data and quarantines (default below the storage root). */
  workDir?: string;
  /** Share of records whose processing throws that a step tolerates (rejected log lines do not count). */
  maxBadRecordRate?: number;
}

/** Requests written for one partner at one priority. */
export interface RequestPartition {
  partnerId: number;
  priority: string;
  rows: number;
}

/** What a refresher run produced. */
export interface RefresherSummary {
  date: string;
  /** The store version merged into, or null on a first run. */
  previousStoreDate: string | null;
  /** The segment snapshot compared with, or null when there was none. */
  previousSegmentsDate: string | null;
  storeRows: number;
  requestRows: number;
  /** Rows per partner and priority, sorted by partner id then priority. */
  requests: RequestPartition[];
  /** Counters of each step (`merge-store`, `requests`). */
  counters: Record<string, Counters>;
  /** Quarantine datasets of steps that rejected or dropped records (malformed log lines are sampled there). */
  quarantines: string[];
  /** The day's store was complete without its requests (left by a failed run) and was rebuilt. */
  rebuiltLeftoverStore: boolean;
}

/**
 * Runs the refresher for `options.date`: merges into the latest complete store before that day and compares
 * with the latest complete segment snapshot before it (either may be absent), then summarises the outputs.
 *
 * Before anything is written it checks that the day's logs and segment data are complete and that every
 * segment file is Parquet with the columns the refresher reads, of their types, so bad input fails the run
 * naming the file with no output marked (the store is
 * committed by the first step, the segment data read only by the second). A day whose store is complete but
 * whose requests are not (a run that failed in the second step) is rebuilt without `overwrite`: the store is
 * a deterministic function of the same inputs.
 */
export async function runRefresher(runner: JobRunner, options: RefresherRunOptions): Promise<{ result: JobResult; summary: RefresherSummary }> {
  const { onProgress } = options;
  const { request, previousStoreDate, previousSegmentsDate, rebuiltLeftoverStore } = await refresherRun(options);
  const result = await runner.run(request.job, request.params, { ...request.options, ...(onProgress !== undefined ? { onProgress } : {}) });
  return { result, summary: { ...summarise(result, options.date, previousStoreDate, previousSegmentsDate), rebuiltLeftoverStore } };
}

/**
 * The job run `runRefresher` would start for these options (job, parameters, run options), after the same
 * checks; a cluster engine submits it ahead of the run (engine/cluster-submission.ts).
 */
export async function refresherJobRequest(options: Omit<RefresherRunOptions, 'onProgress'>): Promise<ClusterJobRequest> {
  return (await refresherRun(options)).request;
}

async function refresherRun(options: Omit<RefresherRunOptions, 'onProgress'>): Promise<{
  request: ClusterJobRequest;
  previousStoreDate: string | null;
  previousSegmentsDate: string | null;
  rebuiltLeftoverStore: boolean;
}> {
  const { storageRoot, overwrite, workDir, maxBadRecordRate, ...rest } = options;
  const { onProgress: _onProgress, ...jobParams } = rest as typeof rest & { onProgress?: unknown };
  // Checked first, as the runner would, so a bad date or partner fails before any listing or reading.
  try {
    parseRefresherParams(jobParams);
  } catch (e) {
    throw new JobError(refresherJob.name, undefined, `invalid parameters: ${(e as Error).message}`, { cause: e });
  }
  const [previousStoreDate, previousSegmentsDate] = await Promise.all([
    latestCompleteBefore(storageRoot, REFRESHER_DATASET_NAMES.store, options.date),
    latestCompleteBefore(storageRoot, REFRESHER_DATASET_NAMES.segments, options.date),
  ]);
  const root = toStorageUri(storageRoot);
  await checkInputs(root, options.date, previousSegmentsDate);
  const outputs = refresherDatasets(options.date).outputs;
  const fs = fileSystemFor(root);
  const rebuiltLeftoverStore =
    overwrite !== true && (await isComplete(fs, joinUri(root, outputs.store))) && !(await isComplete(fs, joinUri(root, outputs.requests)));
  const request: ClusterJobRequest = {
    job: refresherJob,
    params: { ...jobParams, previousStoreDate, previousSegmentsDate },
    options: {
      storageRoot,
      ...(overwrite !== undefined || rebuiltLeftoverStore ? { overwrite: overwrite === true || rebuiltLeftoverStore } : {}),
      ...(workDir !== undefined ? { workDir } : {}),
      ...(maxBadRecordRate !== undefined ? { maxBadRecordRate } : {}),
    },
  };
  return { request, previousStoreDate, previousSegmentsDate, rebuiltLeftoverStore };
}

/** What is wrong with a segment data schema for the refresher (the allowlisted columns and their types), or null. */
function segmentSchemaProblem(schema: RecordSchema): string | null {
  for (const want of segmentInputSchema.fields) {
    const got = schema.fields.find((f) => f.name === want.name);
    if (!got) return `has no column "${want.name}" (its columns: ${schema.fields.map((f) => f.name).join(', ') || 'none'})`;
    if (got.type !== want.type) return `column "${want.name}" is ${got.type}, segment data has ${want.type} (docs/formats.md, "Segment data")`;
  }
  return null;
}

/**
 * Fails (JobError naming the dataset or file) unless the day's inputs are complete and the segment files read
 * as Parquet with the columns the requests step reads: a wrong file found there would fail after the store
 * was committed.
 */
async function checkInputs(root: string, date: string, previousSegmentsDate: string | null): Promise<void> {
  const { inputs } = refresherDatasets(date);
  const fail = (step: string, message: string, cause: unknown): never => {
    throw new JobError(refresherJob.name, step, message, { cause });
  };
  const logs = joinUri(root, inputs.logs);
  await readMarker(fileSystemFor(logs), logs).catch((e: unknown) => fail('merge-store', `input "logs": ${(e as Error).message}`, e));
  const snapshots = [joinUri(root, inputs.segments)];
  if (previousSegmentsDate !== null) snapshots.push(joinUri(root, REFRESHER_DATASET_NAMES.segments, `dt=${previousSegmentsDate}`));
  const redeliver = 're-deliver the segment data for that day';
  for (const uri of snapshots) {
    const { schema, files } = await datasetFiles(uri).catch((e: unknown) => fail('requests', `input "segments": ${(e as Error).message}`, e));
    const declared = segmentSchemaProblem(schema);
    if (declared !== null) fail('requests', `input "segments": the _SUCCESS marker of ${uri} ${declared}; ${redeliver}`, undefined);
    for (const f of files) {
      // Reading the footer's schema is cheap and fails on anything that is not Parquet.
      const path = await fileSystemFor(f.uri).localPathFor(f.uri);
      const stored = await readParquetSchema(path, f.uri).catch((e: unknown) =>
        fail('requests', `input "segments": ${f.uri} cannot be read as Parquet (${(e as Error).message}); ${redeliver}`, e),
      );
      const problem = segmentSchemaProblem(stored);
      if (problem !== null) fail('requests', `input "segments": ${f.uri} ${problem}; ${redeliver}`, undefined);
    }
  }
}

function summarise(result: JobResult, date: string, previousStoreDate: string | null, previousSegmentsDate: string | null): Omit<RefresherSummary, 'rebuiltLeftoverStore'> {
  const store = result.steps.find((s) => s.name === 'merge-store')!;
  const requests = result.steps.find((s) => s.name === 'requests')!;
  const perPartition = new Map<string, RequestPartition>();
  for (const f of requests.marker.files) {
    const parts = parsePartitionPath(f.path);
    const partnerId = Number(parts['partner']);
    const priority = parts['priority'] ?? '';
    const k = `${partnerId}/${priority}`;
    const entry = perPartition.get(k) ?? { partnerId, priority, rows: 0 };
    entry.rows += f.rows;
    perPartition.set(k, entry);
  }
  return {
    date,
    previousStoreDate,
    previousSegmentsDate,
    storeRows: store.marker.rows,
    requestRows: requests.marker.rows,
    requests: [...perPartition.values()].sort((a, b) => a.partnerId - b.partnerId || (a.priority < b.priority ? -1 : a.priority > b.priority ? 1 : 0)),
    counters: Object.fromEntries(result.steps.map((s) => [s.name, s.counters])),
    quarantines: result.steps.flatMap((s) => (s.quarantine ? [s.quarantine] : [])),
  };
}
