/**
 * The datasets the refresher reads and writes, by logical date, and how it finds the previous versions it
 * builds on (the store and segment snapshot of the latest earlier complete day).
 */
import { defineSchema, fileSystemFor, isComplete, joinUri, toStorageUri } from '../../storage/index.ts';

/** Dataset names below the storage root; each day is `<name>/dt=YYYY-MM-DD`. */
export const REFRESHER_DATASET_NAMES = {
  logs: 'logs',
  segments: 'segments',
  store: 'cookie-sync-store',
  requests: 'requests',
} as const;

/**
 * The segment data columns the refresher may read. Segment data also carries PII from matching (`email`,
 * `postal_address`): reading through this allowlist means those columns are never even decoded.
 */
export const SEGMENT_DATA_ALLOWED_COLUMNS = ['cookie_id', 'segment_ids'] as const;

/** The part of the segment data schema the refresher reads (exactly the allowlisted columns). */
export const segmentInputSchema = defineSchema({ cookie_id: 'string', segment_ids: 'list<int32>' });

/** The cookie-sync store: one row per (cookie, partner) with the latest partner user id and when it was seen. */
export const cookieSyncStoreSchema = defineSchema({
  cookie_id: 'string',
  partner_id: 'int32',
  /** From the latest sync of this cookie with this partner. */
  partner_user_id: 'string',
  /** The first sync we know of (kept across merges while the entry lives). */
  first_seen: 'timestamp_ms',
  /** The latest sync. */
  last_seen: 'timestamp_ms',
});

function dated(name: string, date: string): string {
  return `${name}/dt=${date}`;
}

/** What a refresher run for `date` reads and writes, as paths relative to the storage root. */
export interface RefresherDatasets {
  /** Required inputs (the workflow waits for their markers). */
  inputs: { logs: string; segments: string };
  /** Outputs (complete when their markers are written). */
  outputs: { store: string; requests: string };
  /** The dataset names whose latest earlier complete day is read when present (see latestCompleteBefore). */
  previous: { store: string; segments: string };
}

/** Input and output dataset paths of the refresher run for `date`. */
export function refresherDatasets(date: string): RefresherDatasets {
  const n = REFRESHER_DATASET_NAMES;
  return {
    inputs: { logs: dated(n.logs, date), segments: dated(n.segments, date) },
    outputs: { store: dated(n.store, date), requests: dated(n.requests, date) },
    previous: { store: n.store, segments: n.segments },
  };
}

const DT = /^dt=(\d{4}-\d{2}-\d{2})$/;

/**
 * The latest day X < `date` whose `<name>/dt=X` is complete (has a valid `_SUCCESS`), or null when there is
 * none. Incomplete days (a failed or running write) are passed over.
 */
export async function latestCompleteBefore(storageRoot: string, name: string, date: string): Promise<string | null> {
  const root = toStorageUri(storageRoot);
  const fs = fileSystemFor(root);
  const dir = joinUri(root, name);
  const days = (await fs.list(dir))
    .filter((e) => e.isDirectory)
    .map((e) => DT.exec(e.name)?.[1])
    .filter((d): d is string => d !== undefined && d < date)
    .sort()
    .reverse();
  for (const d of days) if (await isComplete(fs, joinUri(dir, `dt=${d}`))) return d;
  return null;
}
