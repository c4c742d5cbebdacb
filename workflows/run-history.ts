/**
 * Run history: one JSON file per workflow run at `<root>/_runs/<workflow>/<period>/<runId>.json`, rewritten
 * atomically on every state change, so an on-call person (or `courier runs`) sees what ran, what is running and
 * what failed, with counters, timings and errors. A run killed with SIGKILL leaves its file saying `running`;
 * `runLiveness` tells such a run from a live one when it ran on this host.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Counters } from '../engine/index.ts';
import { fileSystemFor, joinUri } from '../storage/index.ts';

export const RUN_FORMAT = 'courier-run/1';
/** The directory under the storage root holding every workflow's history. */
export const RUNS_DIR = '_runs';

/** pending: not started; waiting: for inputs or the previous period; blocked: a dependency did not succeed. */
export type StageState = 'pending' | 'waiting' | 'running' | 'succeeded' | 'skipped' | 'failed' | 'blocked';
/** skipped: every stage was already done (all outputs marked). */
export type RunState = 'running' | 'succeeded' | 'skipped' | 'failed';

/** An error as kept in history: enough to act on without the logs. */
export interface ErrorRecord {
  readonly name: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly stack?: string;
}

/** One failed attempt of a stage. */
export interface AttemptError extends ErrorRecord {
  readonly attempt: number;
  readonly at: string;
}

/** A stage's state within a run. */
export interface StageRecord {
  name: string;
  state: StageState;
  dependsOn: string[];
  /** Resolved input and output URIs. */
  inputs: string[];
  outputs: string[];
  attempts: number;
  /** While waiting: the inputs (or previous-period stage) not ready yet. */
  waitingFor?: string[];
  startedAt?: string;
  finishedAt?: string;
  /** From the first attempt's start to the end, retries and backoff included. */
  seconds?: number;
  /** Time spent waiting for inputs before the first attempt. */
  waitedSeconds?: number;
  counters?: Counters;
  summary?: Record<string, unknown>;
  /** Why it was skipped (outputs already complete) or blocked. */
  reason?: string;
  error?: ErrorRecord;
  attemptErrors?: AttemptError[];
}

/** The parameters a run was started with. */
export interface RunParams {
  period: string;
  date: string;
  storageRoot: string;
  runner: string;
  force: boolean;
  waitTimeoutMs: number;
  settings: unknown;
  backfill?: { from: string; to: string };
}

/** One run of a workflow for one period: the content of its history file. */
export interface RunRecord {
  format: typeof RUN_FORMAT;
  workflow: string;
  period: string;
  runId: string;
  state: RunState;
  params: RunParams;
  host: string;
  pid: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  seconds?: number;
  /** Stages in dependency order. */
  stages: StageRecord[];
  /** The first failure, named by stage. */
  error?: string;
}

/** A new run id: sortable by start time, unique across hosts. */
export function newRunId(now: Date = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
}

/** The URI of a run's history file. */
export function runHistoryUri(storageRoot: string, workflow: string, period: string, runId: string): string {
  return joinUri(storageRoot, RUNS_DIR, workflow, period, `${runId}.json`);
}

/** Writes one run's history file, one write at a time and in order, each a whole file replaced atomically. */
export class RunHistoryWriter {
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(readonly uri: string) {}

  /** Queues a snapshot of `record`; a failed write is kept and thrown by `flush`. */
  save(record: RunRecord): void {
    record.updatedAt = new Date().toISOString();
    const text = `${JSON.stringify(record, null, 2)}\n`;
    this.chain = this.chain.then(async () => {
      try {
        await fileSystemFor(this.uri).writeAtomic(this.uri, text);
      } catch (e) {
        this.failure ??= e;
      }
    });
  }

  /** Waits for queued writes; throws the first write failure. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure !== undefined) throw this.failure;
  }
}

/** A history file that could not be read, reported rather than hidden. */
export interface HistoryProblem {
  readonly uri: string;
  readonly problem: string;
}

/** Options of `listRuns`. */
export interface ListRunsOptions {
  readonly workflow?: string;
  readonly period?: string;
}

/** Every recorded run under `storageRoot` (of one workflow, one period), newest first. */
export async function listRuns(storageRoot: string, options: ListRunsOptions = {}): Promise<{ runs: RunRecord[]; problems: HistoryProblem[] }> {
  const fs = fileSystemFor(storageRoot);
  const runs: RunRecord[] = [];
  const problems: HistoryProblem[] = [];
  const workflows = options.workflow !== undefined ? [options.workflow] : (await fs.list(joinUri(storageRoot, RUNS_DIR))).filter((e) => e.isDirectory).map((e) => e.name);
  for (const wf of workflows) {
    const periods =
      options.period !== undefined ? [options.period] : (await fs.list(joinUri(storageRoot, RUNS_DIR, wf))).filter((e) => e.isDirectory).map((e) => e.name);
    for (const period of periods) {
      for (const file of await fs.list(joinUri(storageRoot, RUNS_DIR, wf, period))) {
        if (file.isDirectory || !file.name.endsWith('.json') || file.name.startsWith('.')) continue;
        try {
          const record = JSON.parse((await fs.readBytes(file.uri)).toString('utf8')) as RunRecord;
          if (record.format !== RUN_FORMAT) throw new Error(`format is ${JSON.stringify(record.format)}, expected ${RUN_FORMAT}`);
          runs.push(record);
        } catch (e) {
          problems.push({ uri: file.uri, problem: `unreadable run history: ${(e as Error).message}; delete the file if the run is long gone` });
        }
      }
    }
  }
  runs.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : a.runId < b.runId ? 1 : -1));
  return { runs, problems };
}

/**
 * Whether a run recorded as running still has a process: `alive`, `dead` (same host, no such process: it was
 * killed or crashed; its stages re-run on the next run), or `unknown` (another host).
 */
export function runLiveness(record: RunRecord): 'alive' | 'dead' | 'unknown' {
  if (record.host !== os.hostname()) return 'unknown';
  if (record.pid === process.pid) return 'alive';
  try {
    process.kill(record.pid, 0);
    return 'alive';
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}
