/**
 * The stateless rolling refresh: each known cookie is re-sent on one day out of every `everyDays`, chosen by a
 * hash of its id, so every cookie is re-sent at least that often without remembering when it last was, and
 * the work is spread evenly over the days.
 */
import { dayNumber } from './logical-date.ts';

/** FNV-1a (32-bit) over the UTF-16 code units of `s`; cookie ids are ASCII, so these are its bytes. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The cookie's slot in the rota: a number in [0, everyDays). */
export function refreshSlot(cookieId: string, everyDays: number): number {
  if (!Number.isInteger(everyDays) || everyDays < 1) throw new RangeError(`refreshEveryDays: expected a whole number from 1, got ${everyDays}`);
  return fnv1a(cookieId) % everyDays;
}

/** True when `cookieId` is due for its periodic re-send on `date`: its slot equals dayNumber(date) mod everyDays. */
export function isRefreshDue(cookieId: string, date: string, everyDays: number): boolean {
  return refreshSlot(cookieId, everyDays) === dayNumber(date) % everyDays;
}
