import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatLogTimestamp,
  formatSyncTarget,
  formatWebappLogLine,
  MALFORMED_REASONS,
  parseLogTimestamp,
  parseWebappLogLine,
  type MalformedReason,
  type WebappLogFields,
} from '../../udfs/index.ts';

const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const COOKIE = 'OZf9ardREb4jTm949pDLcA';
const TS = Date.UTC(2026, 10, 23, 14, 5, 9, 123);

/** A good sync line with one field replaced. */
function line(over: Partial<Record<'ts' | 'host' | 'method' | 'target' | 'status' | 'cookie' | 'ua' | 'latency', string>> = {}): string {
  return [
    over.ts ?? '2026-11-23T14:05:09.123Z',
    over.host ?? 'web-01',
    over.method ?? 'GET',
    over.target ?? '/sync?partner=17&puid=5E52E225F471F5F0',
    over.status ?? '200',
    over.cookie ?? COOKIE,
    over.ua ?? UA,
    over.latency ?? '3',
  ].join('\t');
}

describe('formatWebappLogLine', () => {
  it('writes the eight tab-separated fields (golden line)', () => {
    const fields: WebappLogFields = {
      ts: TS,
      host: 'web-01',
      method: 'GET',
      target: formatSyncTarget(17, '5E52E225F471F5F0'),
      status: 200,
      cookieId: COOKIE,
      userAgent: UA,
      latencyMs: 3,
    };
    expect(formatWebappLogLine(fields)).toBe(`2026-11-23T14:05:09.123Z\tweb-01\tGET\t/sync?partner=17&puid=5E52E225F471F5F0\t200\t${COOKIE}\t${UA}\t3`);
  });

  it('writes "-" for a missing cookie id and user agent', () => {
    const text = formatWebappLogLine({ ts: TS, host: 'web-02', method: 'GET', target: '/healthz', status: 200, cookieId: null, userAgent: '', latencyMs: 0 });
    expect(text).toBe('2026-11-23T14:05:09.123Z\tweb-02\tGET\t/healthz\t200\t-\t-\t0');
  });

  it('formats timestamps like toISOString, across hour, day and year boundaries', () => {
    for (const t of [0, TS, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), Date.UTC(2028, 1, 29, 12, 0, 0, 7), TS + 3_600_000, TS]) {
      expect(formatLogTimestamp(t)).toBe(new Date(t).toISOString());
    }
  });

  it('percent-encodes partner user ids in sync targets', () => {
    expect(formatSyncTarget(42, 'a+b/c==')).toBe('/sync?partner=42&puid=a%2Bb%2Fc%3D%3D');
  });

  it('round-trips through the parser', () => {
    const text = formatWebappLogLine({ ts: TS, host: 'web-03', method: 'GET', target: formatSyncTarget(42, 'x/y+z='), status: 302, cookieId: COOKIE, userAgent: UA, latencyMs: 12 });
    expect(parseWebappLogLine(text)).toEqual({ kind: 'sync', ts: TS, cookieId: COOKIE, partnerId: 42, partnerUserId: 'x/y+z=', host: 'web-03' });
  });
});

