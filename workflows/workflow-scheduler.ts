/**
 * The scheduler behind `courier schedule`: for each workflow with a schedule, finds the periods due now from its
 * cron, its time zone and the run history, runs them (oldest first), then sleeps until the next fire time of any
 * workflow. With `once` it runs what is due and returns, for cron-driven hosts and tests. The clock and the sleep
 * are injectable, so DST and catch-up are tested without waiting.
 *
 * Due periods: the period of the last fire at or before now and up to `catchUp - 1` periods before it, not
 * before the first period this workflow has any history for (a fresh install starts with the latest period
 * only), minus periods that already succeeded (or were skipped as done) and periods with a run still in
 * progress. Periods missed beyond the catch-up window are reported, not run: backfill them.
 */
import type { JobRunner } from '../engine/index.ts';
import { toStorageUri } from '../storage/index.ts';
import { lastFireAtOrBefore, nextFireAfter, periodOfFire } from './cron-schedule.ts';
import type { Workflow } from './workflow-definition.ts';
import { nextPeriod, periodOf, previousPeriod, type Period } from './workflow-period.ts';
import { listRuns, runLiveness, type RunRecord } from './run-history.ts';
import { runPeriods, type BackfillPeriodResult } from './backfill.ts';
import { sleep as realSleep } from './retry-backoff.ts';
import type { WorkflowEvent } from './workflow-runner.ts';

/** A workflow with the settings it runs with. */
export interface ScheduledWorkflow<S> {
  readonly workflow: Workflow<S>;
  readonly settings: S;
}

/** What is due for one workflow at one moment. */
export interface DuePeriods {
  readonly workflow: string;
  /** Periods to run now, ascending. */
  readonly due: readonly string[];
  /** Periods before the catch-up window with no run: to backfill by hand. */
  readonly missed?: { readonly from: string; readonly to: string; readonly count: number };
  /** Periods with a run in progress (here or on another host), not started again. */
  readonly inProgress: readonly string[];
  readonly lastFire?: string;
  readonly nextFire: string;
}

/** Default of `--catch-up`: periods run when the scheduler was down. */
export const DEFAULT_CATCH_UP = 3;

/** The periods of `workflow` due at `now` (see the module comment). */
export async function duePeriods<S>(workflow: Workflow<S>, options: { storageRoot: string; now: Date; catchUp?: number }): Promise<DuePeriods> {
  const schedule = workflow.schedule;
  if (!schedule) throw new Error(`workflow "${workflow.name}" has no schedule; run it with courier run`);
  const catchUp = Math.max(1, options.catchUp ?? DEFAULT_CATCH_UP);
  const nextFire = nextFireAfter(schedule, options.now).toISOString();
  const lastFire = lastFireAtOrBefore(schedule, options.now);
  if (!lastFire) return { workflow: workflow.name, due: [], inProgress: [], nextFire };
  const latest = periodOfFire(workflow.period, lastFire, schedule.timezone);
  const { runs } = await listRuns(toStorageUri(options.storageRoot), { workflow: workflow.name });
  const recorded = [...new Set(runs.map((r) => r.period))].sort();
  const firstRecorded = recorded[0];

  const window: Period[] = [latest];
  if (firstRecorded !== undefined) {
    while (window.length < catchUp && previousPeriod(window[0]!).key >= firstRecorded) window.unshift(previousPeriod(window[0]!));
  }
  const byPeriod = new Map<string, RunRecord[]>();
  for (const r of runs) byPeriod.set(r.period, [...(byPeriod.get(r.period) ?? []), r]);
  const done = (p: string) => (byPeriod.get(p) ?? []).some((r) => r.state === 'succeeded' || r.state === 'skipped');
  const running = (p: string) => (byPeriod.get(p) ?? []).some((r) => r.state === 'running' && runLiveness(r) !== 'dead');
  const due = window.filter((p) => !done(p.key) && !running(p.key)).map((p) => p.key);
  const inProgress = window.filter((p) => running(p.key)).map((p) => p.key);

  const lastRecorded = recorded.at(-1);
  let missed: DuePeriods['missed'];
  if (lastRecorded !== undefined && lastRecorded < window[0]!.key) {
    const first = nextPeriod(periodOf(workflow.period, lastRecorded));
    const last = previousPeriod(window[0]!);
    if (first.key <= last.key) {
      let count = 0;
      for (let p = first; p.key <= last.key && count < 100_000; p = nextPeriod(p)) count++;
      missed = { from: first.key, to: last.key, count };
    }
  }
  return {
    workflow: workflow.name,
    due,
    ...(missed ? { missed } : {}),
    inProgress,
    lastFire: lastFire.toISOString(),
    nextFire,
  };
}

