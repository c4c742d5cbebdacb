/**
 * Runs one workflow for one period: stages in dependency order (independent ones concurrently), each skipped when
 * its outputs are already marked, else waiting for its input markers, then run with retries and backoff; a stage
 * whose dependency did not succeed is blocked. Every state change is written to the run history. A killed run is
 * resumed by running again: marked stages are skipped, the killed stage re-runs whole (outputs go through
 * staging, so a half-written output never has a marker). See docs/workflows.md.
 */
import os from 'node:os';
import { isWorkflowSubmitter, type JobRunner, type StepProgress } from '../engine/index.ts';
import { toStorageUri } from '../storage/index.ts';
import type { Stage, StageContext, Workflow } from './workflow-definition.ts';
import { InputsNotReadyError, NonRetryableError, StageBlockedError, isRetryable } from './workflow-errors.ts';
import { completeness, periodContext, planWorkflow, resolveStages, skipDecision, datasetUri, type ResolvedStage, type WorkflowPlan } from './workflow-plan.ts';
import { periodOf } from './workflow-period.ts';
import { backoffDelay, sleep } from './retry-backoff.ts';
import { workflowSubmission } from './workflow-submission.ts';
import {
  RUN_FORMAT,
  RunHistoryWriter,
  newRunId,
  runHistoryUri,
  type ErrorRecord,
  type RunRecord,
  type RunState,
  type StageRecord,
  type StageState,
} from './run-history.ts';

/** Something that happened in a run, for logs and progress bars. */
export type WorkflowEvent = { readonly workflow: string; readonly period: string; readonly runId: string } & (
  | { readonly type: 'run-started'; readonly historyUri: string }
  | { readonly type: 'stage-waiting'; readonly stage: string; readonly waitingFor: readonly string[] }
  | { readonly type: 'stage-started'; readonly stage: string; readonly attempt: number; readonly overwrite: boolean }
  | { readonly type: 'stage-progress'; readonly stage: string; readonly progress: StepProgress }
  | { readonly type: 'stage-retry'; readonly stage: string; readonly attempt: number; readonly delayMs: number; readonly error: ErrorRecord }
  | { readonly type: 'stage-finished'; readonly stage: string; readonly record: StageRecord }
  | { readonly type: 'run-finished'; readonly result: WorkflowRunResult }
);

type EventBody = WorkflowEvent extends infer E ? (E extends unknown ? Omit<E, 'workflow' | 'period' | 'runId'> : never) : never;

/**
 * How a run of one period is tied to the run of the period before it, in a backfill: `previous(stage)` settles
 * with that stage's final state there (absent for the first period), and `settled` is told each stage's final
 * state here.
 */
export interface PeriodLink {
  readonly previous?: { readonly period: string; readonly stage: (stage: string) => Promise<StageState> };
  readonly settled: (stage: string, state: StageState) => void;
}

/** Options of `runWorkflow`. */
export interface RunWorkflowOptions<S> {
  /** The period: a day `YYYY-MM-DD`; for monthly workflows a month `YYYY-MM` or any day in it. */
  readonly date: string;
  readonly storageRoot: string;
  readonly settings: S;
  readonly runner: JobRunner;
  /** Run every stage even when its outputs are complete, replacing them. */
  readonly force?: boolean;
  /** Return the plan (resolved paths, what is complete, what would run) and run nothing. */
  readonly dryRun?: boolean;
  /** How long a stage waits for its input markers before failing; default 0 (look once). */
  readonly waitTimeoutMs?: number;
  /** How often markers are looked for while waiting; default 30 s. */
  readonly pollMs?: number;
  /** Stages running at once; default 2. */
  readonly stageConcurrency?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: WorkflowEvent) => void;
  /** Jitter source of the retry backoff; default Math.random. */
  readonly random?: () => number;
  /** Set by `backfill`. */
  readonly link?: PeriodLink;
  readonly backfill?: { readonly from: string; readonly to: string };
}

/** What a run did; `state` is `failed` when any stage failed or was blocked. */
export interface WorkflowRunResult {
  readonly kind: 'run';
  readonly workflow: string;
  readonly period: string;
  readonly runId: string;
  readonly state: Exclude<RunState, 'running'>;
  readonly seconds: number;
  readonly historyUri: string;
  readonly stages: readonly StageRecord[];
  /** Stages that failed (not those blocked behind them). */
  readonly failedStages: readonly string[];
  /** The first failure: stage, attempts and error. */
  readonly error?: string;
}

export const DEFAULT_POLL_MS = 30_000;
export const DEFAULT_STAGE_CONCURRENCY = 2;

