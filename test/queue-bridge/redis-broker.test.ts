import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker, requestBatchOf } from '../../queue-bridge/index.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { brokerContract, fill, request } from './broker-contract.ts';

let redis: TestRedis;
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
}, 600_000);
afterAll(async () => {
  await redis?.stop();
});

/** Each broker gets its own key prefix, so tests share one server without seeing each other's queues. */
const make = (options: { visibilityTimeoutMs: number }, prefix = `t${++n}:`, consumer?: string) =>
  new RedisBroker({ url: redis.url, keyPrefix: prefix, ...options, ...(consumer ? { consumer } : {}) });

brokerContract('redis', async (options) => make(options));

describe('redis broker', () => {
  it('rides out a Redis restart of a few seconds: a command sent while it is down completes once it is back', async () => {
    // Its own server with an append-only file, as production runs it (the shared one keeps no data).
    const persistDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-redis-aof-'));
    const own = await startRedis({ persistDir });
    try {
      const broker = new RedisBroker({ url: own.url, keyPrefix: 'restart:', visibilityTimeoutMs: 1000 });
      await fill(broker, 41, 'high', 0, 5);
      const restarted = own.restart(3000);
      await new Promise((r) => setTimeout(r, 200));
      // Sent while the server is down: before, ioredis gave up after 3 reconnections (MaxRetriesPerRequestError).
      const during = broker.stats();
      await restarted;
      expect((await during)[0]).toMatchObject({ depth: 5, nextSeq: 6 });
      // The restart emptied Redis's script cache: the enqueue script is loaded again, not failed on NOSCRIPT.
      await fill(broker, 41, 'high', 5, 3);
      expect((await broker.stats())[0]).toMatchObject({ depth: 8, nextSeq: 9 });
      const got = await broker.receive(41, { max: 10 });
      expect(got.map((g) => g.request.requestId)).toEqual(Array.from({ length: 8 }, (_, i) => `41-high-${i}`));
      await broker.close();
    } finally {
      await own.stop();
      await fsp.rm(persistDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('lets a live consumer take over a dead consumer\'s items after the visibility timeout', async () => {
    const prefix = `dead${++n}:`;
    const producer = make({ visibilityTimeoutMs: 300 }, prefix, 'bridge');
    const a = make({ visibilityTimeoutMs: 300 }, prefix, 'syncer-a');
    const b = make({ visibilityTimeoutMs: 300 }, prefix, 'syncer-b');
    await fill(producer, 31, 'high', 0, 100);
    const taken = await a.receive(31, { max: 60 });
    await a.ack(taken.slice(0, 10).map((g) => g.tag));
    await a.close(); // dies holding 50 leased items
    const rest = await b.receive(31, { max: 100 });
    expect(rest.map((g) => g.request.requestId)).toEqual(Array.from({ length: 40 }, (_, i) => `31-high-${60 + i}`));
    await b.ack(rest.map((g) => g.tag));
    const reclaimed = await b.receive(31, { max: 100, waitMs: 3000 });
    expect(reclaimed.map((g) => g.request.requestId).sort()).toEqual(taken.slice(10).map((g) => g.request.requestId).sort());
    expect(reclaimed.every((g) => g.deliveries === 2)).toBe(true);
    await b.ack(reclaimed.map((g) => g.tag));
    expect((await producer.stats())[0]).toMatchObject({ depth: 0, inFlight: 0, ackFloor: 101, nextSeq: 101 });
    await producer.close();
    await b.close();
  });

  it('continues sequence numbers after a restart of the producer', async () => {
    const prefix = `restart${++n}:`;
    const first = make({ visibilityTimeoutMs: 1000 }, prefix);
    await fill(first, 32, 'normal', 0, 5);
    await first.close();
    const second = make({ visibilityTimeoutMs: 1000 }, prefix);
    const key = { partnerId: 32, priority: 'normal' as const };
    expect(await second.enqueue(key, requestBatchOf(key, [request(32, 'normal', 5)]))).toEqual({ firstSeq: 6, count: 1 });
    await second.close();
  });
});
