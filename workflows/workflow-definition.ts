/**
 * The workflow API: a workflow is a DAG of stages with a schedule and a period (daily or monthly). Each stage
 * names the datasets it needs complete (inputs) and the ones it produces (outputs) as paths from its period,
 * and runs engine jobs (or writes small datasets itself). `defineWorkflow` checks the structure before anything
 * runs. See docs/workflows.md.
 */
import type { ClusterJobRequest, Counters, JobRunner, StepProgress } from '../engine/index.ts';
import { scheduleProblem, type WorkflowSchedule } from './cron-schedule.ts';
import { WorkflowDefinitionError } from './workflow-errors.ts';
import type { PeriodKind } from './workflow-period.ts';

/** How a failed stage is tried again: `maxAttempts` in all, delays doubling from `baseDelayMs` up to `maxDelayMs`, with jitter. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Retries of a stage that sets none: three attempts, 10 s then 20 s apart (plus jitter). */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 10_000, maxDelayMs: 300_000 };

/** What `inputs` and `outputs` see: the period and the workflow's settings, nothing that runs. */
export interface PeriodContext<S> {
  readonly workflow: string;
  /** `YYYY-MM-DD` (daily) or `YYYY-MM` (monthly). */
  readonly period: string;
  /** The logical date: the day (daily), the first day of the month (monthly). */
  readonly date: string;
  /** `YYYY-MM`. */
  readonly month: string;
  /** Every day of the period, ascending (one for daily workflows). */
  readonly days: readonly string[];
  /** Plain data the caller built (from the config, for the CLI): partners and the like. */
  readonly settings: S;
}

/** What a stage's `run` gets. */
export interface StageContext<S> extends PeriodContext<S> {
  readonly stage: string;
  /** The storage root URI dataset paths resolve against. */
  readonly storageRoot: string;
  readonly runner: JobRunner;
  /**
   * Replace outputs that are already complete: true under --force, and when an earlier attempt or a killed run
   * left some of the stage's outputs complete (the stage re-runs whole); false otherwise.
   */
  readonly overwrite: boolean;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborted when the run is interrupted; long stages should stop at the next chance. */
  readonly signal: AbortSignal;
  /** Engine progress, forwarded to the caller (the CLI draws bars from it). */
  readonly onProgress: (progress: StepProgress) => void;
  /** The URI of a dataset path relative to the storage root. */
  uri(path: string): string;
}

/** What a stage reports back, kept in the run history. */
export interface StageOutcome {
  readonly counters?: Counters;
  /** Small facts worth showing on-call (rows written, files): plain JSON. */
  readonly summary?: Record<string, unknown>;
}

/** One stage of a workflow, as written by its author. */
export interface StageDefinition<S> {
  readonly name: string;
  readonly description?: string;
  /** Stages that must succeed (or be skipped as already done) before this one starts. */
  readonly dependsOn?: readonly string[];
  /** Datasets (paths under the storage root, or URIs) that must have `_SUCCESS` before the stage runs. */
  readonly inputs?: (ctx: PeriodContext<S>) => readonly string[];
  /** Datasets the stage produces; when all are complete, the stage is skipped (unless forced). */
  readonly outputs: (ctx: PeriodContext<S>) => readonly string[];
  readonly retries?: Partial<RetryPolicy>;
  /**
   * In a backfill, this stage for period P waits for the same stage of the period before P when that period is
   * part of the same backfill (an incremental store built from the previous period's version).
   */
  readonly dependsOnPreviousPeriod?: boolean;
  readonly run: (ctx: StageContext<S>) => Promise<StageOutcome | void>;
  /**
   * The engine jobs `run` will start (job, parameters, run options), for engines that submit a whole run up
   * front (Dataproc: one workflow template); `run` still runs and picks them up. Omit for local-only stages.
   */
  readonly clusterJobs?: (ctx: StageContext<S>) => Promise<readonly ClusterJobRequest[]>;
}

/** A workflow as written by its author. */
export interface WorkflowDefinition<S> {
  /** Lowercase letters, digits and dashes: it names history directories (`_runs/<name>/`). */
  readonly name: string;
  readonly description: string;
  /** When `courier schedule` runs it; a workflow without one runs only on demand. */
  readonly schedule?: WorkflowSchedule;
  readonly period: PeriodKind;
  readonly stages: readonly StageDefinition<S>[];
}

/** A stage with its defaults filled in. */
export interface Stage<S> extends StageDefinition<S> {
  readonly dependsOn: readonly string[];
  readonly retries: RetryPolicy;
  readonly dependsOnPreviousPeriod: boolean;
}

