import { defineSchema } from '../../storage/index.ts';

/**
 * A data sync request: everything needed to send one cookie's segments to one partner, so the syncer and
 * the batch formatter never look anything up. Partitioned on disk by `partner_id` and `priority`.
 */
export const dataSyncRequestSchema = defineSchema({
  /** Stable id (hex of a hash of date, partner, cookie): the idempotency key of the HTTP request. */
  request_id: 'string',
  partner_id: 'int32',
  /** `high` for cookies synced since the last run, `normal` for refreshes. */
  priority: 'string',
  cookie_id: 'string',
  partner_user_id: 'string',
  /** The partner's segment codes: the full set, or the added ones when the partner takes deltas. */
  segments: 'list<string>',
  /** Segment codes removed since the last run (deltas only; empty otherwise). */
  removed_segments: 'list<string>',
  synced_at: 'timestamp_ms',
  expires_at: 'timestamp_ms',
});
