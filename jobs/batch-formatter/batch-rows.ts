/**
 * How one row of a batch file is written from data sync requests, for both template shapes. Every value is
 * checked before it is written: one containing the delimiter, the segment delimiter (inside lists) or a line
 * break would shift the partner's columns or split a row, so it is refused with a FieldFormatError naming the
 * request and field (the job counts and quarantines such requests; see docs/batch-formatter.md).
 */
import { FieldFormatError, formatExpiry, joinList } from '../../udfs/index.ts';
import { memberFieldOf, type BatchFormatterParams, type BatchTemplate } from './batch-params.ts';

/** The latest data sync request of one cookie: what a row is made from. */
export type CookieRequest = {
  cookie_id: string;
  partner_user_id: string;
  segments: string[];
  expires_at: number;
  request_id: string;
};

const LINE_BREAK = /[\r\n]/;

/** Refuses a value that would break the row: empty, or holding the delimiter, `listDelimiter` or a line break. */
function checked(value: string, what: string, t: BatchTemplate, listDelimiter?: string): string {
  if (value.length === 0) throw new FieldFormatError(`${what} is empty; the row would have no identifier there`);
  if (value.includes(t.delimiter)) {
    throw new FieldFormatError(`${what} ${JSON.stringify(value)} contains the delimiter ${JSON.stringify(t.delimiter)}; fix the value or choose another delimiter`);
  }
  if (listDelimiter !== undefined && value.includes(listDelimiter)) {
    throw new FieldFormatError(
      `${what} ${JSON.stringify(value)} contains the segment delimiter ${JSON.stringify(listDelimiter)}; fix the value or choose another segmentDelimiter`,
    );
  }
  if (LINE_BREAK.test(value)) throw new FieldFormatError(`${what} ${JSON.stringify(value)} contains a line break, which would split the row`);
  return value;
}

function whereOf(r: CookieRequest): string {
  return `request ${r.request_id} (cookie ${r.cookie_id})`;
}

/** The extra fields after the template's fields, each preceded by the delimiter. */
function extraColumns(t: BatchTemplate, expiresAt: number): string {
  let out = '';
  for (const spec of Object.values(t.extraFields)) out += t.delimiter + ('value' in spec ? spec.value : formatExpiry(expiresAt, spec.expiresAt.format));
  return out;
}

/** The line (without its newline) of a `groupBy: cookie` row; throws FieldFormatError on a value that would break it. */
export function cookieLine(r: CookieRequest, p: BatchFormatterParams): string {
  const t = p.partner.template;
  const where = whereOf(r);
  const columns = t.fields.map((f) => {
    switch (f) {
      case 'cookie_id':
        return checked(r.cookie_id, `${where}: cookie_id`, t);
      case 'partner_user_id':
        return checked(r.partner_user_id, `${where}: partner_user_id`, t);
      case 'segments':
        // joinList refuses codes holding the segment delimiter or a line break; the column delimiter is checked here.
        for (const code of r.segments) checked(code, `${where}: segment code`, t);
        return joinList(r.segments, t.segmentDelimiter, `${where}: segments`);
      case 'expires_at':
        return formatExpiry(r.expires_at, 'iso8601');
      case 'request_id':
        return checked(r.request_id, `${where}: request_id`, t);
      case 'partner_id':
        return String(p.partner.id);
      case 'segment':
        throw new FieldFormatError('"segment" is a field of groupBy: segment templates');
    }
  });
  return columns.join(t.delimiter) + extraColumns(t, r.expires_at);
}

/** The member a `groupBy: segment` row lists for this request, checked; its segment codes are checked too. */
export function segmentMember(r: CookieRequest, p: BatchFormatterParams): string {
  const t = p.partner.template;
  const where = whereOf(r);
  for (const code of r.segments) checked(code, `${where}: segment code`, t);
  const field = memberFieldOf(t);
  return checked(r[field], `${where}: ${field}`, t, t.segmentDelimiter);
}

/** Checks that a request can be written in the partner's shape (throws FieldFormatError otherwise). */
export function checkRequest(r: CookieRequest, p: BatchFormatterParams): void {
  if (p.partner.template.groupBy === 'cookie') cookieLine(r, p);
  else segmentMember(r, p);
}

/**
 * A `groupBy: segment` row around its member list: `head` is every column before the list (and the delimiter
 * after them), `tail` the delimiter and every column after it. `expiresAt` is the latest expiry of the members.
 */
export function segmentRowParts(code: string, expiresAt: number, p: BatchFormatterParams): { head: string; tail: string } {
  const t = p.partner.template;
  const member = memberFieldOf(t);
  const column = (f: string): string => {
    switch (f) {
      case 'segment':
        return code;
      case 'expires_at':
        return formatExpiry(expiresAt, 'iso8601');
      case 'partner_id':
        return String(p.partner.id);
      default:
        throw new FieldFormatError(`"${f}" is not a field of groupBy: segment templates`);
    }
  };
  const at = t.fields.indexOf(member);
  const before = t.fields.slice(0, at).map(column);
  const after = t.fields.slice(at + 1).map(column);
  return {
    head: before.map((c) => c + t.delimiter).join(''),
    tail: after.map((c) => t.delimiter + c).join('') + extraColumns(t, expiresAt),
  };
}
