/**
 * One batch formatter run for one partner and period: the job on any runner, then the file, its manifest and
 * `_SUCCESS` under `batch/<partner>/dt=D` (daily) or `batch/<partner>/month=YYYY-MM` (monthly).
 */
import { sumCounters, type ClusterJobRequest, type Counters, type JobResult, type JobRunner, type StepProgress } from '../../engine/index.ts';
import { fileSystemFor, isComplete, joinUri, toStorageUri } from '../../storage/index.ts';
import { batchFormatterJob, BATCH_COUNTERS } from './batch-formatter-job.ts';
import { writeBatchDataset, readRowBatches, type BatchManifest } from './batch-file-writer.ts';
import { batchFormatterParams, type BatchPartnerInput } from './batch-params.ts';
import { batchFormatterDatasets } from './batch-period.ts';

/** What `runBatchFormatter` takes. */
export interface BatchFormatterRunOptions {
  /** The storage root (URI or local path) holding `requests/` and receiving `batch/`. */
  readonly storageRoot: string;
  readonly partner: BatchPartnerInput;
  /** `YYYY-MM-DD` for a daily partner, `YYYY-MM` for a monthly one. */
  readonly period: string;
  /** Replace a batch dataset that is already complete (the CLI's --force). */
  readonly overwrite?: boolean;
  readonly onProgress?: (progress: StepProgress) => void;
  /** Share of requests with unwritable values tolerated (counted, quarantined); default the engine's 0.001. */
  readonly maxBadRecordRate?: number;
  /** The job's work dir (quarantine, intermediate step); default under `<storageRoot>/_work/batch-formatter/`. */
  readonly workDir?: string;
}

/**
 * The job run `runBatchFormatter` would start for these options, after the same checks; a cluster engine
 * submits it ahead of the run (engine/cluster-submission.ts).
 */
export async function batchFormatterJobRequest(options: Omit<BatchFormatterRunOptions, 'onProgress'>): Promise<ClusterJobRequest> {
  return (await batchFormatterRun(options)).request;
}

async function batchFormatterRun(options: Omit<BatchFormatterRunOptions, 'onProgress'>): Promise<{ request: ClusterJobRequest; params: ReturnType<typeof batchFormatterParams.parse>; uri: string }> {
  let params;
  try {
    params = batchFormatterParams.parse({ partner: options.partner, period: options.period });
  } catch (e) {
    throw new TypeError(`batch formatter for partner ${JSON.stringify(options.partner?.name)}, period ${JSON.stringify(options.period)}: invalid parameters:\n${(e as Error).message}`, { cause: e });
  }
  const root = toStorageUri(options.storageRoot);
  const uri = joinUri(root, batchFormatterDatasets(params.partner, params.period).output);
  // Checked before the job so a finished period costs nothing; DatasetStaging checks again at the write.
  if (!options.overwrite && (await isComplete(fileSystemFor(uri), uri))) {
    throw new Error(`${uri} is already complete (it has a _SUCCESS marker); run with overwrite (--force) to replace it`);
  }
  const request: ClusterJobRequest = {
    job: batchFormatterJob,
    params,
    options: {
      storageRoot: root,
      // The job's only final output is its rows dataset (scratch, replaced by every run); the batch dataset's own
      // overwrite rule was checked above.
      overwrite: true,
      ...(options.workDir !== undefined ? { workDir: options.workDir } : {}),
      ...(options.maxBadRecordRate !== undefined ? { maxBadRecordRate: options.maxBadRecordRate } : {}),
    },
  };
  return { request, params, uri };
}

/** One file of the batch dataset. */
export interface BatchOutputFile {
  /** Path inside the dataset directory (the file name). */
  readonly path: string;
  readonly uri: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** What a run produced. */
export interface BatchFormatterResult {
  /** URI of the complete batch dataset. */
  readonly dataset: string;
  /** The batch file, then its manifest. */
  readonly files: readonly [BatchOutputFile, BatchOutputFile];
  readonly manifest: BatchManifest;
  /**
   * The job's counters plus group `batch`: `requests` read, `badRequests` refused, `cookies` after keeping each
   * cookie's latest request, `superseded` older requests dropped, `rows` in the file, `members` (groupBy segment).
   */
  readonly counters: Counters;
  /** The quarantine of refused requests, when there were any. */
  readonly quarantine?: string;
  readonly job: JobResult;
}

/** Runs the batch formatter for one partner and period and writes the complete batch dataset; returns what it wrote. */
export async function runBatchFormatter(runner: JobRunner, options: BatchFormatterRunOptions): Promise<BatchFormatterResult> {
  const { request, params, uri } = await batchFormatterRun(options);
  const fs = fileSystemFor(uri);
  const datasets = batchFormatterDatasets(params.partner, params.period);
  const job = await runner.run(request.job, request.params, { ...request.options, ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}) });
  const [latest, format] = job.steps;
  const jobCounters = sumCounters(job.steps.map((s) => s.counters));
  const batch = jobCounters[BATCH_COUNTERS] ?? {};
  const rows = batch['rows'] ?? 0;
  // sumCounters sorts groups and names as the runners do.
  const counters = sumCounters([
    {
      ...jobCounters,
      [BATCH_COUNTERS]: {
        ...batch,
        requests: latest!.recordsIn,
        badRequests: latest!.badRecords,
        cookies: latest!.recordsOut,
        superseded: latest!.recordsIn - latest!.badRecords - latest!.recordsOut,
        rows,
      },
    },
  ]);
  const written = await writeBatchDataset({
    uri,
    params,
    batches: readRowBatches(format!.output),
    rows,
    inputs: datasets.inputs,
    createdBy: { job: job.job, runId: job.runId, runner: runner.kind },
    ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
    extra: { counters },
  });
  await fs.delete(format!.output, { recursive: true });
  const file = (f: typeof written.file): BatchOutputFile => ({ ...f, uri: joinUri(uri, f.path) });
  return {
    dataset: uri,
    files: [file(written.file), file(written.manifestFile)],
    manifest: written.manifest,
    counters,
    ...(latest!.quarantine !== undefined ? { quarantine: latest!.quarantine } : {}),
    job,
  };
}
