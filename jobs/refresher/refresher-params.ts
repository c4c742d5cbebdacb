/**
 * The refresher's parameters: plain data the CLI and the workflow runner build from the job config, checked
 * by a zod schema at run start (jobs do not read the config themselves).
 */
import { z } from 'zod';
import { dayStartMs } from '../../udfs/index.ts';

/** Queue priorities of data sync requests (the `priority=` partition of the requests dataset). */
export const REQUEST_PRIORITIES = ['high', 'normal'] as const;
export type RequestPriority = (typeof REQUEST_PRIORITIES)[number];

const day = z.string().refine(
  (s) => {
    try {
      dayStartMs(s);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'expected a calendar day as YYYY-MM-DD' },
);

const partner = z.strictObject({
  /** Our partner id, as in `partners[].id` of the config. */
  id: z.int().min(1).max(2147483647),
  /** Our segment id (digits) → the partner's segment code; unmapped segments are not sent. */
  segmentMap: z.record(z.string().regex(/^[0-9]+$/, { error: 'expected our segment id (digits only)' }), z.string().min(1)),
  /** Days the partner keeps a cookie in a segment; each request's expires_at is the run date plus this. */
  expiryDays: z.int().min(1).default(30),
  priority: z
    .strictObject({
      /** Priority of requests for cookies first seen with this partner on the run date. */
      newSync: z.enum(REQUEST_PRIORITIES).default('high'),
      /** Priority of re-sends of known cookies (changed segments or the rolling refresh). */
      refresh: z.enum(REQUEST_PRIORITIES).default('normal'),
    })
    .prefault({}),
  /** Send added codes in `segments` and removed codes in `removed_segments` instead of the full set. */
  deltas: z.boolean().default(false),
});

/** Validates the refresher's raw parameters; see docs/refresher.md. */
export const refresherParamsSchema = z
  .strictObject({
    /** The logical date: the day of logs and the segment snapshot to process. */
    date: day,
    /** The partners to build requests for. Syncs with other partners stay in the store but produce no requests. */
    partners: z.array(partner).min(1),
    /** A store entry whose last sync is older than this many days before the run date is dropped. */
    storeMaxAgeDays: z.int().min(1).default(90),
    /** Every known cookie is re-sent at least this often (one slot of a rolling rota per day). */
    refreshEveryDays: z.int().min(1).default(7),
    /** The date of the previous cookie-sync store version to merge into (null: none, a first run). */
    previousStoreDate: day.nullable().default(null),
    /** The date of the previous segment snapshot to compare with (null: none; changes are then not detected). */
    previousSegmentsDate: day.nullable().default(null),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<number>();
    p.partners.forEach((partner, i) => {
      if (seen.has(partner.id)) ctx.addIssue({ code: 'custom', path: ['partners', i, 'id'], message: `duplicate partner id ${partner.id}` });
      seen.add(partner.id);
    });
    for (const key of ['previousStoreDate', 'previousSegmentsDate'] as const) {
      const prev = p[key];
      if (prev !== null && !(prev < p.date)) ctx.addIssue({ code: 'custom', path: [key], message: `${prev} is not before the run date ${p.date}` });
    }
  });

/** Parsed refresher parameters (defaults filled). */
export type RefresherParams = z.output<typeof refresherParamsSchema>;
/** Refresher parameters as given (defaults optional). */
export type RefresherParamsInput = z.input<typeof refresherParamsSchema>;
/** One partner's parameters. */
export type RefresherPartner = RefresherParams['partners'][number];

/** Parses raw parameters; on bad input throws a TypeError listing every problem with its field path. */
export function parseRefresherParams(input: unknown): RefresherParams {
  const r = refresherParamsSchema.safeParse(input);
  if (!r.success) throw new TypeError(`\n${z.prettifyError(r.error)}`);
  return r.data;
}