/** Runs `workflow` for one period (see the module comment); with `dryRun`, returns the plan instead. */
export function runWorkflow<S>(workflow: Workflow<S>, options: RunWorkflowOptions<S> & { dryRun: true }): Promise<WorkflowPlan>;
export function runWorkflow<S>(workflow: Workflow<S>, options: RunWorkflowOptions<S> & { dryRun?: false }): Promise<WorkflowRunResult>;
export function runWorkflow<S>(workflow: Workflow<S>, options: RunWorkflowOptions<S>): Promise<WorkflowPlan | WorkflowRunResult>;
export function runWorkflow<S>(workflow: Workflow<S>, options: RunWorkflowOptions<S>): Promise<WorkflowPlan | WorkflowRunResult> {
  if (options.dryRun) return planWorkflow(workflow, options);
  return new WorkflowRun(workflow, options).run();
}

/** A counting semaphore: at most `size` holders at once, served in arrival order. */
class Slots {
  private free: number;
  private readonly queue: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free++;
  }
}

/** An error as history keeps it: its message (with its cause's, when that adds something) and whether it is retried. */
export function errorRecord(error: unknown): ErrorRecord {
  const e = error instanceof Error ? error : new Error(String(error));
  let message = e.message;
  const cause = e.cause instanceof Error ? e.cause : undefined;
  if (cause && !message.includes(cause.message)) message += `\ncaused by ${cause.name}: ${cause.message}`;
  const stack = e.stack?.split('\n').slice(0, 15).join('\n');
  return { name: e.name, message, retryable: isRetryable(e), ...(stack !== undefined ? { stack } : {}) };
}

class WorkflowRun<S> {
  private readonly storageRoot: string;
  private readonly runId = newRunId();
  private readonly force: boolean;
  private readonly waitTimeoutMs: number;
  private readonly pollMs: number;
  private readonly slots: Slots;
  private readonly signal: AbortSignal;
  private readonly settled = new Map<string, Promise<StageState>>();
  private record!: RunRecord;
  private history!: RunHistoryWriter;
  /** With a runner that takes whole runs (Dataproc): the submission, settled with its error if it failed. */
  private submission: Promise<unknown> | undefined;

  constructor(
    private readonly workflow: Workflow<S>,
    private readonly options: RunWorkflowOptions<S>,
  ) {
    this.storageRoot = toStorageUri(options.storageRoot);
    this.force = options.force ?? false;
    this.waitTimeoutMs = Math.max(0, options.waitTimeoutMs ?? 0);
    this.pollMs = Math.max(1, options.pollMs ?? DEFAULT_POLL_MS);
    this.slots = new Slots(Math.max(1, options.stageConcurrency ?? DEFAULT_STAGE_CONCURRENCY));
    this.signal = options.signal ?? new AbortController().signal;
  }

