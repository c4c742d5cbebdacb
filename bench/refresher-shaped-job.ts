/**
 * The refresher's core as a map-reduce job, for bench/engine: sync events deduplicated to the latest per
 * (cookie, partner), joined with each cookie's segments. A module of its own so worker threads can load it.
 */
import { defineSchema } from '../storage/index.ts';
import { defineJob, logicalDate, type MapContext } from '../engine/index.ts';

export const syncEventSchema = defineSchema({ cookie_id: 'string', partner_id: 'int32', partner_user_id: 'string', ts: 'timestamp_ms' });
export const segmentRowSchema = defineSchema({ cookie_id: 'string', segment_ids: 'list<int32>' });
export const joinedSchema = defineSchema({
  cookie_id: 'string',
  partner_id: 'int32',
  partner_user_id: 'string',
  synced_at: 'timestamp_ms',
  segment_ids: 'list<int32>',
});

/** A value on the shuffle: a sync event (latest per partner so far) or the cookie's segment list. */
type Joined = { p: number; u: string; t: number } | { s: number[] };

/** Keeps the latest event per partner and any segment lists; shared by combine and reduce. */
function fold(values: Iterable<Joined>): { latest: Map<number, { u: string; t: number }>; segments: number[] | undefined } {
  const latest = new Map<number, { u: string; t: number }>();
  let segments: number[] | undefined;
  for (const v of values) {
    if ('s' in v) segments = v.s;
    else {
      const cur = latest.get(v.p);
      if (!cur || v.t > cur.t || (v.t === cur.t && v.u > cur.u)) latest.set(v.p, { u: v.u, t: v.t });
    }
  }
  return { latest, segments };
}

export function refresherShapedJob(options: { reducers?: number } = {}) {
  return defineJob({
    name: 'refresher-shaped',
    params: logicalDate,
    source: { module: import.meta.url, export: 'refresherShapedJob', args: [options] },
    steps: (step) => [
      step({
        name: 'latest-join',
        inputs: {
          events: { dataset: (p) => `bench/events/dt=${p.date}`, schema: syncEventSchema },
          segments: { dataset: (p) => `bench/segments/dt=${p.date}`, schema: segmentRowSchema },
        },
        map: {
          events: (r: { cookie_id: string; partner_id: number; partner_user_id: string; ts: number }, ctx: MapContext<[string], Joined>) =>
            ctx.emit([r.cookie_id], { p: r.partner_id, u: r.partner_user_id, t: r.ts }),
          segments: (r: { cookie_id: string; segment_ids: Int32Array }, ctx: MapContext<[string], Joined>) =>
            ctx.emit([r.cookie_id], { s: Array.from(r.segment_ids) }),
        },
        combine: (key, values, ctx) => {
          const { latest, segments } = fold(values);
          for (const [p, v] of latest) ctx.emit(key, { p, u: v.u, t: v.t });
          if (segments) ctx.emit(key, { s: segments });
        },
        reduce: (key, values, ctx) => {
          const { latest, segments } = fold(values);
          if (!segments) return;
          for (const [p, v] of latest) {
            ctx.write({ cookie_id: key[0], partner_id: p, partner_user_id: v.u, synced_at: v.t, segment_ids: Int32Array.from(segments) });
          }
        },
        shuffle: { reducers: options.reducers },
        output: { schema: joinedSchema, dataset: (p) => `bench/joined/dt=${p.date}` },
      }),
    ],
  });
}
