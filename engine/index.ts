// The engine room: the job API (defineJob), the runners that execute jobs over storage datasets, and the
// shuffle semantics (key order, partitioning, grouping) they share. See docs/engine.md.
export {
  defineJob,
  defineStep,
  isStepOutputInput,
  type Job,
  type JobDefinition,
  type StepDefinition,
  type AnyStep,
  type StepBuilder,
  type JobSource,
  type StepInput,
  type DatasetInput,
  type ParquetDatasetInput,
  type LinesDatasetInput,
  type DatasetRef,
  LINE_SCHEMA,
  type StepOutputInput,
  type StepOutput,
  type Mapper,
  type Combiner,
  type Reducer,
} from './job-definition.ts';
export { logicalDate, type ParamsSchema, type LogicalDateParams } from './job-params.ts';
export type { StepContext, MapContext, CombineContext, ReduceContext, OutputRecord, ShufflePair } from './job-context.ts';
export {
  compareKeys,
  sameGroup,
  hashKey,
  partitionOf,
  resolveShuffle,
  type Key,
  type KeyPart,
  type ShuffleSpec,
  type ResolvedShuffle,
} from './key-order.ts';
export { sumCounters, type Counters } from './counters.ts';
export { QUARANTINE_SCHEMA, DEFAULT_QUARANTINE_SAMPLE } from './bad-records.ts';
export { JobError, JobDefinitionError, BadRecordRateError, type BadRecordLocation } from './engine-error.ts';
export {
  DEFAULT_MAX_BAD_RECORD_RATE,
  type JobRunner,
  type RunOptions,
  type JobResult,
  type StepResult,
  type StepProgress,
} from './runner-types.ts';
export { InlineRunner, inlineRunner, type InlineRunnerOptions } from './inline-runner.ts';
export { LocalRunner, localRunner, DEFAULT_LOCAL_MEMORY_MB, type LocalRunnerOptions } from './local-runner.ts';
export { StreamingRunner, streamingRunner, type StreamingRunnerOptions, type StreamingTimings } from './streaming-runner.ts';
export { SparkSubmitRunner, sparkSubmitRunner, SparkSubmitConfigError, defaultClusterUri, type SparkSubmitRunnerOptions } from './spark-submit-runner.ts';
export { DEFAULT_HADOOP_STREAMING_JAR } from './hadoop-streaming-step.ts';
export { GatewayCommandError } from './gateway-command.ts';
export { buildStageBundle, stageBundleName, type StageBundle } from './stage-bundle.ts';
export { describeJob } from './stage-cli.ts';
export { encodeKeyText, decodeKeyText, escapeField, unescapeField, splitFields } from './streaming-protocol.ts';
export {
  sparkSqlSteps,
  sparkSqlStepScript,
  sparkStepDir,
  sqlString,
  SPARK_STEP_DIRS,
  type SparkSqlStep,
  type SparkSqlInput,
  type SparkSqlPlanOptions,
  type SparkStepCounts,
} from './spark-sql-step.ts';
export { isWorkflowSubmitter, type WorkflowSubmitter, type ClusterJobRequest, type ClusterStageRequest, type ClusterWorkflowRequest } from './cluster-submission.ts';
export { DataprocRunner, dataprocRunner, type DataprocRunnerOptions } from './dataproc-runner.ts';
export { dataprocTemplateRequest, type DataprocManagedCluster, type DataprocPlacement } from './dataproc-template.ts';