  async run(): Promise<WorkflowRunResult> {
    const { workflow, options } = this;
    const period = periodOf(workflow.period, options.date);
    // Resolved before the history is written: a stage whose paths cannot be computed runs nothing.
    const resolved = resolveStages(workflow, period, options.settings, this.storageRoot);
    const started = new Date();
    const historyUri = runHistoryUri(this.storageRoot, workflow.name, period.key, this.runId);
    this.history = new RunHistoryWriter(historyUri);
    this.record = {
      format: RUN_FORMAT,
      workflow: workflow.name,
      period: period.key,
      runId: this.runId,
      state: 'running',
      params: {
        period: period.key,
        date: period.date,
        storageRoot: this.storageRoot,
        runner: options.runner.kind,
        force: this.force,
        waitTimeoutMs: this.waitTimeoutMs,
        settings: options.settings,
        ...(options.backfill ? { backfill: { ...options.backfill } } : {}),
      },
      host: os.hostname(),
      pid: process.pid,
      startedAt: started.toISOString(),
      updatedAt: started.toISOString(),
      stages: resolved.map((r) => ({
        name: r.stage.name,
        state: 'pending',
        dependsOn: [...r.stage.dependsOn],
        inputs: r.inputs.map((d) => d.uri),
        outputs: r.outputs.map((d) => d.uri),
        attempts: 0,
      })),
    };
    this.history.save(this.record);
    this.emit({ type: 'run-started', historyUri });

    const ctxBase = periodContext(workflow, period, options.settings);
    const runner = options.runner;
    if (isWorkflowSubmitter(runner)) {
      // Every stage that will run is submitted at once (waiting first for inputs from outside the run); each
      // stage's run then picks its jobs up. A failed submission fails the stages, naming its error.
      const recs = new Map(resolved.map((r, i) => [r.stage.name, this.record.stages[i]!]));
      this.submission = workflowSubmission(workflow, resolved, {
        period,
        runId: this.runId,
        storageRoot: this.storageRoot,
        settings: options.settings,
        runner,
        force: this.force,
        signal: this.signal,
        previousPeriodInRun: options.link?.previous !== undefined,
        beforeStage: (r, external) => this.waitForInputs(r.stage, recs.get(r.stage.name)!, external),
      })
        .then((request) => runner.submitWorkflow(request, this.signal))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
    }
    for (const [i, r] of resolved.entries()) {
      // Stages come in dependency order, so every dependency's promise is already in the map.
      this.settled.set(r.stage.name, this.runStage(r, this.record.stages[i]!, ctxBase));
    }
    await Promise.all(this.settled.values());

    const stages = this.record.stages;
    const failed = stages.filter((s) => s.state === 'failed');
    const state: WorkflowRunResult['state'] =
      failed.length > 0 || stages.some((s) => s.state === 'blocked') ? 'failed' : stages.every((s) => s.state === 'skipped') ? 'skipped' : 'succeeded';
    const firstBad = failed[0] ?? stages.find((s) => s.state === 'blocked');
    const error = firstBad
      ? `stage "${firstBad.name}" ${firstBad.state}${firstBad.attempts > 1 ? ` after ${firstBad.attempts} attempts` : ''}: ${firstBad.error?.message ?? firstBad.reason ?? ''}`
      : undefined;
    const finished = new Date();
    Object.assign(this.record, { state, finishedAt: finished.toISOString(), seconds: (finished.getTime() - started.getTime()) / 1000 });
    if (error !== undefined) this.record.error = error;
    this.history.save(this.record);
    await this.history.flush();
    const result: WorkflowRunResult = {
      kind: 'run',
      workflow: workflow.name,
      period: period.key,
      runId: this.runId,
      state,
      seconds: this.record.seconds!,
      historyUri,
      stages,
      failedStages: failed.map((s) => s.name),
      ...(error !== undefined ? { error } : {}),
    };
    this.emit({ type: 'run-finished', result });
    return result;
  }

  private emit(event: EventBody): void {
    this.options.onEvent?.({ workflow: this.workflow.name, period: this.record.period, runId: this.runId, ...event } as WorkflowEvent);
  }

  private update(rec: StageRecord, fields: Partial<StageRecord>): void {
    Object.assign(rec, fields);
    this.history.save(this.record);
  }

  private finish(rec: StageRecord, state: 'succeeded' | 'skipped' | 'failed' | 'blocked', fields: Partial<StageRecord> = {}): StageState {
    const now = new Date();
    const seconds = rec.startedAt !== undefined ? (now.getTime() - Date.parse(rec.startedAt)) / 1000 : undefined;
    delete rec.waitingFor;
    this.update(rec, { ...fields, state, finishedAt: now.toISOString(), ...(seconds !== undefined ? { seconds } : {}) });
    this.emit({ type: 'stage-finished', stage: rec.name, record: rec });
    return state;
  }

  private async runStage(r: ResolvedStage<S>, rec: StageRecord, ctxBase: ReturnType<typeof periodContext<S>>): Promise<StageState> {
    let state: StageState;
    try {
      state = await this.lifecycle(r, rec, ctxBase);
    } catch (e) {
      state = this.finish(rec, 'failed', { error: errorRecord(e) });
    }
    this.options.link?.settled(rec.name, state);
    return state;
  }

  private async lifecycle(r: ResolvedStage<S>, rec: StageRecord, ctxBase: ReturnType<typeof periodContext<S>>): Promise<StageState> {
    const { stage } = r;
    const depStates = await Promise.all(stage.dependsOn.map((d) => this.settled.get(d)!));
    const notDone = stage.dependsOn.filter((_, i) => depStates[i] !== 'succeeded' && depStates[i] !== 'skipped');
    if (notDone.length > 0) {
      const reason = `not run: ${notDone.map((d) => `stage "${d}" ${depStates[stage.dependsOn.indexOf(d)]}`).join(', ')}`;
      return this.finish(rec, 'blocked', { reason, error: errorRecord(new StageBlockedError(reason)) });
    }
    const previous = this.options.link?.previous;
    if (stage.dependsOnPreviousPeriod && previous) {
      this.update(rec, { state: 'waiting', waitingFor: [`stage "${stage.name}" of ${previous.period}`] });
      this.emit({ type: 'stage-waiting', stage: stage.name, waitingFor: rec.waitingFor! });
      const before = await previous.stage(stage.name);
      if (before !== 'succeeded' && before !== 'skipped') {
        const reason = `not run: stage "${stage.name}" of the previous period ${previous.period} ${before}, and this one builds on it`;
        return this.finish(rec, 'blocked', { reason, error: errorRecord(new StageBlockedError(reason)) });
      }
    }
    const outputs = r.outputs.map((d) => d.uri);
    const upstreamRan = stage.dependsOn.filter((_, i) => depStates[i] === 'succeeded');
    const decision = skipDecision(this.force, await completeness(outputs), upstreamRan);
    if (decision.action === 'skip') return this.finish(rec, 'skipped', { reason: decision.reason });
    rec.reason = decision.reason;
    await this.waitForInputs(stage, rec, r.inputs.map((d) => d.uri));
    return this.attempts(stage, rec, outputs, ctxBase);
  }

