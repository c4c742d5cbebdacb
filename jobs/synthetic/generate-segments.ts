/**
 * Synthetic segment data, as matching delivers it: `segments/dt=YYYY-MM-DD/part-NNNNN.parquet`, one snapshot
 * per day, one row per cookie with its segment ids, and on some rows the PII matching used (email, postal
 * address). Most cookies come from the log cookie pool (so the refresher's join finds them); the rest never
 * synced. Between days a few cookies gain or lose a segment and a few new cookies appear, so daily runs see
 * changes to send (deltas) as real matching output would give them.
 */
import { defineSchema, writeDataset, type ColumnBatch, type DatasetMarker } from '../../storage/index.ts';
import { seededRandom } from '../../udfs/index.ts';
import type { LogRun } from './generate-webapp-logs.ts';
import { poolCookieId } from './generate-webapp-logs.ts';
import { fakeEmail, fakePostalAddress, hashKey, mix32 } from './synthetic-ids.ts';

/** The segment data input schema. `email` and `postal_address` are PII: never read them past the input. */
export const segmentDataSchema = defineSchema({
  cookie_id: 'string',
  segment_ids: 'list<int32>',
  updated_at: 'timestamp_ms',
  email: { type: 'string', nullable: true },
  postal_address: { type: 'string', nullable: true },
});

/** Share of segment rows whose cookie is drawn from the log cookie pool (while the pool lasts). */
export const SEGMENT_POOL_SHARE = 0.8;
/** Share of segment rows that carry PII (email and/or postal address). */
export const SEGMENT_PII_SHARE = 0.3;
/** Segment rows of the first snapshot were updated by matching within this many days before the end of the first day. */
const UPDATED_WITHIN_DAYS = 30;
/** Share of rows that change (gain or lose one segment) from one day's snapshot to the next. */
export const SEGMENT_DAILY_CHANGE_SHARE = 0.03;
/** Share of the last day's rows whose cookie first appears on each later day (new cookies), at most half in all. */
export const SEGMENT_DAILY_NEW_SHARE = 0.02;
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

/** What one day's snapshot is: day `day` (0-based) of `dates`, over `rows` rows in all (the last day has every row). */
export interface SnapshotPlan {
  rows: number;
  dates: readonly string[];
  day: number;
  catalogue: readonly number[];
}

/** The day (index into the dates) row `row` first appears: 0 for most, a later day for the new cookies. */
function birthDay(newKey: number, row: number, days: number): number {
  if (days < 2) return 0;
  const share = Math.min(SEGMENT_DAILY_NEW_SHARE, 0.5 / (days - 1));
  const u = hashKey(newKey, row) / 4294967296;
  return u < share * (days - 1) ? 1 + Math.floor(u / share) : 0;
}

/** A catalogue segment, the configured (first) ones drawn most often. */
function drawSegment(catalogue: readonly number[], u: number): number {
  return catalogue[Math.floor(catalogue.length * Math.pow(u, 1.8))]!;
}

/**
 * The rows of one day's snapshot as column batches. Every day replays the same seeded stream of base rows (the
 * first day's content), then applies each row's changes of the following days up to this one, all derived by
 * hashing (seed, row, day), so a snapshot needs no other snapshot. Pool cookies are taken in a scrambled order
 * without repeats (an affine permutation of the pool indices); other cookies get indices past the pool, so
 * every row has its own cookie.
 */
