/**
 * What every runner takes and returns. Runners differ in where the work happens (one thread, worker
 * threads, a cluster); a job, its options and its result are the same everywhere.
 */
import type { DatasetMarker } from '../storage/index.ts';
import type { Counters } from './counters.ts';
import type { Job } from './job-definition.ts';

/** Options of one job run. */
export interface RunOptions {
  /** Where relative dataset paths resolve: a URI (`file:///…`) or a local path. */
  readonly storageRoot: string;
  /** Intermediate step outputs and quarantines go here; default `<storageRoot>/_work/<job>/<runId>`. */
  readonly workDir?: string;
  /** Share of bad records (bad / records in) a step tolerates before failing; default 0.001. A step may override it. */
  readonly maxBadRecordRate?: number;
  /** Replace final outputs that are already complete; without it such a run fails before reading anything. */
  readonly overwrite?: boolean;
  /** Keep intermediate step outputs after a successful run (they are always kept after a failure). */
  readonly keepIntermediate?: boolean;
  /** Called as each step advances (per batch); cheap to ignore, the CLI draws bars from it. */
  readonly onProgress?: (progress: StepProgress) => void;
}

/** Default of `RunOptions.maxBadRecordRate`. */
export const DEFAULT_MAX_BAD_RECORD_RATE = 0.001;

/** A progress report of one step. */
export interface StepProgress {
  readonly job: string;
  readonly step: string;
  /** 0-based position of the step and the number of steps. */
  readonly stepIndex: number;
  readonly stepCount: number;
  readonly phase: 'map' | 'reduce' | 'done';
  readonly recordsIn: number;
  /** Records the step will read in all (from the input markers). */
  readonly recordsInTotal: number;
  readonly recordsOut: number;
  /** Input bytes read so far (estimated within a file by its share of rows) and in all. */
  readonly bytesIn: number;
  readonly bytesInTotal: number;
  readonly seconds: number;
}

/** What one step did. */
export interface StepResult {
  readonly name: string;
  readonly recordsIn: number;
  readonly recordsOut: number;
  /** Pairs the mappers emitted (before combining) and reduce calls made. */
  readonly mapOutputRecords: number;
  readonly reduceGroups: number;
  readonly badRecords: number;
  readonly counters: Counters;
  readonly seconds: number;
  /** The output dataset's URI (for an intermediate step: in the work dir, removed after success unless kept). */
  readonly output: string;
  readonly intermediate: boolean;
  /** The output's `_SUCCESS` marker. */
  readonly marker: DatasetMarker;
  /** The quarantine dataset, when the step had bad or rejected records. */
  readonly quarantine?: string;
  /** Sorted runs spilled to disk because map output passed the memory cap (runners that spill: local). */
  readonly spilledRuns?: number;
}

/** What a job run did. */
export interface JobResult {
  readonly job: string;
  readonly runId: string;
  /** The parameters as the job's schema parsed them. */
  readonly params: unknown;
  readonly workDir: string;
  readonly seconds: number;
  readonly steps: readonly StepResult[];
}

/** A way to run jobs (inline, local, a cluster). */
export interface JobRunner {
  /** `inline`, `local`, … for logs and results. */
  readonly kind: string;
  /** Runs a job to completion: validates `params`, runs its steps in order, and returns what each did. */
  run<P>(job: Job<P>, params: unknown, options: RunOptions): Promise<JobResult>;
}
