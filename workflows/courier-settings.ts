/**
 * The settings Courier's own workflows run with: plain data the CLI maps from the job config (workflows do not
 * read the config), shaped as the jobs take it, and kept in each run's history.
 */
import type { BatchPartnerInput } from '../jobs/batch-formatter/index.ts';
import type { RefresherParamsInput } from '../jobs/refresher/index.ts';

/** Settings of daily-refresh and monthly-batch. */
export interface CourierWorkflowSettings {
  /** Every partner, as the refresher builds requests for them. */
  readonly refresherPartners: RefresherParamsInput['partners'];
  readonly storeMaxAgeDays: number;
  readonly refreshEveryDays: number;
  /** Partners with batch delivery, each with its template and schedule (daily or monthly). */
  readonly batchPartners: readonly BatchPartnerInput[];
  /** Share of bad records a job step tolerates (the config's engine.local.maxBadRecordRate). */
  readonly maxBadRecordRate?: number;
}
