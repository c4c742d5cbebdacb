/**
 * Day arithmetic on the logical date a job runs for (`YYYY-MM-DD`, UTC). Everything time-dependent in a run
 * (expiry, store age, the refresh rota) derives from it and never from the wall clock, so a re-run or a
 * backfill of a day gives the same output.
 */

export const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Midnight UTC starting `date`, in epoch milliseconds; RangeError unless `date` is a real `YYYY-MM-DD` day. */
export function dayStartMs(date: string): number {
  const m = DATE.exec(date);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || new Date(t).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`date: expected a calendar day as YYYY-MM-DD, got ${JSON.stringify(date)}`);
  }
  return t;
}

/** Days since 1970-01-01 (which is day 0). */
export function dayNumber(date: string): number {
  return dayStartMs(date) / DAY_MS;
}

/** The day `days` after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  if (!Number.isInteger(days)) throw new RangeError(`days: expected a whole number, got ${days}`);
  return new Date(dayStartMs(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** When a partner should drop data sent on `date`: midnight UTC `expiryDays` days after the start of `date`. */
export function expiryTimestamp(date: string, expiryDays: number): number {
  if (!Number.isInteger(expiryDays) || expiryDays < 1) throw new RangeError(`expiryDays: expected a whole number of days from 1, got ${expiryDays}`);
  return dayStartMs(date) + expiryDays * DAY_MS;
}
