import { describe, expect, it } from 'vitest';
import { MAX_PARTNER_USER_ID_LENGTH, normaliseCookieId, normalisePartnerUserId, requestId } from '../../udfs/index.ts';

const COOKIE = 'OZf9ardREb4jTm949pDLcA';

describe('normaliseCookieId', () => {
  it('accepts our 22-character base64url ids, trimmed', () => {
    expect(normaliseCookieId(COOKIE)).toEqual({ ok: true, id: COOKIE });
    expect(normaliseCookieId(`  ${COOKIE}\t`)).toEqual({ ok: true, id: COOKIE });
    expect(normaliseCookieId('-_-_-_-_-_-_-_-_-_-_-_')).toEqual({ ok: true, id: '-_-_-_-_-_-_-_-_-_-_-_' });
  });

  it('refuses empty and malformed ids with a reason', () => {
    expect(normaliseCookieId('')).toEqual({ ok: false, reason: 'empty' });
    expect(normaliseCookieId('   ')).toEqual({ ok: false, reason: 'empty' });
    for (const bad of ['-', COOKIE.slice(1), `${COOKIE}A`, 'diwyxSvz-g+/eeA9woePig', 'OZf9ardREb4jTm949pDLcé', 'OZf9ard Eb4jTm949pDLcA']) {
      expect(normaliseCookieId(bad), bad).toEqual({ ok: false, reason: 'bad-cookie-id' });
    }
  });
});

describe('normalisePartnerUserId', () => {
  it('keeps the partner style, trimmed', () => {
    for (const id of ['5E52E225F471F5F0', '4e1b1c52-3f43-4a25-9a3a-0d6a3c2f6f11', 'CAESEAbc-_x', 'a+b/c==', '1234567890123456789']) {
      expect(normalisePartnerUserId(id)).toEqual({ ok: true, id });
    }
    expect(normalisePartnerUserId(' 5E52E225F471F5F0 ')).toEqual({ ok: true, id: '5E52E225F471F5F0' });
  });

  it('refuses empty, over-long and control characters with a reason', () => {
    expect(normalisePartnerUserId('')).toEqual({ ok: false, reason: 'empty' });
    expect(normalisePartnerUserId(' \t ')).toEqual({ ok: false, reason: 'empty' });
    expect(normalisePartnerUserId('x'.repeat(MAX_PARTNER_USER_ID_LENGTH))).toEqual({ ok: true, id: 'x'.repeat(256) });
    expect(normalisePartnerUserId('x'.repeat(MAX_PARTNER_USER_ID_LENGTH + 1))).toEqual({ ok: false, reason: 'too-long' });
    for (const bad of ['a\tb', 'a\nb', 'a\u0000b', 'a\u007fb', 'a\u0085b', 'a\ufffdb']) {
      expect(normalisePartnerUserId(bad), JSON.stringify(bad)).toEqual({ ok: false, reason: 'bad-character' });
    }
  });
});

describe('requestId', () => {
  it('is 32 hex digits, stable for the same date, partner and cookie', () => {
    const id = requestId('2026-11-23', 17, COOKIE);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    // Pinned: it is the idempotency key partners see, so it must never change between releases.
    expect(id).toBe(requestId('2026-11-23', 17, COOKIE));
    expect(id).toBe('f742663a28975a820c3d11817674bffc');
  });

  it('differs when any part differs', () => {
    const ids = new Set([
      requestId('2026-11-23', 17, COOKIE),
      requestId('2026-11-24', 17, COOKIE),
      requestId('2026-11-23', 42, COOKIE),
      requestId('2026-11-23', 1, COOKIE),
      requestId('2026-11-23', 17, 'AZf9ardREb4jTm949pDLcA'),
    ]);
    expect(ids.size).toBe(5);
  });
});
