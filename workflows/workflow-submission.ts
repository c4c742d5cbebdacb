/**
 * A workflow run as a cluster engine submits it (engine/cluster-submission.ts): the stages that will run, in
 * dependency order, each with the jobs its `clusterJobs` declares. A stage that declares none (a local stage
 * such as the hand-off), or builds on the previous period in a backfill, is left out, and so is every stage
 * after it in the DAG: their jobs start at run time, each in a submission of its own.
 */
import type { ClusterStageRequest, ClusterWorkflowRequest, JobRunner } from '../engine/index.ts';
import { toStorageUri } from '../storage/index.ts';
import type { StageContext, Workflow } from './workflow-definition.ts';
import { completeness, datasetUri, periodContext, resolveStages, skipDecision, type ResolvedStage } from './workflow-plan.ts';
import { periodOf, type Period } from './workflow-period.ts';
import { newRunId } from './run-history.ts';

/** What `workflowSubmission` needs besides the resolved stages. */
export interface SubmissionOptions<S> {
  readonly period: Period;
  readonly runId: string;
  readonly storageRoot: string;
  readonly settings: S;
  readonly runner: JobRunner;
  readonly force: boolean;
  readonly signal?: AbortSignal;
  /** The run builds on the previous period's run (a backfill): stages that depend on it are not submitted ahead. */
  readonly previousPeriodInRun?: boolean;
  /** Called before a submitted stage's jobs are declared, with its inputs from outside the submission (the runner waits for them). */
  readonly beforeStage?: (stage: ResolvedStage<S>, externalInputs: readonly string[]) => Promise<void>;
}

/** The cluster request of a run: every submitted stage's jobs (see the module comment). */
export async function workflowSubmission<S>(workflow: Workflow<S>, resolved: readonly ResolvedStage<S>[], options: SubmissionOptions<S>): Promise<ClusterWorkflowRequest> {
  const willRun = new Set<string>();
  const submitted = new Set<string>();
  const stages: ClusterStageRequest[] = [];
  const base = periodContext(workflow, options.period, options.settings);
  for (const r of resolved) {
    const { stage } = r;
    const outputs = r.outputs.map((d) => d.uri);
    const decision = skipDecision(options.force, await completeness(outputs), stage.dependsOn.filter((d) => willRun.has(d)));
    if (decision.action === 'skip') continue;
    willRun.add(stage.name);
    const waitsOnUnsubmitted = stage.dependsOn.some((d) => willRun.has(d) && !submitted.has(d));
    if (!stage.clusterJobs || waitsOnUnsubmitted || (stage.dependsOnPreviousPeriod && options.previousPeriodInRun)) continue;
    const external = r.inputs.filter((d) => !(d.producedBy !== undefined && submitted.has(d.producedBy))).map((d) => d.uri);
    await options.beforeStage?.(r, external);
    const ctx: StageContext<S> = {
      ...base,
      stage: stage.name,
      storageRoot: options.storageRoot,
      runner: options.runner,
      overwrite: options.force || (await completeness(outputs)).some(Boolean),
      attempt: 1,
      signal: options.signal ?? new AbortController().signal,
      onProgress: () => undefined,
      uri: (p) => datasetUri(options.storageRoot, p, `workflow "${workflow.name}" stage "${stage.name}"`),
    };
    const jobs = await stage.clusterJobs(ctx);
    submitted.add(stage.name);
    stages.push({ stage: stage.name, dependsOn: stage.dependsOn.filter((d) => submitted.has(d)), jobs });
  }
  return { workflow: workflow.name, period: options.period.key, runId: options.runId, stages };
}

/** The cluster request a run of `workflow` for `date` would submit now (for `courier run --dry-run`); writes nothing. */
export async function planWorkflowSubmission<S>(
  workflow: Workflow<S>,
  options: { date: string; storageRoot: string; settings: S; runner: JobRunner; force?: boolean },
): Promise<ClusterWorkflowRequest> {
  const storageRoot = toStorageUri(options.storageRoot);
  const period = periodOf(workflow.period, options.date);
  const resolved = resolveStages(workflow, period, options.settings, storageRoot);
  return workflowSubmission(workflow, resolved, { period, runId: newRunId(), storageRoot, settings: options.settings, runner: options.runner, force: options.force ?? false });
}
