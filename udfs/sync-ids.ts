/**
 * Identifiers of a cookie sync: our cookie id, the partner's user id, and the request id that makes each data
 * sync request idempotent. Normalisers return a reason instead of throwing, so a job can count and quarantine
 * bad ids on its hot path without paying for exceptions.
 */
import { createHash } from 'node:crypto';
import { isWellFormedCookieId, MAX_PARTNER_USER_ID_LENGTH } from './webapp-log-line.ts';

/** Why an id was refused. */
export const ID_REJECT_REASONS = [
  /** Nothing left after trimming. */
  'empty',
  /** Our cookie id is not 22 base64url characters. */
  'bad-cookie-id',
  /** A partner user id longer than MAX_PARTNER_USER_ID_LENGTH characters. */
  'too-long',
  /** A control character (U+0000-U+001F, U+007F-U+009F) or U+FFFD (bytes that were not valid UTF-8). */
  'bad-character',
] as const;
export type IdRejectReason = (typeof ID_REJECT_REASONS)[number];

/** A normalised id, or why it was refused. */
export type IdCheck = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly reason: IdRejectReason };

const REJECT = Object.fromEntries(ID_REJECT_REASONS.map((reason) => [reason, Object.freeze({ ok: false as const, reason })])) as {
  [R in IdRejectReason]: { readonly ok: false; readonly reason: R };
};

const BAD_CHARACTER = /[\u0000-\u001f\u007f-\u009f\ufffd]/;

/** Our cookie id, trimmed of surrounding whitespace: 22 base64url characters. */
export function normaliseCookieId(raw: string): IdCheck {
  const id = raw.trim();
  if (id.length === 0) return REJECT.empty;
  if (!isWellFormedCookieId(id)) return REJECT['bad-cookie-id'];
  return { ok: true, id };
}

/** A partner's user id, trimmed: 1-256 characters, no control characters. Its content is otherwise the partner's. */
export function normalisePartnerUserId(raw: string): IdCheck {
  const id = raw.trim();
  if (id.length === 0) return REJECT.empty;
  if (id.length > MAX_PARTNER_USER_ID_LENGTH) return REJECT['too-long'];
  if (BAD_CHARACTER.test(id)) return REJECT['bad-character'];
  return { ok: true, id };
}

/**
 * The id of the data sync request for `cookieId` and `partnerId` on `date`: the first 128 bits of
 * SHA-256(date, partner, cookie) as 32 lower-case hex digits. Stable across runs and runners, so a re-run
 * re-sends the same ids and partners can drop duplicates; the same cookie on another day gets a new id.
 */
export function requestId(date: string, partnerId: number, cookieId: string): string {
  // The fields cannot contain `|` (a date, digits, base64url), so the encoding is unambiguous.
  return createHash('sha256').update(`${date}|${partnerId}|${cookieId}`).digest('hex').slice(0, 32);
}
