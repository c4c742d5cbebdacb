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