/** A checked workflow: stages in dependency order (ties in the order written). */
export interface Workflow<S> extends WorkflowDefinition<S> {
  readonly stages: readonly Stage<S>[];
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Checks a workflow definition and returns it with stages in dependency order; throws WorkflowDefinitionError. */
export function defineWorkflow<S>(definition: WorkflowDefinition<S>): Workflow<S> {
  const wf = String(definition?.name);
  const fail = (message: string): never => {
    throw new WorkflowDefinitionError(wf, message);
  };
  if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
    fail('name must be lowercase letters, digits and dashes (it names the history directory _runs/<name>/)');
  }
  if (typeof definition.description !== 'string' || definition.description.trim() === '') fail('description is missing: say in one line what the workflow does');
  if (definition.period !== 'daily' && definition.period !== 'monthly') fail(`period must be "daily" or "monthly", got ${JSON.stringify(definition.period)}`);
  if (definition.schedule !== undefined) {
    const problem = scheduleProblem(definition.schedule);
    if (problem) fail(problem);
  }
  if (!Array.isArray(definition.stages) || definition.stages.length === 0) fail('stages is empty: a workflow needs at least one stage');

  const byName = new Map<string, Stage<S>>();
  for (const [i, s] of definition.stages.entries()) {
    const where = `stage ${typeof s?.name === 'string' ? `"${s.name}"` : `#${i + 1}`}`;
    if (typeof s?.name !== 'string' || !NAME.test(s.name)) fail(`${where}: name must be lowercase letters, digits and dashes`);
    if (byName.has(s.name)) fail(`${where}: the name is used twice; stage names must be unique`);
    if (typeof s.run !== 'function') fail(`${where}: run must be an async function (ctx) => { ... }`);
    if (typeof s.outputs !== 'function') fail(`${where}: outputs must be a function (ctx) => [dataset paths]`);
    if (s.inputs !== undefined && typeof s.inputs !== 'function') fail(`${where}: inputs must be a function (ctx) => [dataset paths]`);
    const dependsOn = [...(s.dependsOn ?? [])];
    if (new Set(dependsOn).size !== dependsOn.length) fail(`${where}: dependsOn lists a stage twice`);
    if (dependsOn.includes(s.name)) fail(`${where}: depends on itself`);
    const retries = { ...DEFAULT_RETRY, ...s.retries };
    if (!Number.isInteger(retries.maxAttempts) || retries.maxAttempts < 1) fail(`${where}: retries.maxAttempts must be a whole number from 1, got ${retries.maxAttempts}`);
    for (const key of ['baseDelayMs', 'maxDelayMs'] as const) {
      if (!Number.isFinite(retries[key]) || retries[key] < 0) fail(`${where}: retries.${key} must be a number of milliseconds from 0, got ${retries[key]}`);
    }
    if (retries.maxDelayMs < retries.baseDelayMs) fail(`${where}: retries.maxDelayMs (${retries.maxDelayMs}) is below retries.baseDelayMs (${retries.baseDelayMs})`);
    byName.set(s.name, { ...s, dependsOn, retries, dependsOnPreviousPeriod: s.dependsOnPreviousPeriod ?? false });
  }
  for (const s of byName.values()) {
    for (const d of s.dependsOn) {
      if (!byName.has(d)) fail(`stage "${s.name}": depends on unknown stage "${d}"; stages are ${[...byName.keys()].map((n) => `"${n}"`).join(', ')}`);
    }
  }
  return { ...definition, stages: dependencyOrder(wf, [...byName.values()]) };
}

/** Kahn's algorithm, taking ready stages in the order written; a cycle is named stage by stage. */
function dependencyOrder<S>(workflow: string, stages: Stage<S>[]): Stage<S>[] {
  const done = new Set<string>();
  const out: Stage<S>[] = [];
  while (out.length < stages.length) {
    const next = stages.find((s) => !done.has(s.name) && s.dependsOn.every((d) => done.has(d)));
    if (!next) throw new WorkflowDefinitionError(workflow, `stages depend on each other in a cycle: ${findCycle(stages.filter((s) => !done.has(s.name)))}; remove one of these dependencies`);
    done.add(next.name);
    out.push(next);
  }
  return out;
}

/** `a -> b -> c -> a` among stages that all wait on one another. */
function findCycle<S>(stuck: Stage<S>[]): string {
  const byName = new Map(stuck.map((s) => [s.name, s]));
  const path: string[] = [];
  let at = stuck[0]!;
  while (!path.includes(at.name)) {
    path.push(at.name);
    // Every stuck stage has a dependency that is stuck too, so this always finds one.
    at = byName.get(at.dependsOn.find((d) => byName.has(d))!)!;
  }
  return [...path.slice(path.indexOf(at.name)), at.name].join(' -> ');
}
