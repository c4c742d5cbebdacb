/**
 * Backfill: runs a workflow for every period of a range, at most `concurrency` periods at once, oldest first.
 * A stage marked `dependsOnPreviousPeriod` waits for the same stage of the period before it; when that one fails,
 * it is blocked (and so is what depends on it), while the periods' other stages, and periods that do not build
 * on the failure, go on.
 */
import type { Workflow } from './workflow-definition.ts';
import { periodsBetween, previousPeriod, type Period } from './workflow-period.ts';
import type { StageState } from './run-history.ts';
import { errorRecord, runWorkflow, type PeriodLink, type RunWorkflowOptions, type WorkflowRunResult } from './workflow-runner.ts';

/** Options of `backfill`: those of a run, with a range instead of one date. */
export interface BackfillOptions<S> extends Omit<RunWorkflowOptions<S>, 'date' | 'dryRun' | 'link' | 'backfill'> {
  /** First and last period, both included: days, or months (a `YYYY-MM` or a day in it) for monthly workflows. */
  readonly from: string;
  readonly to: string;
  /** Periods running at once; default 1. */
  readonly concurrency?: number;
}

/** How one period of a backfill ended. */
export interface BackfillPeriodResult {
  readonly period: string;
  readonly state: WorkflowRunResult['state'];
  readonly runId?: string;
  readonly historyUri?: string;
  readonly seconds?: number;
  readonly failedStages: readonly string[];
  readonly error?: string;
}

/** What a backfill did, period by period (ascending). */
export interface BackfillResult {
  readonly workflow: string;
  readonly from: string;
  readonly to: string;
  readonly periods: readonly BackfillPeriodResult[];
  readonly succeeded: number;
  readonly skipped: number;
  readonly failed: number;
}

/** A stage's final state in one period, waited on by the next period. */
class Settled {
  readonly promise: Promise<StageState>;
  resolve!: (state: StageState) => void;
  constructor() {
    this.promise = new Promise((resolve) => (this.resolve = resolve));
  }
}

/** Runs every period from `from` to `to` (see the module comment); never throws for a failed period. */
export async function backfill<S>(workflow: Workflow<S>, options: BackfillOptions<S>): Promise<BackfillResult> {
  const { from, to, concurrency, ...runOptions } = options;
  const periods = periodsBetween(workflow.period, from, to);
  const results = await runPeriods(workflow, periods, { ...runOptions, backfill: { from, to } }, concurrency ?? 1);
  const count = (state: string) => results.filter((r) => r.state === state).length;
  return { workflow: workflow.name, from, to, periods: results, succeeded: count('succeeded'), skipped: count('skipped'), failed: count('failed') };
}

/**
 * Runs `periods` (ascending) at most `concurrency` at once; a period right after another of the list is linked
 * to it for `dependsOnPreviousPeriod` stages. Shared by backfill and the scheduler's catch-up.
 */
export async function runPeriods<S>(
  workflow: Workflow<S>,
  periods: readonly Period[],
  runOptions: Omit<RunWorkflowOptions<S>, 'date' | 'dryRun' | 'link'>,
  concurrency: number,
): Promise<BackfillPeriodResult[]> {
  const boards = periods.map(() => new Map(workflow.stages.map((s) => [s.name, new Settled()])));
  const results: BackfillPeriodResult[] = new Array(periods.length);
  let next = 0;

  const runPeriod = async (i: number): Promise<void> => {
    const before = i > 0 && previousPeriod(periods[i]!).key === periods[i - 1]!.key ? { period: periods[i - 1]!.key, board: boards[i - 1]! } : undefined;
    const link: PeriodLink = {
      ...(before ? { previous: { period: before.period, stage: (stage: string) => before.board.get(stage)!.promise } } : {}),
      settled: (stage, state) => boards[i]!.get(stage)!.resolve(state),
    };
    try {
      const r = await runWorkflow(workflow, { ...runOptions, date: periods[i]!.key, dryRun: false, link });
      results[i] = { period: r.period, state: r.state, runId: r.runId, historyUri: r.historyUri, seconds: r.seconds, failedStages: r.failedStages, ...(r.error ? { error: r.error } : {}) };
    } catch (e) {
      // The run could not start or finish its history: later periods must not wait on it forever.
      for (const settled of boards[i]!.values()) settled.resolve('failed');
      results[i] = { period: periods[i]!.key, state: 'failed', failedStages: [], error: errorRecord(e).message };
    }
  };
  // Workers take periods in ascending order, so a period only ever waits on one that already holds a slot.
  const worker = async (): Promise<void> => {
    while (next < periods.length) await runPeriod(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, periods.length)) }, worker));
  return results;
}
