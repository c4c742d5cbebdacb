/**
 * The webapp sync log line (documented in docs/formats.md): one line per HTTP request a webapp server served,
 * eight tab-separated fields, no quoting:
 *
 *   ts  host  method  target  status  cookie_id  user_agent  latency_ms
 *
 * `ts` is ISO 8601 UTC with milliseconds (`2026-11-23T14:05:09.123Z`), `target` the request path with its query
 * string as received, `cookie_id` our 22-character base64url cookie id or `-` when the browser sent none,
 * `user_agent` the User-Agent header (`-` when absent). A cookie sync is a request to `/sync?partner=<id>&puid=<id>`
 * (parameters in any order, others allowed) answered 2xx/3xx and carrying our cookie id.
 *
 * The parser is the refresher's hot path (tens of millions of lines): native scans for garbage and tabs, fields
 * read in place (only those kept are sliced out), timestamps of the same hour without Date.UTC, and shared result
 * objects for the lines it drops.
 */

/** The fields of one log line, as the webapp writes them. */
export interface WebappLogFields {
  /** Time the request was served, epoch milliseconds UTC (an integer). */
  ts: number;
  /** The webapp server that served it, e.g. `web-01`. */
  host: string;
  /** HTTP method, upper case. */
  method: string;
  /** Path and query string as received (already URL-encoded; no tabs, spaces or newlines). */
  target: string;
  /** HTTP status code sent. */
  status: number;
  /** Our cookie id, or null when the browser sent none (written `-`). */
  cookieId: string | null;
  /** The User-Agent header; empty or null is written `-`. No tabs or newlines. */
  userAgent: string | null;
  /** Time to serve the request, whole milliseconds. */
  latencyMs: number;
}

/** The field names in line order (for docs, headers of debugging dumps). */
export const WEBAPP_LOG_FIELDS = ['ts', 'host', 'method', 'target', 'status', 'cookie_id', 'user_agent', 'latency_ms'] as const;

/** The path of the cookie-sync endpoint. */
export const SYNC_PATH = '/sync';

/** Why a line is malformed; the refresher counts lines per reason and samples them to quarantine. */
export const MALFORMED_REASONS = [
  /** An empty line (or only `\r`). */
  'empty',
  /** Longer than MAX_LOG_LINE_LENGTH characters (no request line and headers are that long). Checked second. */
  'over-long',
  /** Control characters or bytes that were not valid UTF-8 (decoded as U+FFFD). Checked before anything else. */
  'garbage',
  /** Not exactly 8 tab-separated fields (a truncated line, a dropped field). */
  'field-count',
  /** host, method, target or user_agent is empty. */
  'missing-field',
  /** ts is not `YYYY-MM-DDTHH:MM:SS.mmmZ` naming a real instant. */
  'bad-timestamp',
  /** method is not upper-case letters. */
  'bad-method',
  /** status is not a 3-digit code 100-599. */
  'bad-status',
  /** latency_ms is not a whole number. */
  'bad-latency',
  /** cookie_id is neither `-` nor 22 base64url characters. */
  'bad-cookie-id',
  /** A /sync request whose `partner` parameter is missing or not a whole number 1-2147483647. */
  'bad-partner',
  /** A /sync request without a non-empty `puid` parameter. */
  'missing-puid',
  /** A /sync request whose `puid` is badly percent-encoded, longer than 256 characters or holds a space. */
  'bad-puid',
] as const;
export type MalformedReason = (typeof MALFORMED_REASONS)[number];

/** What a line says, for the refresher: a cookie sync, any other request, or a malformed line. */
export type WebappLogRecord =
  | { kind: 'sync'; ts: number; cookieId: string; partnerId: number; partnerUserId: string; host: string }
  | { kind: 'other' }
  | { kind: 'malformed'; reason: MalformedReason };

export type WebappSyncRecord = Extract<WebappLogRecord, { kind: 'sync' }>;

/** Longest partner user id we accept (after percent-decoding). */
export const MAX_PARTNER_USER_ID_LENGTH = 256;
/**
 * Longest line we read as a request: web servers refuse request lines and headers past 8-16 KB, so a longer
 * line is damage (lines run together, binary junk) and is not scanned further.
 */
export const MAX_LOG_LINE_LENGTH = 65_536;
const COOKIE_ID_LENGTH = 22;
const MAX_PARTNER_ID = 2147483647;

// ---- formatting ----

const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const HOUR_MS = 3_600_000;
let cachedHourStart = Number.NaN;
let cachedHourPrefix = '';

/**
 * Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`, like Date#toISOString but faster for the sorted
 * timestamps of a log file (the `YYYY-MM-DDTHH:` prefix is reused within an hour). Years 0000-9999 only.
 */
