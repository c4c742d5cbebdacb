import { defineSchema } from '../../storage/index.ts';

/**
 * A data sync request: everything needed to send one cookie's segments to one partner, so the syncer and
 * the batch formatter never look anything up. Partitioned on disk by `partner_id` and `priority`.
 */
export const dataSyncRequestSchema = defineSchema({
  /** Stable id (`requestId` in udfs: 32 hex digits of SHA-256 of date, partner, cookie): the idempotency key of the HTTP request. */
  request_id: 'string',
  partner_id: 'int32',
  /** The partner's `priority.newSync` for cookies first seen with it on the run date, else its `priority.refresh`. */
  priority: 'string',
  cookie_id: 'string',
  partner_user_id: 'string',
  /** The partner's segment codes: the full set, or, for a partner taking deltas, the added ones (full set for new syncs and rota refreshes). */
  segments: 'list<string>',
  /** Segment codes removed since the previous segment snapshot (deltas only; empty otherwise). */
  removed_segments: 'list<string>',
  synced_at: 'timestamp_ms',
  expires_at: 'timestamp_ms',
});
