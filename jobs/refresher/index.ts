// The refresher: webapp sync logs + segment data → the cookie-sync store and data sync requests per partner
// and priority. See docs/refresher.md.
export { dataSyncRequestSchema } from './data-sync-request.ts';
export {
  cookieSyncStoreSchema,
  latestCompleteBefore,
  refresherDatasets,
  REFRESHER_DATASET_NAMES,
  SEGMENT_DATA_ALLOWED_COLUMNS,
  segmentInputSchema,
  type RefresherDatasets,
} from './refresher-datasets.ts';
export {
  parseRefresherParams,
  refresherParamsSchema,
  REQUEST_PRIORITIES,
  type RefresherParams,
  type RefresherParamsInput,
  type RefresherPartner,
  type RequestPriority,
} from './refresher-params.ts';
export { RequestPlanner, type PlannedRequest, type RequestOutcome, type StoreEntry } from './request-planner.ts';
export { refresherJob } from './refresher-job.ts';
export { runRefresher, refresherJobRequest, type RefresherRunOptions, type RefresherSummary, type RequestPartition } from './run-refresher.ts';
