import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  errorClass,
  retryAfterMs,
  retryDelayMs,
  statusVerdict,
} from '../../../deliverer/streaming/retry-policy.ts';

const retry = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 3000 };

describe('retry policy', () => {
  it('retries 5xx and 429 only; other 4xx and 3xx give up', () => {
    expect([200, 201, 204, 299].map(statusVerdict)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect([500, 502, 503, 504, 599, 429].map(statusVerdict)).toEqual(Array(6).fill('retry'));
    expect([400, 401, 403, 404, 408, 409, 422, 301, 302, 100].map(statusVerdict)).toEqual(Array(10).fill('give-up'));
  });

  it('counts timeouts and resets as retryable, other errors as permanent', () => {
    expect(errorClass(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe('timeout');
    expect(errorClass(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))).toBe('timeout');
    expect(errorClass(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('network');
    expect(errorClass(new Error('other side closed', { cause: Object.assign(new Error('r'), { code: 'ECONNREFUSED' }) }))).toBe('network');
    expect(errorClass(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe('network');
    expect(errorClass(new TypeError('bad header'))).toBe('error');
  });

  it('full jitter: the delay lies in [0, min(max, base * 2^(n-1))) and covers the range', () => {
    for (let failed = 1; failed <= 8; failed++) {
      const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (failed - 1));
      expect(backoffDelayMs(failed, retry, () => 0)).toBe(0);
      expect(backoffDelayMs(failed, retry, () => 0.999999)).toBe(ceiling - 1);
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < 2000; i++) {
        const d = backoffDelayMs(failed, retry);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
        lo = Math.min(lo, d);
        hi = Math.max(hi, d);
      }
      // Jitter spreads: over 2000 draws the extremes reach the outer tenths of the range.
      expect(lo).toBeLessThan(ceiling * 0.1);
      expect(hi).toBeGreaterThan(ceiling * 0.9);
    }
    expect(backoffDelayMs(30, retry, () => 0.5)).toBe(1500);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Mon, 23 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Mon, 23 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-3', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });

  it('waits at least Retry-After, at most maxDelayMs', () => {
    expect(retryDelayMs(1, retry, 2000, () => 0.5)).toBe(2000);
    expect(retryDelayMs(1, retry, 60_000, () => 0.5)).toBe(retry.maxDelayMs);
    expect(retryDelayMs(1, retry, undefined, () => 0.5)).toBe(100);
    expect(retryDelayMs(5, retry, 10, () => 0.5)).toBe(1500);
  });
});