describe('parseWebappLogLine', () => {
  it('reads a cookie sync (golden)', () => {
    expect(parseWebappLogLine(line())).toEqual({ kind: 'sync', ts: TS, cookieId: COOKIE, partnerId: 17, partnerUserId: '5E52E225F471F5F0', host: 'web-01' });
  });

  it('finds partner and puid in any order, with other parameters, and ignores one trailing \\r', () => {
    const r = parseWebappLogLine(line({ target: '/sync?puid=8861843281961094521&partner=42&gdpr=0' }) + '\r');
    expect(r).toMatchObject({ kind: 'sync', partnerId: 42, partnerUserId: '8861843281961094521' });
    expect(parseWebappLogLine(line({ target: '/sync?partner=17&puid=abc&cb=3451768993' }))).toMatchObject({ kind: 'sync', partnerUserId: 'abc' });
    expect(parseWebappLogLine(line({ target: '/sync?partner=17&partner=42&puid=abc' }))).toMatchObject({ kind: 'sync', partnerId: 17 });
  });

  it('decodes percent-encoded partner user ids', () => {
    expect(parseWebappLogLine(line({ target: '/sync?partner=17&puid=q%2Bw%2Fe%3D%3D' }))).toMatchObject({ kind: 'sync', partnerUserId: 'q+w/e==' });
  });

  it('says other for requests that are not syncs', () => {
    for (const target of ['/', '/products/45954', '/px.gif?e=pv&p=64661&cb=961791535', '/syncs?partner=17&puid=x', '/sync-settings', '/static/sync.js', '/api/v1/events?partner=x']) {
      expect(parseWebappLogLine(line({ target }))).toEqual({ kind: 'other' });
    }
    expect(parseWebappLogLine(line({ method: 'POST', target: '/api/v1/events', status: '204' }))).toEqual({ kind: 'other' });
  });

  it('says other for a well-formed /sync without our cookie or with a failed status', () => {
    expect(parseWebappLogLine(line({ cookie: '-' }))).toEqual({ kind: 'other' });
    expect(parseWebappLogLine(line({ status: '503' }))).toEqual({ kind: 'other' });
    expect(parseWebappLogLine(line({ status: '404' }))).toEqual({ kind: 'other' });
    expect(parseWebappLogLine(line({ status: '302' }))).toMatchObject({ kind: 'sync' });
  });

  // One golden example (or more) of every malformed reason.
  const MALFORMED: [MalformedReason, string][] = [
    ['empty', ''],
    ['empty', '\r'],
    ['over-long', line({ ua: 'x'.repeat(65_536) })],
    ['over-long', '\u0000'.repeat(70_000)],
    ['garbage', line({ ua: 'Mozilla\u0000\u0001junk' })],
    ['garbage', line({ target: '/sync?partner=17&puid=\ufffd\ufffd' })],
    ['garbage', '\ufffd\ufffd\u001b[0m\u007f'],
    ['field-count', line().slice(0, 60)],
    ['field-count', line().split('\t').slice(0, 7).join('\t')],
    ['field-count', line() + '\textra'],
    ['field-count', 'just some text'],
    ['missing-field', line({ host: '' })],
    ['missing-field', line({ method: '' })],
    ['missing-field', line({ target: '' })],
    ['missing-field', line({ ua: '' })],
    ['bad-timestamp', line({ ts: '1763906709' })],
    ['bad-timestamp', line({ ts: '[23/Nov/2026:14:05:09 +0000]' })],
    ['bad-timestamp', line({ ts: '2026-11-23 14:05:09.123' })],
    ['bad-timestamp', line({ ts: '2026-11-23T14:05:09Z' })],
    ['bad-timestamp', line({ ts: '2026-13-23T14:05:09.123Z' })],
    ['bad-timestamp', line({ ts: '2026-02-30T14:05:09.123Z' })],
    ['bad-timestamp', line({ ts: '2026-11-23T24:05:09.123Z' })],
    ['bad-timestamp', line({ ts: '-' })],
    ['bad-timestamp', line({ ts: '' })],
    ['bad-method', line({ method: 'get' })],
    ['bad-method', line({ method: 'G3T' })],
    ['bad-status', line({ status: 'OK' })],
    ['bad-status', line({ status: '2000' })],
    ['bad-status', line({ status: '099' })],
    ['bad-status', line({ status: '600' })],
    ['bad-latency', line({ latency: '-1' })],
    ['bad-latency', line({ latency: '3.5' })],
    ['bad-latency', line({ latency: '' })],
    ['bad-cookie-id', line({ cookie: COOKIE.slice(0, 21) })],
    ['bad-cookie-id', line({ cookie: `${COOKIE.slice(0, 10)}+/${COOKIE.slice(12)}` })],
    ['bad-cookie-id', line({ cookie: `${COOKIE}==` })],
    ['bad-cookie-id', line({ cookie: 'null' })],
    ['bad-cookie-id', line({ cookie: '' })],
    ['bad-partner', line({ target: '/sync?partner=acme&puid=abc' })],
    ['bad-partner', line({ target: '/sync?partner=17x&puid=abc' })],
    ['bad-partner', line({ target: '/sync?partner=&puid=abc' })],
    ['bad-partner', line({ target: '/sync?partner=-17&puid=abc' })],
    ['bad-partner', line({ target: '/sync?partner=0&puid=abc' })],
    ['bad-partner', line({ target: '/sync?partner=1e3&puid=abc' })],
    ['bad-partner', line({ target: '/sync?partner=%31%37&puid=abc' })],
    ['bad-partner', line({ target: '/sync?partner=99999999999&puid=abc' })],
    ['bad-partner', line({ target: '/sync?puid=abc' })],
    ['bad-partner', line({ target: '/sync' })],
    ['bad-partner', line({ target: '/sync?partner=acme&puid=abc', cookie: '-' })],
    ['missing-puid', line({ target: '/sync?partner=17' })],
    ['missing-puid', line({ target: '/sync?partner=17&puid=' })],
    ['missing-puid', line({ target: '/sync?partner=17&puid' })],
    ['bad-puid', line({ target: '/sync?partner=17&puid=%E0%A4%A' })],
    ['bad-puid', line({ target: '/sync?partner=17&puid=a+b' })],
    ['bad-puid', line({ target: '/sync?partner=17&puid=%09tab' })],
    ['bad-puid', line({ target: '/sync?partner=17&puid= PUID-42' })],
    ['bad-puid', line({ target: '/sync?partner=17&puid=PU ID&cb=1' })],
    ['bad-puid', line({ target: `/sync?partner=17&puid=${'x'.repeat(257)}` })],
  ];

  it.each(MALFORMED)('says malformed (%s) for %j', (reason, text) => {
    expect(parseWebappLogLine(text)).toEqual({ kind: 'malformed', reason });
  });

  it('has a golden example for every reason', () => {
    expect(new Set(MALFORMED.map(([r]) => r))).toEqual(new Set(MALFORMED_REASONS));
  });

  it('accepts the largest partner id and a 256-character puid', () => {
    expect(parseWebappLogLine(line({ target: `/sync?partner=2147483647&puid=${'x'.repeat(256)}` }))).toMatchObject({ kind: 'sync', partnerId: 2147483647 });
    expect(parseWebappLogLine(line({ target: '/sync?partner=2147483648&puid=x' }))).toEqual({ kind: 'malformed', reason: 'bad-partner' });
  });

  it('parses timestamps strictly', () => {
    expect(parseLogTimestamp('2028-02-29T00:00:00.000Z')).toBe(Date.UTC(2028, 1, 29));
    expect(parseLogTimestamp('2027-02-29T00:00:00.000Z')).toBeNaN();
    expect(parseLogTimestamp('2026-11-23T14:05:09.123+01:00')).toBeNaN();
    // Years below 100 are those years, not 1900-1999 as Date.UTC would read them (a damaged '2026' as '0026').
    expect(new Date(parseLogTimestamp('0026-11-23T14:05:09.123Z')).toISOString()).toBe('0026-11-23T14:05:09.123Z');
    expect(new Date(parseLogTimestamp('0000-02-29T00:00:00.000Z')).toISOString()).toBe('0000-02-29T00:00:00.000Z');
  });
});