export function formatLogTimestamp(ms: number): string {
  const t = Math.floor(ms);
  const hourStart = t - (((t % HOUR_MS) + HOUR_MS) % HOUR_MS);
  if (hourStart !== cachedHourStart) {
    cachedHourPrefix = new Date(hourStart).toISOString().slice(0, 14);
    cachedHourStart = hourStart;
  }
  const r = t - hourStart;
  const minute = (r / 60_000) | 0;
  const second = ((r / 1000) | 0) % 60;
  return `${cachedHourPrefix}${PAD2[minute]}:${PAD2[second]}.${PAD3[r % 1000]}Z`;
}

/** One log line, without its trailing newline. Fields must not contain tabs or newlines (not checked: hot path). */
export function formatWebappLogLine(f: WebappLogFields): string {
  return `${formatLogTimestamp(f.ts)}\t${f.host}\t${f.method}\t${f.target}\t${f.status}\t${f.cookieId ?? '-'}\t${f.userAgent || '-'}\t${f.latencyMs}`;
}

/** The canonical target of a cookie-sync request: `/sync?partner=17&puid=<percent-encoded partner user id>`. */
export function formatSyncTarget(partnerId: number, partnerUserId: string): string {
  return `${SYNC_PATH}?partner=${partnerId}&puid=${encodeURIComponent(partnerUserId)}`;
}

// ---- parsing ----

const OTHER: WebappLogRecord = Object.freeze({ kind: 'other' as const });
const MALFORMED = Object.fromEntries(MALFORMED_REASONS.map((reason) => [reason, Object.freeze({ kind: 'malformed' as const, reason })])) as {
  [R in MalformedReason]: Readonly<{ kind: 'malformed'; reason: R }>;
};

/** One character class, linear: C0 controls except tab, DEL, and the replacement character of undecodable bytes. */
const GARBAGE = /[\u0000-\u0008\u000a-\u001f\u007f\ufffd]/;

/** 1 for the 64 base64url characters. */
const BASE64URL = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') BASE64URL[c.charCodeAt(0)] = 1;

/** True for 22 base64url characters (our cookie id; the `-` of a request without cookie is not one). */
export function isWellFormedCookieId(s: string): boolean {
  return isCookieIdAt(s, 0, s.length);
}