  /** Polls the input markers until all are there; fails naming every missing one when the wait runs out. */
  private async waitForInputs(stage: Stage<S>, rec: StageRecord, inputs: readonly string[]): Promise<void> {
    const start = Date.now();
    const deadline = start + this.waitTimeoutMs;
    let shown = '';
    for (;;) {
      this.throwIfAborted();
      const complete = await completeness(inputs);
      const missing = inputs.filter((_, i) => !complete[i]);
      if (missing.length === 0) break;
      const now = Date.now();
      if (now >= deadline) throw new InputsNotReadyError(stage.name, missing, this.waitTimeoutMs);
      if (missing.join('\n') !== shown) {
        shown = missing.join('\n');
        this.update(rec, { state: 'waiting', waitingFor: missing });
        this.emit({ type: 'stage-waiting', stage: stage.name, waitingFor: missing });
      }
      await sleep(Math.min(this.pollMs, deadline - now), this.signal);
    }
    if (Date.now() - start >= 1) rec.waitedSeconds = (Date.now() - start) / 1000;
  }

  private throwIfAborted(): void {
    if (this.signal.aborted) throw new NonRetryableError(`interrupted (${String(this.signal.reason ?? 'aborted')}); run again to resume`);
  }

  private async attempts(stage: Stage<S>, rec: StageRecord, outputs: readonly string[], ctxBase: ReturnType<typeof periodContext<S>>): Promise<StageState> {
    for (let attempt = 1; ; attempt++) {
      this.throwIfAborted();
      await this.slots.acquire();
      let error: ErrorRecord;
      try {
        // Outputs an earlier attempt (or a killed run) completed are replaced: the stage re-runs whole.
        const overwrite = this.force || (await completeness(outputs)).some(Boolean);
        delete rec.waitingFor;
        this.update(rec, { state: 'running', attempts: attempt, startedAt: rec.startedAt ?? new Date().toISOString() });
        this.emit({ type: 'stage-started', stage: stage.name, attempt, overwrite });
        const submitError = await this.submission;
        if (submitError !== undefined) throw new NonRetryableError(`the run's cluster submission failed: ${(submitError as Error).message ?? String(submitError)}`, { cause: submitError });
        const ctx: StageContext<S> = {
          ...ctxBase,
          stage: stage.name,
          storageRoot: this.storageRoot,
          runner: this.options.runner,
          overwrite,
          attempt,
          signal: this.signal,
          onProgress: (progress) => this.emit({ type: 'stage-progress', stage: stage.name, progress }),
          uri: (path) => datasetUri(this.storageRoot, path, `workflow "${this.workflow.name}" stage "${stage.name}"`),
        };
        const outcome = await stage.run(ctx);
        return this.finish(rec, 'succeeded', {
          ...(outcome?.counters ? { counters: outcome.counters } : {}),
          ...(outcome?.summary ? { summary: outcome.summary } : {}),
        });
      } catch (e) {
        error = errorRecord(e);
      } finally {
        this.slots.release();
      }
      rec.attemptErrors = [...(rec.attemptErrors ?? []), { ...error, attempt, at: new Date().toISOString() }];
      if (!error.retryable || attempt >= stage.retries.maxAttempts || this.signal.aborted) {
        return this.finish(rec, 'failed', { error });
      }
      const delayMs = backoffDelay(stage.retries, attempt, this.options.random);
      this.update(rec, { state: 'waiting', waitingFor: [`attempt ${attempt + 1} of ${stage.retries.maxAttempts} in ${delayMs} ms`] });
      this.emit({ type: 'stage-retry', stage: stage.name, attempt, delayMs, error });
      await sleep(delayMs, this.signal);
    }
  }
}
