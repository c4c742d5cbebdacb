/**
 * The refresher as one engine job of two steps (docs/refresher.md):
 *
 * 1. `merge-store`: the day's webapp logs → cookie-sync events (non-sync lines counted, malformed lines and bad
 *    ids rejected with their reason) merged with the previous cookie-sync store version into today's
 *    (latest partner user id, first and last seen), old entries expired.
 * 2. `requests`: today's store joined with today's and the previous segment snapshot (read through the
 *    column allowlist, so PII is never decoded) → data sync requests per partner and priority.
 *
 * A module of its own with a `source`, so the local runner's workers can load the job.
 */
import { defineJob, type MapContext } from '../../engine/index.ts';
import { DAY_MS, dayStartMs, normaliseCookieId, normalisePartnerUserId, parseWebappLogLine } from '../../udfs/index.ts';
import { dataSyncRequestSchema } from './data-sync-request.ts';
import {
  cookieSyncStoreSchema,
  REFRESHER_DATASET_NAMES as N,
  SEGMENT_DATA_ALLOWED_COLUMNS,
  segmentInputSchema,
} from './refresher-datasets.ts';
import { parseRefresherParams, type RefresherParams } from './refresher-params.ts';
import { RequestPlanner, type StoreEntry } from './request-planner.ts';

/** A (cookie, partner) sync on the shuffle: partner user id of the latest sync, first and last seen. */
interface Seen {
  u: string;
  f: number;
  l: number;
}

/** Folds syncs of one (cookie, partner): the latest wins (ties: the larger partner user id), first seen is the earliest. */
function latestOf(values: Iterable<Seen>): Seen {
  let acc: Seen | undefined;
  for (const v of values) {
    if (!acc) acc = { ...v };
    else {
      if (v.l > acc.l || (v.l === acc.l && v.u > acc.u)) {
        acc.l = v.l;
        acc.u = v.u;
      }
      if (v.f < acc.f) acc.f = v.f;
    }
  }
  return acc!;
}

/** A value of the requests join: a store entry, today's segment ids, or the previous snapshot's. */
type JoinValue = { p: number; u: string; f: number; l: number } | { s: number[] } | { q: number[] };

/** Union of segment id lists (a cookie listed twice in one snapshot keeps all its ids, in a runner-independent way). */
function unionIds(lists: number[][]): number[] {
  return lists.length === 1 ? lists[0]! : [...new Set(lists.flat())].sort((a, b) => a - b);
}

/**
 * How far outside the run's day a sync's time may be and still count: hourly files hold their hour's lines, so
 * anything further is damage (a flipped digit in the year made a sync that would win every merge for a decade).
 */
export const SYNC_TIME_SLACK_MS = 3_600_000;

// Per-run state built once per task from the parsed parameters, not once per key.
const planners = new WeakMap<RefresherParams, RequestPlanner>();
const storeCutoffs = new WeakMap<RefresherParams, { dayStart: number; expireBefore: number }>();

/** Midnight of the run date (new entries start there) and the last_seen before which entries expire. */
function storeCutoff(p: RefresherParams): { dayStart: number; expireBefore: number } {
  let c = storeCutoffs.get(p);
  if (!c) {
    const dayStart = dayStartMs(p.date);
    storeCutoffs.set(p, (c = { dayStart, expireBefore: dayStart - p.storeMaxAgeDays * DAY_MS }));
  }
  return c;
}