/** Digits of `s` from `at`, `n` of them, as a number; -1 if any is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** A whole number of 1 to 15 digits at `s[from, to)`, or -1. */
function wholeNumberAt(s: string, from: number, to: number): number {
  const n = to - from;
  if (n === 0 || n > 15) return -1;
  return digits(s, from, n);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The last hour met, as its `YYYY-MM-DDTHH` text, and its start in epoch ms: a log file's timestamps run in order. */
let lastHourText = '';
let lastHourStart = 0;

/** Parses `YYYY-MM-DDTHH:MM:SS.mmmZ` strictly to epoch ms; NaN if it is anything else. */
export function parseLogTimestamp(s: string): number {
  return s.length === 24 ? timestampAt(s, 0) : Number.NaN;
}

/** Two digits of `s` at `at` as a number, or -1. */
function twoDigits(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The timestamp of the 24 characters of `s` from `at` (see parseLogTimestamp). Within the hour last met only
 * `MM:SS.mmmZ` is read: the `YYYY-MM-DDTHH` text is compared whole (a native compare) instead of parsed again.
 */
function timestampAt(s: string, at: number): number {
  if (s.charCodeAt(at + 13) !== 58 || s.charCodeAt(at + 16) !== 58 || s.charCodeAt(at + 19) !== 46 || s.charCodeAt(at + 23) !== 90) return Number.NaN;
  const minute = twoDigits(s, at + 14);
  const second = twoDigits(s, at + 17);
  const milli = digits(s, at + 20, 3);
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || milli < 0) return Number.NaN;
  const within = minute * 60_000 + second * 1000 + milli;
  if (lastHourText.length === 13 && s.startsWith(lastHourText, at)) return lastHourStart + within;
  if (s.charCodeAt(at + 4) !== 45 || s.charCodeAt(at + 7) !== 45 || s.charCodeAt(at + 10) !== 84) return Number.NaN; // - - T
  const year = digits(s, at, 4);
  const month = twoDigits(s, at + 5);
  const day = twoDigits(s, at + 8);
  const hour = twoDigits(s, at + 11);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return Number.NaN;
  const leap = month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 1 : 0;
  if (day > DAYS_IN_MONTH[month - 1]! + leap) return Number.NaN;
  // Date.UTC reads years 0-99 as 1900-1999; 400 Gregorian years later is the same calendar, 146097 days on.
  const start = year < 100 ? Date.UTC(year + 400, month - 1, day, hour) - 146_097 * 86_400_000 : Date.UTC(year, month - 1, day, hour);
  lastHourText = s.slice(at, at + 13);
  lastHourStart = start;
  return start + within;
}

/** The value of query parameter `name` in `query` (text after `?`), raw; undefined when absent. First one wins. */
function queryParam(query: string, name: string): string | undefined {
  let at = 0;
  const n = query.length;
  while (at <= n) {
    let end = query.indexOf('&', at);
    if (end < 0) end = n;
    if (end - at > name.length && query.charCodeAt(at + name.length) === 61 && query.startsWith(name, at)) {
      return query.slice(at + name.length + 1, end);
    }
    if (end - at === name.length && query.startsWith(name, at)) return '';
    at = end + 1;
  }
  return undefined;
}

/**
 * Classifies one log line (without its `\n`; one trailing `\r` is ignored). Checks, in order: empty, over-long, garbage,
 * field count, missing fields, timestamp, method, status, latency, cookie id, then for `/sync` requests the
 * partner and puid parameters. A well-formed `/sync` line is `other` when it carries no cookie id (`-`) or its
 * status is not 2xx/3xx: the webapp recorded no sync then.
 */
export function parseWebappLogLine(line: string): WebappLogRecord {
  if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
  const len = line.length;
  if (len === 0) return MALFORMED.empty;
  if (len > MAX_LOG_LINE_LENGTH) return MALFORMED['over-long'];
  // Native scans (a regular expression, indexOf) beat a JS loop over char codes by 2-4x here.
  if (GARBAGE.test(line)) return MALFORMED.garbage;
  const t0 = line.indexOf('\t');
  const t1 = t0 < 0 ? -1 : line.indexOf('\t', t0 + 1);
  const t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1);
  const t3 = t2 < 0 ? -1 : line.indexOf('\t', t2 + 1);
  const t4 = t3 < 0 ? -1 : line.indexOf('\t', t3 + 1);
  const t5 = t4 < 0 ? -1 : line.indexOf('\t', t4 + 1);
  const t6 = t5 < 0 ? -1 : line.indexOf('\t', t5 + 1);
  if (t6 < 0 || line.indexOf('\t', t6 + 1) >= 0) return MALFORMED['field-count'];
  // Fields: ts [0,t0) host (t0,t1) method (t1,t2) target (t2,t3) status (t3,t4) cookie (t4,t5) ua (t5,t6) latency (t6,len).
  if (t1 === t0 + 1 || t2 === t1 + 1 || t3 === t2 + 1 || t6 === t5 + 1) return MALFORMED['missing-field'];
  const ts = t0 === 24 ? timestampAt(line, 0) : Number.NaN;
  if (ts !== ts) return MALFORMED['bad-timestamp'];
  for (let i = t1 + 1; i < t2; i++) {
    const c = line.charCodeAt(i);
    if (c < 65 || c > 90) return MALFORMED['bad-method'];
  }
  const status = t4 - t3 === 4 ? digits(line, t3 + 1, 3) : -1;
  if (status < 100 || status > 599) return MALFORMED['bad-status'];
  if (wholeNumberAt(line, t6 + 1, len) < 0) return MALFORMED['bad-latency'];
  const noCookie = t5 - t4 === 2 && line.charCodeAt(t4 + 1) === 45;
  if (!noCookie && !isCookieIdAt(line, t4 + 1, t5)) return MALFORMED['bad-cookie-id'];

  // The sync endpoint: `/sync` exactly, with or without a query string.
  const pathEnd = t2 + 1 + SYNC_PATH.length;
  if (!line.startsWith(SYNC_PATH, t2 + 1) || (t3 > pathEnd && line.charCodeAt(pathEnd) !== 63) || t3 < pathEnd) return OTHER;
  const query = t3 > pathEnd ? line.slice(pathEnd + 1, t3) : '';
  const partnerText = queryParam(query, 'partner');
  const partnerId = partnerText === undefined || partnerText.length > 10 ? -1 : wholeNumberAt(partnerText, 0, partnerText.length);
  if (partnerId < 1 || partnerId > MAX_PARTNER_ID) return MALFORMED['bad-partner'];
  let puid = queryParam(query, 'puid');
  if (puid === undefined || puid.length === 0) return MALFORMED['missing-puid'];
  // A raw space is no more a puid character than an encoded one (a target arrives URL-encoded, without spaces).
  if (puid.indexOf(' ') >= 0) return MALFORMED['bad-puid'];
  if (puid.indexOf('%') >= 0 || puid.indexOf('+') >= 0) {
    try {
      puid = decodeURIComponent(puid.replaceAll('+', ' '));
    } catch {
      return MALFORMED['bad-puid'];
    }
    if (puid.indexOf(' ') >= 0 || GARBAGE.test(puid) || puid.indexOf('\t') >= 0) return MALFORMED['bad-puid'];
  }
  if (puid.length > MAX_PARTNER_USER_ID_LENGTH) return MALFORMED['bad-puid'];
  if (noCookie || status < 200 || status >= 400) return OTHER;
  return { kind: 'sync', ts, cookieId: line.slice(t4 + 1, t5), partnerId, partnerUserId: puid, host: line.slice(t0 + 1, t1) };
}

/** True when `s[from, to)` is 22 base64url characters (our cookie id). */
function isCookieIdAt(s: string, from: number, to: number): boolean {
  if (to - from !== COOKIE_ID_LENGTH) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || BASE64URL[c] === 0) return false;
  }
  return true;
}
