// The workflows room: workflow definitions (a DAG of stages with a schedule and a period), the runner (order,
// markers, waiting, retries, run history), backfill and the scheduler, and Courier's own workflows.
// See docs/workflows.md.
export {
  defineWorkflow,
  DEFAULT_RETRY,
  type Workflow,
  type WorkflowDefinition,
  type Stage,
  type StageDefinition,
  type StageContext,
  type StageOutcome,
  type PeriodContext,
  type RetryPolicy,
} from './workflow-definition.ts';
export { WorkflowDefinitionError, InputsNotReadyError, StageBlockedError, NonRetryableError, isRetryable, formatDuration } from './workflow-errors.ts';
export { periodOf, periodsBetween, previousPeriod, nextPeriod, isCalendarDay, PeriodError, type Period, type PeriodKind } from './workflow-period.ts';
export { scheduleProblem, nextFireAfter, lastFireAtOrBefore, periodOfFire, localDay, toLocalTime, type WorkflowSchedule } from './cron-schedule.ts';
export { planWorkflow, type WorkflowPlan, type PlannedStage, type PlannedDataset } from './workflow-plan.ts';
export {
  runWorkflow,
  errorRecord,
  DEFAULT_POLL_MS,
  DEFAULT_STAGE_CONCURRENCY,
  type RunWorkflowOptions,
  type WorkflowRunResult,
  type WorkflowEvent,
  type PeriodLink,
} from './workflow-runner.ts';
export { backoffDelay } from './retry-backoff.ts';
export { backfill, type BackfillOptions, type BackfillResult, type BackfillPeriodResult } from './backfill.ts';
export {
  duePeriods,
  runSchedule,
  DEFAULT_CATCH_UP,
  type DuePeriods,
  type ScheduleOptions,
  type ScheduleEvent,
  type ScheduleCycle,
  type ScheduledWorkflow,
} from './workflow-scheduler.ts';
export {
  listRuns,
  runLiveness,
  runHistoryUri,
  RUNS_DIR,
  RUN_FORMAT,
  type RunRecord,
  type RunParams,
  type RunState,
  type StageRecord,
  type StageState,
  type ErrorRecord,
  type HistoryProblem,
} from './run-history.ts';
export type { CourierWorkflowSettings } from './courier-settings.ts';
export { outboxPath, writeOutbox, OUTBOX_DATASET, READY_FILE, OUTBOX_FORMAT, type OutboxReady, type OutboxContent } from './outbox-handoff.ts';
export { DAILY_REFRESH, dailyRefreshWorkflow, batchFormatterStage, formatStageName } from './daily-refresh.ts';
export { MONTHLY_BATCH, monthlyBatchWorkflow } from './monthly-batch.ts';
export { WORKFLOW_BUILDERS, WORKFLOW_NAMES, courierWorkflow, courierWorkflows, UnknownWorkflowError } from './workflow-registry.ts';
export { workflowSubmission, planWorkflowSubmission, type SubmissionOptions } from './workflow-submission.ts';
