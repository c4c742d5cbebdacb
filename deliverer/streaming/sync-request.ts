// What the syncer sends: the fields of a data sync request (jobs/refresher/data-sync-request.ts) an HTTP request
// needs. Mirrored rather than imported: deliverer/ may not import jobs/.

/** One data sync request as the syncer sees it. */
export interface SyncRequest {
  /** Stable id: the Idempotency-Key of every attempt. */
  requestId: string;
  partnerId: number;
  priority: string;
  partnerUserId: string;
  /** The partner's segment codes. */
  segments: readonly string[];
  /** Epoch milliseconds. */
  expiresAt: number;
}
