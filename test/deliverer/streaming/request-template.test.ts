import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compileRequestTemplate,
  RequestBuildError,
  TemplateError,
  type BuiltRequest,
} from '../../../deliverer/streaming/request-template.ts';
import type { PartnerStreamingSettings } from '../../../deliverer/streaming/streaming-settings.ts';
import type { SyncRequest } from '../../../queue-bridge/index.ts';

// Regenerate with UPDATE_GOLDEN=1 npx vitest run test/deliverer/streaming/request-template.test.ts and review the diff.
const GOLDEN = new URL('./golden/request-templates.json', import.meta.url);

function partner(over: Partial<PartnerStreamingSettings>): PartnerStreamingSettings {
  return {
    partnerId: 17,
    name: 'acme-dsp',
    url: 'http://127.0.0.1:8089/acme/segments?uid=${PARTNER_USER_ID}',
    method: 'POST',
    headers: {},
    concurrency: 4,
    rateLimitPerSecond: 100,
    timeoutMs: 1000,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
    ...over,
  };
}

// Values chosen to need every kind of escaping: spaces, quotes, &, =, /, unicode, a comma-free list.
const request: SyncRequest = {
  requestId: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  partnerId: 17,
  priority: 'high',
  cookieId: 'ck-1',
  partnerUserId: 'u "x"&y=z/ä',
  segments: ['acme-auto', 'a b', '55012'],
  removedSegments: [],
  syncedAt: Date.UTC(2026, 10, 23),
  expiresAt: Date.UTC(2026, 11, 23, 12, 30, 15, 999),
};

const cases: Record<string, Partial<PartnerStreamingSettings>> = {
  'example config (JSON body, macros in strings)': {
    headers: { 'Content-Type': 'application/json', 'X-Request-Id': '${REQUEST_ID}' },
    body: '{"user":"${PARTNER_USER_ID}","segments":"${SEGMENTS}","expires":"${EXPIRES_AT}"}',
  },
  'JSON body, macros as values': {
    body: '{"partner": ${PARTNER_ID}, "user": ${PARTNER_USER_ID}, "segments": ${SEGMENTS}, "priority": ${PRIORITY}, "note": "id \\"${REQUEST_ID}\\""}',
  },
  'GET with everything in the query': {
    method: 'GET',
    url: 'https://api.partner.example/v2/${PARTNER_ID}/sync?uid=${PARTNER_USER_ID}&seg=${SEGMENTS}&exp=${EXPIRES_AT}&p=${PRIORITY}#frag',
    headers: { Authorization: { secret: 'Bearer s3cret', source: '<from env ACME_TOKEN>' } },
  },
  'form body': {
    method: 'PUT',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'uid=${PARTNER_USER_ID}&segments=${SEGMENTS}&rid=${REQUEST_ID}',
  },
  'plain text body and templated header': {
    url: 'http://127.0.0.1:8089',
    headers: { 'X-Segments': '${SEGMENTS}', 'X-User': 'user-${REQUEST_ID}' },
    body: '${PARTNER_USER_ID}\t${SEGMENTS}\n',
  },
};

describe('request templates', () => {
  it('build requests as in the golden file', () => {
    const built: Record<string, BuiltRequest & { origin: string }> = {};
    for (const [name, over] of Object.entries(cases)) {
      const template = compileRequestTemplate(partner(over));
      built[name] = { origin: template.origin, ...template.build(request) };
    }
    if (process.env['UPDATE_GOLDEN']) writeFileSync(GOLDEN, `${JSON.stringify(built, null, 2)}\n`);
    expect(built).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });

  it('write JSON bodies that parse back to the request values', () => {
    const body = compileRequestTemplate(partner(cases['JSON body, macros as values']!)).build(request).body!;
    expect(JSON.parse(body)).toEqual({
      partner: 17,
      user: request.partnerUserId,
      segments: request.segments,
      priority: 'high',
      note: `id "${request.requestId}"`,
    });
    const quoted = compileRequestTemplate(partner(cases['example config (JSON body, macros in strings)']!)).build(request).body!;
    expect(JSON.parse(quoted)).toEqual({ user: request.partnerUserId, segments: 'acme-auto,a b,55012', expires: '2026-12-23T12:30:15Z' });
  });

  it('write url values that decode back, with commas between segment codes', () => {
    const built = compileRequestTemplate(partner(cases['GET with everything in the query']!)).build({ ...request, segments: ['x,y', 'z'] });
    expect(new URL(built.path, 'http://h').searchParams.get('uid')).toBe(request.partnerUserId);
    // Split on the literal commas first, then decode: a code holding a comma survives.
    const rawSeg = /[?&]seg=([^&]*)/.exec(built.path)![1]!;
    expect(rawSeg.split(',').map(decodeURIComponent)).toEqual(['x,y', 'z']);
    expect(built.body).toBeUndefined();
  });

  it('always send the request id as Idempotency-Key', () => {
    for (const over of Object.values(cases)) {
      expect(compileRequestTemplate(partner(over)).build(request).headers['idempotency-key']).toBe(request.requestId);
    }
  });

  it('refuse values that would break the request, naming the request', () => {
    const text = compileRequestTemplate(partner(cases['plain text body and templated header']!));
    expect(() => text.build({ ...request, segments: ['a,b'] })).toThrow(RequestBuildError);
    expect(() => text.build({ ...request, segments: ['a,b'] })).toThrow(/request 0f1e2d3c.*contains ","/);
    const header = compileRequestTemplate(partner({ headers: { 'X-User': '${PARTNER_USER_ID}' } }));
    expect(() => header.build({ ...request, partnerUserId: 'a\r\nInjected: 1' })).toThrow(/line break/);
  });

  it('refuse unusable templates when compiling, naming partner and field', () => {
    expect(() => compileRequestTemplate(partner({ url: 'http://${PARTNER_ID}.example/x' }))).toThrow(
      /partner acme-dsp \(17\) streaming.url: macros may appear in the path and query only/,
    );
    expect(() => compileRequestTemplate(partner({ url: 'ftp://x/y' }))).toThrow(TemplateError);
    expect(() => compileRequestTemplate(partner({ body: '${USER_ID}' }))).toThrow(/streaming.body: unknown macro \$\{USER_ID\}/);
    expect(() => compileRequestTemplate(partner({ body: '${PARTNER_ID' }))).toThrow(/not a macro/);
    expect(() => compileRequestTemplate(partner({ headers: { 'Idempotency-Key': 'x' } }))).toThrow(/sets Idempotency-Key/);
    expect(() => compileRequestTemplate(partner({ method: 'GET', body: 'x' }))).toThrow(/GET request carries no body/);
  });
});
