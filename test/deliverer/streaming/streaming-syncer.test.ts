import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../../queue-bridge/index.ts';
import { joinUri, toStorageUri } from '../../../storage/index.ts';
import { StreamingSyncer, maxHeldFor, startPartnerStub, type PartnerStub } from '../../../deliverer/index.ts';
import { enqueue, readDeadLetters, requestsFor, silentLogger, stubPartner, syncerSettings } from './syncer-fixtures.ts';

let dir: string;
let deadLetterUri: string;
let stub: PartnerStub;
let broker: EmbeddedBroker;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-syncer-'));
  deadLetterUri = joinUri(toStorageUri(dir), 'dead-letters');
  stub = await startPartnerStub({ seed: 7 });
  broker = new EmbeddedBroker({ visibilityTimeoutMs: 30_000 });
});
afterEach(async () => {
  await broker.close();
  await stub.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Runs a syncer over the queued items until they are drained, then stops it. */
async function syncAll(partners: ReturnType<typeof stubPartner>[], over = {}) {
  const syncer = new StreamingSyncer({ broker, partners, settings: syncerSettings(deadLetterUri, over), logger: silentLogger, random: () => 0.5 });
  const t0 = performance.now();
  syncer.start();
  await syncer.untilDrained({ pollMs: 20 });
  const summary = await syncer.stop();
  return { summary, ms: performance.now() - t0, syncer };
}

describe('streaming syncer', () => {
  it('delivers every request once, with its id as Idempotency-Key, and acknowledges it', async () => {
    await enqueue(broker, requestsFor(17, 300, 'high'));
    await enqueue(broker, requestsFor(17, 200, 'normal'));
    await enqueue(broker, requestsFor(42, 250));
    const { summary } = await syncAll([stubPartner(stub.url, 17, 'acme'), stubPartner(stub.url, 42, 'globex')]);

    expect(summary.partners.map((p) => [p.name, p.delivered, p.retried, p.deadLettered])).toEqual([
      ['acme', 500, 0, 0],
      ['globex', 250, 0, 0],
    ]);
    const stats = stub.stats();
    expect(stats['acme']).toMatchObject({ received: 500, accepted: 500, duplicates: 0, withoutKey: 0 });
    expect(stats['globex']).toMatchObject({ received: 250, accepted: 250, duplicates: 0, withoutKey: 0 });
    const ids = [...stub.acceptedIds('acme').keys()].sort();
    expect(ids).toEqual([...requestsFor(17, 300, 'high'), ...requestsFor(17, 200)].map((r) => r.requestId).sort());
    expect((await broker.stats()).map((q) => [q.queue, q.depth, q.inFlight])).toEqual([
      ['requests.17.high', 0, 0],
      ['requests.17.normal', 0, 0],
      ['requests.42.normal', 0, 0],
    ]);
    expect(await readDeadLetters(deadLetterUri)).toEqual([]);
  });

  it('does not retry a 400: one attempt each, then a dead letter with the answer, then the ack', async () => {
    stub.setBehaviour('picky', { fixedStatus: 400 });
    await enqueue(broker, requestsFor(5, 40));
    const { summary } = await syncAll([stubPartner(stub.url, 5, 'picky')]);

    expect(summary.partners[0]).toMatchObject({ delivered: 0, retried: 0, deadLettered: 40, attempts: 40 });
    expect(stub.stats()['picky']).toMatchObject({ received: 40, answered: { '400': 40 } });
    const letters = await readDeadLetters(deadLetterUri);
    expect(letters.map((l) => l['request_id']).sort()).toEqual(requestsFor(5, 40).map((r) => r.requestId).sort());
    expect(letters[0]).toMatchObject({
      partner_id: 5,
      priority: 'normal',
      attempts: 1,
      deliveries: 1,
      last_status: 400,
      last_error: 'HTTP 400: {"error":"refused by the partner stub"}',
    });
    expect(String(letters[0]!['path'])).toMatch(/^dt=\d{4}-\d{2}-\d{2}\/partner=5\/flush=\d{8}T\d{6}-\d+-\d+$/);
    expect((await broker.stats())[0]).toMatchObject({ depth: 0, inFlight: 0 });
  });

  it('retries 500s up to maxAttempts, then dead-letters with the last error', async () => {
    stub.setBehaviour('down', { errorRate: 1 });
    await enqueue(broker, requestsFor(6, 10));
    const { summary } = await syncAll([stubPartner(stub.url, 6, 'down', { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } })]);

    expect(summary.partners[0]).toMatchObject({ delivered: 0, retried: 20, deadLettered: 10, attempts: 30 });
    expect(stub.stats()['down']!.received).toBe(30);
    const letters = await readDeadLetters(deadLetterUri);
    expect(letters).toHaveLength(10);
    expect(letters.every((l) => l['attempts'] === 3 && l['last_status'] === 500 && l['last_error'] === 'HTTP 500: stub: internal error')).toBe(true);
  });

  it('retries connection resets and 5xx until delivered', async () => {
    stub.setBehaviour('flaky', { resetRate: 0.2, errorRate: 0.2 });
    await enqueue(broker, requestsFor(7, 200));
    const { summary } = await syncAll([stubPartner(stub.url, 7, 'flaky', { retry: { maxAttempts: 20, baseDelayMs: 1, maxDelayMs: 5 } })]);

    const stats = stub.stats()['flaky']!;
    expect(stats.accepted).toBe(200);
    expect(stats.answered['reset']).toBeGreaterThan(0);
    expect(stats.answered['500']).toBeGreaterThan(0);
    expect(summary.partners[0]).toMatchObject({ delivered: 200, deadLettered: 0 });
    expect(summary.partners[0]!.retried).toBe(stats.answered['reset']! + stats.answered['500']!);
  });

  it('waits at least Retry-After after a 429 before the next attempt', async () => {
    stub.setBehaviour('busy', { tooManyRate: 1, retryAfterSeconds: 1 });
    await enqueue(broker, requestsFor(8, 3));
    const { summary, ms } = await syncAll([stubPartner(stub.url, 8, 'busy', { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5000 } })]);

    expect(summary.partners[0]).toMatchObject({ delivered: 0, retried: 3, deadLettered: 3, attempts: 6 });
    // Backoff alone would be under 1 ms; the second attempts waited for the partner's one second.
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect((await readDeadLetters(deadLetterUri))[0]).toMatchObject({ attempts: 2, last_status: 429 });
  });

  it('keeps a partner within its rate limit (count over the elapsed time)', async () => {
    await enqueue(broker, requestsFor(9, 60));
    const rate = 100;
    const { summary, ms } = await syncAll([stubPartner(stub.url, 9, 'slow', { rateLimitPerSecond: rate })]);

    expect(summary.partners[0]!.delivered).toBe(60);
    // Burst is rate/20 = 5; the other 55 each needed a 10 ms slot.
    expect(stub.stats()['slow']!.received).toBeLessThanOrEqual(5 + Math.ceil((rate * ms) / 1000));
    expect(ms).toBeGreaterThanOrEqual(((60 - 5) * 1000) / rate - 1);
  });

  it('on stop, hands back the items it has not sent', async () => {
    stub.setBehaviour('down', { errorRate: 1 });
    await enqueue(broker, requestsFor(6, 50));
    const syncer = new StreamingSyncer({
      broker,
      partners: [stubPartner(stub.url, 6, 'down', { retry: { maxAttempts: 10, baseDelayMs: 5000, maxDelayMs: 5000 } })],
      settings: syncerSettings(deadLetterUri),
      logger: silentLogger,
      random: () => 0.9,
    });
    syncer.start();
    await waitFor(() => stub.stats()['down']!.received >= 8);
    const t0 = performance.now();
    const summary = await syncer.stop();
    // Items sleeping in a 4.5 s backoff were woken and released, not waited for.
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(summary.partners[0]!.delivered).toBe(0);
    expect(summary.partners[0]!.released).toBeGreaterThan(0);
    const [q] = await broker.stats();
    expect(q).toMatchObject({ depth: 50, inFlight: 0 });
    expect(summary.partners[0]!.released).toBe(50);
  });

  it('bounds what a lane holds by its rate and the lease', () => {
    const p = stubPartner('http://x', 1, 'p', { concurrency: 16, rateLimitPerSecond: 10 });
    const s = syncerSettings('file:///tmp/x', { receiveBatch: 500 });
    expect(maxHeldFor(p, s, 30_000)).toBe(75);
    expect(maxHeldFor({ ...p, rateLimitPerSecond: 1000 }, s, 30_000)).toBe(500);
    expect(maxHeldFor({ ...p, rateLimitPerSecond: 0.01 }, s, 30_000)).toBe(1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
