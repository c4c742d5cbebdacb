/**
 * The batch formatter job: one batch partner's data sync requests of a period, as the rows of its file, sorted.
 *
 * - step `latest` (many reducers): the latest request of each cookie over the period (by synced_at, then
 *   request_id), after checking every value the template will write (a request that would break the file is a
 *   bad record: counted, quarantined with its file and row, and bounded by maxBadRecordRate);
 * - step `format` (one reducer, so its output is one run in key order): the rows. A `groupBy: cookie` row is
 *   one output record holding the whole line; a `groupBy: segment` row is a head record (the columns around
 *   the member list) followed by one record per member, so a segment of millions of users never becomes one
 *   string. The file writer (batch-file-writer.ts) streams them into the file.
 */
import { defineJob, type MapContext } from '../../engine/index.ts';
import { defineSchema, projectSchema } from '../../storage/index.ts';
import { dataSyncRequestSchema } from '../refresher/data-sync-request.ts';
import { batchFormatterParams, memberFieldOf, type BatchFormatterParams } from './batch-params.ts';
import { batchFormatterDatasets } from './batch-period.ts';
import { checkRequest, cookieLine, segmentRowParts, type CookieRequest } from './batch-rows.ts';

/** The request columns the formatter reads. */
const REQUEST_COLUMNS = ['cookie_id', 'partner_user_id', 'segments', 'expires_at', 'request_id', 'synced_at'] as const;
const requestInputSchema = projectSchema(dataSyncRequestSchema, REQUEST_COLUMNS, 'batch formatter input');

/** Step `latest` output: the latest request per cookie. */
const latestSchema = requestInputSchema;

/**
 * Step `format` output, in file order: `head` set on the first record of each row (a whole cookie line, or the
 * columns of a segment row before its members, `tail` those after), `member` set on each member record.
 */
export const batchRowSchema = defineSchema({
  row_key: 'string',
  head: { type: 'string', nullable: true },
  tail: { type: 'string', nullable: true },
  member: { type: 'string', nullable: true },
});

/** Counter group of the job; `rows` (data rows of the file) and `members` (segment members) live in it. */
export const BATCH_COUNTERS = 'batch';

/** A cookie's request as it travels through the shuffle (short names: it is serialised per pair). */
interface Candidate {
  r: string;
  u: string;
  s: string[];
  e: number;
  t: number;
}

/** Later synced_at wins; on a tie the larger request_id, so every runner keeps the same one. */
function later(a: Candidate, b: Candidate): Candidate {
  if (a.t !== b.t) return a.t > b.t ? a : b;
  return a.r >= b.r ? a : b;
}

function latestOf(values: Iterable<Candidate>): Candidate {
  let best: Candidate | undefined;
  for (const v of values) best = best === undefined ? v : later(best, v);
  return best!;
}

/** Format-step keys: `[row key, 0, '']` heads a row, `[segment, 1, member]` is one member of a segment row. */
type RowKey = [string, 0, ''] | [string, 1, string];
/** Head values: the cookie line, or an expiry to take the latest of; members carry nothing. */
type RowValue = string | number | null;

export const batchFormatterJob = defineJob({
  name: 'batch-formatter',
  description: "One batch partner's data sync requests of a day or month, grouped and formatted as its template says.",
  params: batchFormatterParams,
  source: { module: import.meta.url, export: 'batchFormatterJob' },
  steps: (step) => [
    step({
      name: 'latest',
      inputs: {
        requests: {
          dataset: (p: BatchFormatterParams) => batchFormatterDatasets(p.partner, p.period).inputs,
          partitions: (p: BatchFormatterParams) => ({ partner_id: [p.partner.id] }),
          schema: requestInputSchema,
        },
      },
      map: {
        requests: (r: CookieRequest & { synced_at: number }, ctx: MapContext<[string], Candidate, BatchFormatterParams>) => {
          checkRequest(r, ctx.params);
          ctx.emit([r.cookie_id], { r: r.request_id, u: r.partner_user_id, s: r.segments, e: r.expires_at, t: r.synced_at });
        },
      },
      combine: (key, values, ctx) => ctx.emit(key, latestOf(values)),
      reduce: (key, values, ctx) => {
        const c = latestOf(values);
        ctx.write({ cookie_id: key[0], partner_user_id: c.u, segments: c.s, expires_at: c.e, request_id: c.r, synced_at: c.t });
      },
      output: { schema: latestSchema },
    }),
    step({
      name: 'format',
      inputs: { latest: { step: 'latest' } },
      map: {
        latest: (r: CookieRequest, ctx: MapContext<RowKey, RowValue, BatchFormatterParams>) => {
          const t = ctx.params.partner.template;
          if (t.groupBy === 'cookie') {
            ctx.emit([r.cookie_id, 0, ''], cookieLine(r, ctx.params));
            return;
          }
          const member = r[memberFieldOf(t)];
          for (const code of r.segments) {
            ctx.emit([code, 0, ''], r.expires_at);
            ctx.emit([code, 1, member], null);
          }
        },
      },
      combine: (key, values, ctx) => {
        if (key[1] === 1) return ctx.emit(key, null);
        let latest = -Infinity;
        for (const v of values) {
          if (typeof v === 'string') ctx.emit(key, v);
          else latest = Math.max(latest, v as number);
        }
        if (latest !== -Infinity) ctx.emit(key, latest);
      },
      reduce: (key, values, ctx) => {
        const [rowKey, kind] = key;
        if (kind === 1) {
          ctx.write({ row_key: rowKey, head: null, tail: null, member: key[2] });
          ctx.count(BATCH_COUNTERS, 'members');
          return;
        }
        let latest = -Infinity;
        for (const v of values) {
          if (typeof v === 'string') {
            ctx.write({ row_key: rowKey, head: v, tail: '', member: null });
            ctx.count(BATCH_COUNTERS, 'rows');
          } else latest = Math.max(latest, v as number);
        }
        if (latest !== -Infinity) {
          ctx.write({ row_key: rowKey, ...segmentRowParts(rowKey, latest, ctx.params), member: null });
          ctx.count(BATCH_COUNTERS, 'rows');
        }
      },
      shuffle: { reducers: 1 },
      output: { schema: batchRowSchema, dataset: (p: BatchFormatterParams) => batchFormatterDatasets(p.partner, p.period).rows },
    }),
  ],
});
