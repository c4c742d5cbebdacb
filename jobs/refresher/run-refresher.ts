/**
 * Running the refresher for one day: find the previous store and segment versions it builds on, run the job on
 * any runner, and sum up what it produced (rows per partner and priority, counters) for the CLI, the demo and
 * the workflow's run history.
 */
import type { Counters, JobResult, JobRunner, StepProgress } from '../../engine/index.ts';
import { parsePartitionPath } from '../../storage/index.ts';
import { latestCompleteBefore, REFRESHER_DATASET_NAMES } from './refresher-datasets.ts';
import { refresherJob } from './refresher-job.ts';
import type { RefresherParamsInput } from './refresher-params.ts';

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
}

/**
 * Runs the refresher for `options.date`: merges into the latest complete store before that day and compares
 * with the latest complete segment snapshot before it (either may be absent), then summarises the outputs.
 */
export async function runRefresher(runner: JobRunner, options: RefresherRunOptions): Promise<{ result: JobResult; summary: RefresherSummary }> {
  const { storageRoot, overwrite, onProgress, workDir, maxBadRecordRate, ...jobParams } = options;
  const [previousStoreDate, previousSegmentsDate] = await Promise.all([
    latestCompleteBefore(storageRoot, REFRESHER_DATASET_NAMES.store, options.date),
    latestCompleteBefore(storageRoot, REFRESHER_DATASET_NAMES.segments, options.date),
  ]);
  const result = await runner.run(
    refresherJob,
    { ...jobParams, previousStoreDate, previousSegmentsDate },
    {
      storageRoot,
      ...(overwrite !== undefined ? { overwrite } : {}),
      ...(onProgress !== undefined ? { onProgress } : {}),
      ...(workDir !== undefined ? { workDir } : {}),
      ...(maxBadRecordRate !== undefined ? { maxBadRecordRate } : {}),
    },
  );
  return { result, summary: summarise(result, options.date, previousStoreDate, previousSegmentsDate) };
}

function summarise(result: JobResult, date: string, previousStoreDate: string | null, previousSegmentsDate: string | null): RefresherSummary {
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
