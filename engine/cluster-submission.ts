/**
 * What a workflow hands a cluster engine before its stages run: every job each stage will run, with the
 * stage DAG, so the engine can submit the whole run at once (Dataproc: one workflow template) while the
 * workflow runner keeps its own order, markers and history. A runner that takes it is a
 * `WorkflowSubmitter`; its `run` then picks up the submitted job instead of starting a new one.
 */
import type { Job } from './job-definition.ts';
import type { JobRunner, RunOptions } from './runner-types.ts';

/** One job a stage will run: what it will pass to `runner.run`. */
export interface ClusterJobRequest {
  readonly job: Job;
  readonly params: unknown;
  readonly options: Omit<RunOptions, 'onProgress'>;
}

/** A stage of the submission: its jobs in order and the stages (of this submission) it waits for. */
export interface ClusterStageRequest {
  readonly stage: string;
  readonly dependsOn: readonly string[];
  readonly jobs: readonly ClusterJobRequest[];
}

/** A workflow run as a cluster engine submits it. */
export interface ClusterWorkflowRequest {
  readonly workflow: string;
  readonly period: string;
  readonly runId: string;
  readonly stages: readonly ClusterStageRequest[];
}

/** A runner that submits a workflow run's jobs up front; `run` then waits for the submitted job it matches. */
export interface WorkflowSubmitter extends JobRunner {
  /** Submits every job of the request; resolves once the cluster has accepted it. */
  submitWorkflow(request: ClusterWorkflowRequest, signal?: AbortSignal): Promise<void>;
  /** The exact request the submission would send, as JSON (for --dry-run); sends nothing. */
  describeSubmission(request: ClusterWorkflowRequest): Promise<unknown>;
}

/** True for runners that take whole workflow runs. */
export function isWorkflowSubmitter(runner: JobRunner): runner is WorkflowSubmitter {
  return typeof (runner as Partial<WorkflowSubmitter>).submitWorkflow === 'function';
}
