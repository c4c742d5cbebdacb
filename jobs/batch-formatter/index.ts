// The batch formatter: one batch partner's data sync requests of a day or month, as a file laid out by its
// template, with a manifest and _SUCCESS. See docs/batch-formatter.md.
export {
  batchFormatterParamsSchema,
  batchFormatterParams,
  batchPartnerSchema,
  batchTemplateSchema,
  templateProblems,
  BATCH_FIELDS,
  MEMBER_FIELDS,
  HEADER_MACROS,
  FILE_NAME_MACROS,
  DEFAULT_FILE_NAME_PATTERN,
  MANIFEST_SUFFIX,
  type BatchField,
  type BatchFormatterParams,
  type BatchPartner,
  type BatchPartnerInput,
  type BatchTemplate,
  type BatchTemplateInput,
  type MemberField,
} from './batch-params.ts';
export { batchFormatterDatasets, periodDays, periodOf, REQUESTS_DATASET, BATCH_DATASET, type BatchSchedule } from './batch-period.ts';
export { batchFormatterJob, batchRowSchema, BATCH_COUNTERS } from './batch-formatter-job.ts';
export { batchFileName, BatchFileError, type BatchManifest, type BatchRunInfo } from './batch-file-writer.ts';
export { runBatchFormatter, batchFormatterJobRequest, type BatchFormatterRunOptions, type BatchFormatterResult, type BatchOutputFile } from './run-batch-formatter.ts';
