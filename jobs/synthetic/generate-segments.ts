/**
 * Synthetic segment data, as matching delivers it: `segments/dt=YYYY-MM-DD/part-NNNNN.parquet`, one row per
 * cookie with its segment ids, and on some rows the PII matching used (email, postal address). Most cookies
 * come from the log cookie pool (so the refresher's join finds them); the rest never synced.
 */
import { defineSchema, writeDataset, type ColumnBatch, type DatasetMarker } from '../../storage/index.ts';
import { seededRandom } from '../../udfs/index.ts';
import type { LogRun } from './generate-webapp-logs.ts';
import { poolCookieId } from './generate-webapp-logs.ts';
import { fakeEmail, fakePostalAddress, hashKey } from './synthetic-ids.ts';

/** The segment data input schema. `email` and `postal_address` are PII: never read them past the input. */
export const segmentDataSchema = defineSchema({
  cookie_id: 'string',
  segment_ids: 'list<int32>',
  updated_at: 'timestamp_ms',
  email: { type: 'string', nullable: true },
  postal_address: { type: 'string', nullable: true },
});

/** The columns of segment data that may be read for distribution (the refresher's allowlist). */
export const SEGMENT_DATA_NON_PII_COLUMNS = ['cookie_id', 'segment_ids', 'updated_at'] as const;

/** Share of segment rows whose cookie is drawn from the log cookie pool (while the pool lasts). */
export const SEGMENT_POOL_SHARE = 0.8;
/** Share of segment rows that carry PII (email and/or postal address). */
export const SEGMENT_PII_SHARE = 0.3;
/** Segment rows were updated by matching within this many days before the end of the last day. */
const UPDATED_WITHIN_DAYS = 30;
const BATCH_ROWS = 65_536;
const DAY_MS = 86_400_000;

/** Our segment catalogue: the configured segment ids first (drawn most often), then 1001-1040, 2001-2020, 3001-3010. */
export function segmentCatalogue(configured: readonly number[]): number[] {
  const rest: number[] = [];
  for (let i = 1001; i <= 1040; i++) rest.push(i);
  for (let i = 2001; i <= 2020; i++) rest.push(i);
  for (let i = 3001; i <= 3010; i++) rest.push(i);
  const first = [...new Set(configured)].sort((a, b) => a - b);
  return [...first, ...rest.filter((id) => !first.includes(id))];
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Counters of the segment rows written. */
export interface SegmentCounts {
  rows: number;
  piiRows: number;
  emailRows: number;
  postalAddressRows: number;
  poolCookies: number;
}

/**
 * The rows as column batches. Pool cookies are taken in a scrambled order without repeats (an affine
 * permutation of the pool indices); other cookies get indices past the pool, so every row has its own cookie.
 */
export function* segmentBatches(
  run: LogRun,
  options: { rows: number; lastDate: string; catalogue: readonly number[] },
  counts: SegmentCounts,
  onRows?: (n: number) => void,
): Generator<ColumnBatch> {
  const rng = seededRandom(hashKey(run.seed, 0x5e6));
  const piiKey = hashKey(run.seed, 0x911);
  const pool = run.poolSize;
  const fromPool = Math.min(Math.round(options.rows * SEGMENT_POOL_SHARE), pool);
  let step = 0x9e3779b1 % pool || 1;
  while (gcd(step, pool) !== 1) step++;
  let cursor = rng.int(pool);
  const end = Date.parse(`${options.lastDate}T00:00:00Z`) + DAY_MS;
  const catalogue = options.catalogue;
  let poolTaken = 0;
  let freshTaken = 0;
  for (let done = 0; done < options.rows; ) {
    const n = Math.min(BATCH_ROWS, options.rows - done);
    const cookieIds: string[] = new Array(n);
    const segmentIds: Int32Array[] = new Array(n);
    const updatedAt = new Float64Array(n);
    const emails: (string | null)[] = new Array(n).fill(null);
    const addresses: (string | null)[] = new Array(n).fill(null);
    for (let i = 0; i < n; i++) {
      const rowsLeft = options.rows - done - i;
      // Selection sampling: exactly `fromPool` pool cookies, spread evenly through the rows.
      const usePool = rng.float() * rowsLeft < fromPool - poolTaken;
      let index: number;
      if (usePool) {
        index = cursor;
        cursor = (cursor + step) % pool;
        poolTaken++;
      } else {
        index = pool + freshTaken++;
      }
      cookieIds[i] = poolCookieId(run, index);
      const k = 1 + Math.min(7, Math.floor(Math.log(1 - rng.float()) / Math.log(0.55)));
      const set = new Set<number>();
      for (let j = 0; j < k; j++) {
        const u = rng.float();
        set.add(catalogue[Math.floor(catalogue.length * Math.pow(u, 1.8))]!);
      }
      segmentIds[i] = Int32Array.from([...set].sort((a, b) => a - b));
      updatedAt[i] = end - 1 - rng.int(UPDATED_WITHIN_DAYS * DAY_MS);
      if (rng.chance(SEGMENT_PII_SHARE)) {
        counts.piiRows++;
        const r = rng.float();
        if (r < 0.9) {
          emails[i] = fakeEmail(hashKey(piiKey, index, 1));
          counts.emailRows++;
        }
        if (r >= 0.9 || r < 0.55) {
          addresses[i] = fakePostalAddress(hashKey(piiKey, index, 2));
          counts.postalAddressRows++;
        }
      }
    }
    done += n;
    counts.rows += n;
    counts.poolCookies = poolTaken;
    yield { numRows: n, columns: { cookie_id: cookieIds, segment_ids: segmentIds, updated_at: updatedAt, email: emails, postal_address: addresses } };
    onRows?.(n);
  }
}

/** Writes the segment dataset of `lastDate` (Parquet, then `_SUCCESS`). */
export async function writeSegments(
  uri: string,
  run: LogRun,
  options: { rows: number; lastDate: string; catalogue: readonly number[]; force: boolean; onRows?: (n: number) => void },
): Promise<{ marker: DatasetMarker; counts: SegmentCounts }> {
  const counts: SegmentCounts = { rows: 0, piiRows: 0, emailRows: 0, postalAddressRows: 0, poolCookies: 0 };
  const marker = await writeDataset(uri, segmentDataSchema, segmentBatches(run, options, counts, options.onRows), {
    overwrite: options.force,
    compression: 'zstd',
    // Smaller files than the writer's 1M default: 1M segment rows peak at ~0.65 GB instead of ~1 GB, and write faster.
    rowsPerFile: 250_000,
    extra: { generator: 'courier generate', seed: run.seed, catalogue: options.catalogue },
  });
  return { marker, counts };
}