describe('parseLogTimestamp keeps the last hour it met', () => {
  it('reads any instant right, in any order: hour reuse never leaks into another hour', () => {
    const first = Date.parse('0000-01-01T00:00:00.000Z');
    const last = Date.parse('9999-12-31T23:59:59.999Z');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: first, max: last }), { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 3_599_999 }), (instants, step) => {
        // Each instant with neighbours in the same hour or the next and previous ones.
        for (const ms of instants.flatMap((t) => [t, t + step, t - step])) {
          if (ms < first || ms > last) continue;
          expect(parseLogTimestamp(new Date(ms).toISOString())).toBe(ms);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a day the month does not have right after a good hour of the day before', () => {
    expect(parseLogTimestamp('2026-02-28T23:10:00.000Z')).toBe(Date.UTC(2026, 1, 28, 23, 10));
    expect(parseLogTimestamp('2026-02-29T23:10:00.000Z')).toBeNaN();
    expect(parseLogTimestamp('2024-02-29T23:10:00.000Z')).toBe(Date.UTC(2024, 1, 29, 23, 10));
    expect(parseLogTimestamp('0004-02-29T01:00:00.000Z')).toBe(Date.parse('0004-02-29T01:00:00.000Z'));
    expect(parseLogTimestamp('0004-02-29T01:59:59.999Z')).toBe(Date.parse('0004-02-29T01:59:59.999Z'));
  });
});