export function* segmentBatches(run: LogRun, plan: SnapshotPlan, counts: SegmentCounts, onRows?: (n: number) => void): Generator<ColumnBatch> {
  const rng = seededRandom(hashKey(run.seed, 0x5e6));
  const piiKey = hashKey(run.seed, 0x911);
  const newKey = hashKey(run.seed, 0x9e7);
  const changeKey = hashKey(run.seed, 0xc4a);
  const pool = run.poolSize;
  const days = plan.dates.length;
  const dayStarts = plan.dates.map((d) => Date.parse(`${d}T00:00:00Z`));
  const fromPool = Math.min(Math.round(plan.rows * SEGMENT_POOL_SHARE), pool);
  let step = 0x9e3779b1 % pool || 1;
  while (gcd(step, pool) !== 1) step++;
  let cursor = rng.int(pool);
  const end = dayStarts[0]! + DAY_MS;
  const catalogue = plan.catalogue;
  let poolTaken = 0;
  let freshTaken = 0;
  for (let done = 0; done < plan.rows; ) {
    const n = Math.min(BATCH_ROWS, plan.rows - done);
    const cookieIds: string[] = [];
    const segmentIds: Int32Array[] = [];
    const updatedAt: number[] = [];
    const emails: (string | null)[] = [];
    const addresses: (string | null)[] = [];
    for (let i = 0; i < n; i++) {
      const row = done + i;
      const rowsLeft = plan.rows - row;
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
      // The base row: every draw happens whether or not the row is in this snapshot, so the stream stays aligned.
      const k = 1 + Math.min(7, Math.floor(Math.log(1 - rng.float()) / Math.log(0.55)));
      const set = new Set<number>();
      for (let j = 0; j < k; j++) set.add(drawSegment(catalogue, rng.float()));
      let updated = end - 1 - rng.int(UPDATED_WITHIN_DAYS * DAY_MS);
      const hasPii = rng.chance(SEGMENT_PII_SHARE);
      const piiDraw = hasPii ? rng.float() : 0;

      const born = birthDay(newKey, row, days);
      if (born > plan.day) continue;
      if (born > 0) updated = dayStarts[born]! + (hashKey(newKey, row, 1) % DAY_MS);
      for (let d = born + 1; d <= plan.day; d++) {
        const h = hashKey(changeKey, row, d);
        if (h / 4294967296 >= SEGMENT_DAILY_CHANGE_SHARE) continue;
        const h2 = mix32(h);
        if (set.size > 1 && (h2 & 0xff) < 102) {
          // Lose one segment (about 40% of changes), never the last.
          set.delete([...set][(h2 >>> 8) % set.size]!);
        } else {
          set.add(drawSegment(catalogue, mix32(h2 + 1) / 4294967296));
        }
        updated = dayStarts[d]! + (mix32(h2 + 2) % DAY_MS);
      }

      cookieIds.push(poolCookieId(run, index));
      segmentIds.push(Int32Array.from([...set].sort((a, b) => a - b)));
      updatedAt.push(updated);
      let email: string | null = null;
      let address: string | null = null;
      if (hasPii) {
        counts.piiRows++;
        if (piiDraw < 0.9) {
          email = fakeEmail(hashKey(piiKey, index, 1));
          counts.emailRows++;
        }
        if (piiDraw >= 0.9 || piiDraw < 0.55) {
          address = fakePostalAddress(hashKey(piiKey, index, 2));
          counts.postalAddressRows++;
        }
      }
      emails.push(email);
      addresses.push(address);
      if (usePool) counts.poolCookies++;
    }
    done += n;
    counts.rows += cookieIds.length;
    if (cookieIds.length > 0) {
      yield {
        numRows: cookieIds.length,
        columns: { cookie_id: cookieIds, segment_ids: segmentIds, updated_at: Float64Array.from(updatedAt), email: emails, postal_address: addresses },
      };
    }
    onRows?.(n);
  }
}

/** Writes the segment snapshot of day `plan.day` (Parquet, then `_SUCCESS`). */
export async function writeSegments(
  uri: string,
  run: LogRun,
  plan: SnapshotPlan & { force: boolean; onRows?: (n: number) => void },
): Promise<{ marker: DatasetMarker; counts: SegmentCounts }> {
  const counts: SegmentCounts = { rows: 0, piiRows: 0, emailRows: 0, postalAddressRows: 0, poolCookies: 0 };
  const marker = await writeDataset(uri, segmentDataSchema, segmentBatches(run, plan, counts, plan.onRows), {
    overwrite: plan.force,
    compression: 'zstd',
    // Smaller files than the writer's 1M default: 1M segment rows peak at ~0.65 GB instead of ~1 GB, and write faster.
    rowsPerFile: 250_000,
    extra: { generator: 'courier generate', seed: run.seed, catalogue: plan.catalogue, day: plan.day, dates: plan.dates },
  });
  return { marker, counts };
}
