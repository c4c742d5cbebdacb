import { describe, expect, it } from 'vitest';
import { addDays, DAY_MS, dayNumber, dayStartMs, expiryTimestamp, isRefreshDue, refreshSlot } from '../../udfs/index.ts';

describe('day arithmetic', () => {
  it('starts days at midnight UTC and counts them from the epoch', () => {
    expect(dayStartMs('2026-11-23')).toBe(Date.UTC(2026, 10, 23));
    expect(dayNumber('1970-01-01')).toBe(0);
    expect(dayNumber('1970-01-08')).toBe(7);
    expect(dayNumber('2026-11-23')).toBe(20780);
  });

  it('adds days across months, years and leap days', () => {
    expect(addDays('2026-11-23', 8)).toBe('2026-12-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
    expect(addDays('2026-11-23', -90)).toBe('2026-08-25');
    expect(() => addDays('2026-11-23', 0.5)).toThrow(/days: expected a whole number/);
  });

  it('refuses dates that are not calendar days', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '26-11-23', '2026-11-23T00:00:00Z', '']) {
      expect(() => dayStartMs(bad), bad).toThrow(`date: expected a calendar day as YYYY-MM-DD, got ${JSON.stringify(bad)}`);
    }
  });
});

describe('expiryTimestamp', () => {
  it('is midnight UTC expiryDays after the logical date, never the wall clock', () => {
    expect(expiryTimestamp('2026-11-23', 30)).toBe(Date.UTC(2026, 11, 23));
    expect(expiryTimestamp('2026-11-23', 1)).toBe(Date.UTC(2026, 10, 24));
    expect(expiryTimestamp('2024-02-28', 1) - expiryTimestamp('2024-02-27', 1)).toBe(DAY_MS);
  });

  it('refuses expiryDays that are not whole days from 1', () => {
    for (const bad of [0, -3, 1.5, Number.NaN]) expect(() => expiryTimestamp('2026-11-23', bad)).toThrow(/expiryDays: expected a whole number of days from 1/);
    expect(() => expiryTimestamp('2026-11-31', 30)).toThrow(/date: expected a calendar day/);
  });
});

describe('refresh rota', () => {
  const cookies = Array.from({ length: 7000 }, (_, i) => Buffer.from(`cookie-${i}-0123456`).toString('base64url').slice(0, 22));

  it('re-sends every cookie exactly once in any refreshEveryDays consecutive days', () => {
    const days = Array.from({ length: 7 }, (_, i) => addDays('2026-11-20', i));
    for (const c of cookies.slice(0, 500)) expect(days.filter((d) => isRefreshDue(c, d, 7)).length).toBe(1);
  });

  it('spreads cookies evenly over the slots', () => {
    const perSlot = new Array(7).fill(0);
    for (const c of cookies) perSlot[refreshSlot(c, 7)]++;
    for (const n of perSlot) expect(n).toBeGreaterThan(850), expect(n).toBeLessThan(1150);
  });

  it('is due every day with refreshEveryDays 1 and refuses a bad period', () => {
    expect(isRefreshDue(cookies[0]!, '2026-11-23', 1)).toBe(true);
    expect(() => refreshSlot(cookies[0]!, 0)).toThrow(/refreshEveryDays: expected a whole number from 1, got 0/);
  });
});