/** Something the scheduler did, for logs. */
export type ScheduleEvent =
  | { readonly type: 'due'; readonly at: string; readonly due: DuePeriods }
  | { readonly type: 'ran'; readonly workflow: string; readonly results: readonly BackfillPeriodResult[] }
  | { readonly type: 'sleeping'; readonly until: string; readonly ms: number };

/** Options of `runSchedule`. */
export interface ScheduleOptions {
  readonly storageRoot: string;
  readonly runner: JobRunner;
  /** Run what is due now and return. */
  readonly once?: boolean;
  readonly catchUp?: number;
  readonly waitTimeoutMs?: number;
  readonly pollMs?: number;
  readonly stageConcurrency?: number;
  /** Stops the loop (between cycles, or cutting a sleep short). */
  readonly signal?: AbortSignal;
  /** The clock; default the system clock. */
  readonly now?: () => Date;
  /** How the scheduler sleeps until the next fire; default a timer, cut short by `signal`. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly onEvent?: (event: WorkflowEvent) => void;
  readonly onSchedule?: (event: ScheduleEvent) => void;
}

/** One pass of the scheduler: what was due per workflow and how each period ended. */
export interface ScheduleCycle {
  readonly at: string;
  readonly workflows: readonly { readonly due: DuePeriods; readonly results: readonly BackfillPeriodResult[] }[];
}

/** Runs due workflows, then sleeps until the next fire, until `signal` aborts (or once with `once`); returns the last 100 cycles. */
export async function runSchedule<S>(entries: readonly ScheduledWorkflow<S>[], options: ScheduleOptions): Promise<ScheduleCycle[]> {
  const scheduled = entries.filter((e) => e.workflow.schedule !== undefined);
  if (scheduled.length === 0) throw new Error('no workflow has a schedule: nothing to run; use courier run <workflow>');
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? realSleep;
  const cycles: ScheduleCycle[] = [];
  while (!options.signal?.aborted) {
    const at = now();
    const workflows: ScheduleCycle['workflows'][number][] = [];
    for (const { workflow, settings } of scheduled) {
      const due = await duePeriods(workflow, { storageRoot: options.storageRoot, now: at, ...(options.catchUp !== undefined ? { catchUp: options.catchUp } : {}) });
      options.onSchedule?.({ type: 'due', at: at.toISOString(), due });
      const results = await runPeriods(
        workflow,
        due.due.map((p) => periodOf(workflow.period, p)),
        {
          storageRoot: options.storageRoot,
          settings,
          runner: options.runner,
          ...pick(options, ['waitTimeoutMs', 'pollMs', 'stageConcurrency', 'signal', 'onEvent']),
        },
        1,
      );
      if (results.length > 0) options.onSchedule?.({ type: 'ran', workflow: workflow.name, results });
      workflows.push({ due, results });
    }
    cycles.push({ at: at.toISOString(), workflows });
    // A scheduler runs for months: keep the recent cycles only.
    if (cycles.length > 100) cycles.shift();
    if (options.once) break;
    const after = now();
    const wake = Math.min(...scheduled.map((e) => nextFireAfter(e.workflow.schedule!, after).getTime()));
    const ms = Math.max(0, wake - after.getTime());
    options.onSchedule?.({ type: 'sleeping', until: new Date(wake).toISOString(), ms });
    await sleep(ms, options.signal);
  }
  return cycles;
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (value[k] !== undefined) out[k] = value[k];
  return out;
}