export const refresherJob = defineJob({
  name: 'refresher',
  description: 'webapp sync logs + segment data → cookie-sync store and data sync requests',
  params: { parse: parseRefresherParams },
  source: { module: import.meta.url, export: 'refresherJob' },
  steps: (step) => [
    step({
      name: 'merge-store',
      description: "extract cookie syncs from the day's logs and merge them into the previous store version",
      inputs: {
        logs: { format: 'lines', dataset: (p) => `${N.logs}/dt=${p.date}` },
        previousStore: {
          dataset: (p) => (p.previousStoreDate === null ? null : `${N.store}/dt=${p.previousStoreDate}`),
          optional: true,
          schema: cookieSyncStoreSchema,
        },
      },
      map: {
        logs: (r: { line: string }, ctx: MapContext<[string, number], Seen, RefresherParams>) => {
          const rec = parseWebappLogLine(r.line);
          if (rec.kind === 'other') {
            ctx.count('extract', 'other-lines');
            return;
          }
          if (rec.kind === 'malformed') {
            ctx.reject(rec.reason);
            return;
          }
          const { dayStart } = storeCutoff(ctx.params);
          if (rec.ts < dayStart - SYNC_TIME_SLACK_MS || rec.ts >= dayStart + DAY_MS + SYNC_TIME_SLACK_MS) {
            ctx.reject('timestamp-outside-day', `${new Date(rec.ts).toISOString()} in the logs of ${ctx.params.date}`);
            return;
          }
          const cookie = normaliseCookieId(rec.cookieId);
          if (!cookie.ok) {
            ctx.reject(`cookie-id-${cookie.reason}`);
            return;
          }
          const puid = normalisePartnerUserId(rec.partnerUserId);
          if (!puid.ok) {
            ctx.reject(`partner-user-id-${puid.reason}`, `partner ${rec.partnerId}`);
            return;
          }
          ctx.count('extract', 'sync-lines');
          ctx.emit([cookie.id, rec.partnerId], { u: puid.id, f: rec.ts, l: rec.ts });
        },
        previousStore: (
          r: { cookie_id: string; partner_id: number; partner_user_id: string; first_seen: number; last_seen: number },
          ctx: MapContext<[string, number], Seen, RefresherParams>,
        ) => {
          ctx.count('store', 'previous-entries');
          ctx.emit([r.cookie_id, r.partner_id], { u: r.partner_user_id, f: r.first_seen, l: r.last_seen });
        },
      },
      combine: (key, values, ctx) => ctx.emit(key, latestOf(values)),
      reduce: (key, values, ctx) => {
        const seen = latestOf(values);
        const { dayStart, expireBefore } = storeCutoff(ctx.params);
        if (seen.l < expireBefore) {
          ctx.count('store', 'expired-entries');
          return;
        }
        ctx.count('store', seen.f >= dayStart ? 'new-entries' : 'known-entries');
        ctx.write({ cookie_id: key[0], partner_id: key[1], partner_user_id: seen.u, first_seen: seen.f, last_seen: seen.l });
      },
      output: { schema: cookieSyncStoreSchema, dataset: (p) => `${N.store}/dt=${p.date}` },
    }),
    step({
      name: 'requests',
      description: 'join the store with the segment snapshots into data sync requests per partner and priority',
      inputs: {
        store: { step: 'merge-store' },
        segments: { dataset: (p) => `${N.segments}/dt=${p.date}`, schema: segmentInputSchema, columns: SEGMENT_DATA_ALLOWED_COLUMNS },
        previousSegments: {
          dataset: (p) => (p.previousSegmentsDate === null ? null : `${N.segments}/dt=${p.previousSegmentsDate}`),
          optional: true,
          schema: segmentInputSchema,
          columns: SEGMENT_DATA_ALLOWED_COLUMNS,
        },
      },
      map: {
        store: (
          r: { cookie_id: string; partner_id: number; partner_user_id: string; first_seen: number; last_seen: number },
          ctx: MapContext<[string], JoinValue, RefresherParams>,
        ) => ctx.emit([r.cookie_id], { p: r.partner_id, u: r.partner_user_id, f: r.first_seen, l: r.last_seen }),
        segments: (r: { cookie_id: string; segment_ids: Int32Array }, ctx: MapContext<[string], JoinValue, RefresherParams>) =>
          ctx.emit([r.cookie_id], { s: Array.from(r.segment_ids) }),
        previousSegments: (r: { cookie_id: string; segment_ids: Int32Array }, ctx: MapContext<[string], JoinValue, RefresherParams>) =>
          ctx.emit([r.cookie_id], { q: Array.from(r.segment_ids) }),
      },
      reduce: (key, values, ctx) => {
        const entries: StoreEntry[] = [];
        const today: number[][] = [];
        const before: number[][] = [];
        for (const v of values) {
          if ('p' in v) entries.push({ partnerId: v.p, partnerUserId: v.u, firstSeen: v.f, lastSeen: v.l });
          else if ('s' in v) today.push(v.s);
          else before.push(v.q);
        }
        const duplicates = Math.max(0, today.length - 1) + Math.max(0, before.length - 1);
        if (duplicates > 0) ctx.count('segments', 'duplicate-cookie-rows', duplicates);
        if (entries.length === 0) {
          ctx.count('segments', 'cookies-without-sync');
          return;
        }
        if (today.length === 0) ctx.count('segments', 'synced-cookies-without-segments');
        let planner = planners.get(ctx.params);
        if (!planner) planners.set(ctx.params, (planner = new RequestPlanner(ctx.params)));
        const rows = planner.plan(
          key[0],
          entries,
          today.length ? unionIds(today) : null,
          before.length ? unionIds(before) : null,
          (outcome) => ctx.count('requests', outcome),
        );
        for (const row of rows) ctx.write(row);
      },
      output: {
        schema: dataSyncRequestSchema,
        dataset: (p) => `${N.requests}/dt=${p.date}`,
        partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'],
      },
    }),
  ],
});
