import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../../queue-bridge/index.ts';
import { joinUri, toStorageUri } from '../../../storage/index.ts';
import { startPartnerStub, StreamingSyncer, type PartnerStub } from '../../../deliverer/index.ts';
import { serveMetrics } from '../../../queue-bridge/index.ts';
import { enqueue, requestsFor, stubPartner, syncerSettings } from './syncer-fixtures.ts';

let dir: string;
let stub: PartnerStub;
let broker: EmbeddedBroker;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-metrics-'));
  stub = await startPartnerStub();
  broker = new EmbeddedBroker();
});
afterEach(async () => {
  await broker.close();
  await stub.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('syncer metrics and logs', () => {
  it('counts sent, delivered, retried and dead-lettered per partner on GET /metrics, and never logs a secret header', async () => {
    const secret = 'Bearer very-secret-token-4711';
    let logged = '';
    const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }));
    stub.setBehaviour('picky', { fixedStatus: 400 });
    stub.setBehaviour('flaky', { errorRate: 0.3 });
    await enqueue(broker, requestsFor(1, 30));
    await enqueue(broker, requestsFor(2, 10));
    await enqueue(broker, requestsFor(3, 40));
    const auth = { Authorization: { secret, source: '<from env TOKEN>' }, 'Content-Type': 'application/json' };
    const syncer = new StreamingSyncer({
      broker,
      partners: [
        stubPartner(stub.url, 1, 'acme', { headers: auth }),
        stubPartner(stub.url, 2, 'picky', { headers: auth }),
        stubPartner(stub.url, 3, 'flaky', { headers: auth, retry: { maxAttempts: 30, baseDelayMs: 1, maxDelayMs: 5 } }),
      ],
      settings: syncerSettings(joinUri(toStorageUri(dir), 'dead-letters')),
      logger,
    });
    const server = await serveMetrics(syncer.metrics.registry, 0, '127.0.0.1');
    try {
      syncer.start();
      await syncer.untilDrained({ pollMs: 20 });
      const summary = await syncer.stop();
      const flakyRetries = summary.partners[2]!.retried;
      expect(flakyRetries).toBeGreaterThan(0);

      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(value('courier_sync_requests_delivered_total{partner="acme"}')).toBe(30);
      expect(value('courier_sync_requests_sent_total{partner="acme",outcome="2xx"}')).toBe(30);
      expect(value('courier_sync_requests_sent_total{partner="picky",outcome="4xx"}')).toBe(10);
      expect(value('courier_sync_requests_dead_lettered_total{partner="picky",outcome="4xx"}')).toBe(10);
      expect(value('courier_sync_requests_delivered_total{partner="flaky"}')).toBe(40);
      expect(value('courier_sync_requests_retried_total{partner="flaky",outcome="5xx"}')).toBe(flakyRetries);
      expect(value('courier_sync_request_duration_seconds_count{partner="flaky"}')).toBe(40 + flakyRetries);
      expect(value('courier_sync_requests_in_flight{partner="acme"}')).toBe(0);
      expect(text).toMatch(/^courier_sync_process_resident_memory_bytes /m);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
    // Requests went out with the header (the golden test shows it sent); the logs, at trace with failures and dead
    // letters, never show it.
    expect(stub.stats()['acme']!.accepted).toBe(30);
    expect(logged).toMatch(/dead letters written/);
    expect(logged).not.toContain('very-secret-token');
  });
});
