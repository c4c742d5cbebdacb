/**
 * The contract every broker keeps, run against each (embedded, Redis): batch enqueue/receive/ack, redelivery
 * after the visibility timeout, nack, high before normal, the acknowledgement floor, waiting receives, close.
 */
import { describe, expect, it } from 'vitest';
import { BrokerClosedError, requestBatchOf, type Broker, type Priority, type SyncRequest } from '../../queue-bridge/index.ts';

/** Makes a fresh, empty broker with the given lease length. */
export type BrokerFactory = (options: { visibilityTimeoutMs: number }) => Promise<Broker>;

export function request(partnerId: number, priority: Priority, i: number): SyncRequest {
  return {
    requestId: `${partnerId}-${priority}-${i}`,
    partnerId,
    priority,
    cookieId: `cookie${String(i).padStart(16, '0')}`,
    partnerUserId: i % 7 === 0 ? `Üser/ß+${i}==` : `puid-${i}`,
    segments: i % 3 === 0 ? [] : i % 3 === 1 ? [`seg-${i}`] : [`a${i}`, 'b', 'c-ç'],
    removedSegments: i % 5 === 0 ? ['gone-1', 'gone-2'] : [],
    syncedAt: 1_795_000_000_000 + i,
    expiresAt: 1_797_000_000_000 + i * 1000,
  };
}

export async function fill(broker: Broker, partnerId: number, priority: Priority, from: number, count: number): Promise<SyncRequest[]> {
  const reqs = Array.from({ length: count }, (_, k) => request(partnerId, priority, from + k));
  await broker.enqueue({ partnerId, priority }, requestBatchOf({ partnerId, priority }, reqs));
  return reqs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function brokerContract(name: string, make: BrokerFactory): void {
  describe(`${name} broker contract`, () => {
    it('hands back every field of every request and removes acknowledged items', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      const sent = await fill(broker, 17, 'normal', 0, 50);
      const got = await broker.receive(17, { max: 100 });
      expect(got.map((g) => g.request)).toEqual(sent);
      expect(got.every((g) => g.deliveries === 1)).toBe(true);
      expect(new Set(got.map((g) => g.tag)).size).toBe(50);
      expect(await broker.ack(got.map((g) => g.tag))).toBe(50);
      expect(await broker.ack(got.slice(0, 3).map((g) => g.tag))).toBe(0);
      const [stats] = await broker.stats({ partnerId: 17, priority: 'normal' });
      expect(stats).toMatchObject({ queue: 'requests.17.normal', depth: 0, inFlight: 0, ackFloor: 51, nextSeq: 51 });
      expect(await broker.receive(17, { max: 10 })).toEqual([]);
      await broker.close();
    });

    it('numbers items per queue and returns the range of each batch', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      const key = { partnerId: 3, priority: 'high' as const };
      expect(await broker.enqueue(key, requestBatchOf(key, [request(3, 'high', 0), request(3, 'high', 1)]))).toEqual({ firstSeq: 1, count: 2 });
      expect(await broker.enqueue(key, requestBatchOf(key, [request(3, 'high', 2)]))).toEqual({ firstSeq: 3, count: 1 });
      expect(await broker.enqueue({ partnerId: 3, priority: 'normal' }, requestBatchOf({ partnerId: 3, priority: 'normal' }, [request(3, 'normal', 0)]))).toEqual({
        firstSeq: 1,
        count: 1,
      });
      await broker.close();
    });

    it('receives in batches of at most max, each item once, in enqueue order', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      await fill(broker, 5, 'normal', 0, 3000);
      await fill(broker, 5, 'normal', 3000, 2000);
      const seen: string[] = [];
      for (;;) {
        const got = await broker.receive(5, { max: 700 });
        if (got.length === 0) break;
        expect(got.length).toBeLessThanOrEqual(700);
        seen.push(...got.map((g) => g.request.requestId));
        await broker.ack(got.map((g) => g.tag));
      }
      expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => `5-normal-${i}`));
      const [stats] = await broker.stats({ partnerId: 5, priority: 'normal' });
      expect(stats).toMatchObject({ depth: 0, inFlight: 0, ackFloor: 5001 });
      await broker.close();
    });

    it('serves a partner high before normal, however deep normal is, and never mixes partners', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      await fill(broker, 8, 'normal', 0, 300);
      await fill(broker, 9, 'high', 0, 10);
      await fill(broker, 8, 'high', 0, 20);
      const got = await broker.receive(8, { max: 25 });
      expect(got.map((g) => g.request.requestId)).toEqual([
        ...Array.from({ length: 20 }, (_, i) => `8-high-${i}`),
        ...Array.from({ length: 5 }, (_, i) => `8-normal-${i}`),
      ]);
      await fill(broker, 8, 'high', 20, 2);
      const next = await broker.receive(8, { max: 3 });
      expect(next.map((g) => g.request.requestId)).toEqual(['8-high-20', '8-high-21', '8-normal-5']);
      await broker.close();
    });

    it('delivers an unacknowledged item again after the visibility timeout, counting deliveries', async () => {
      const broker = await make({ visibilityTimeoutMs: 300 });
      await fill(broker, 11, 'high', 0, 10);
      const first = await broker.receive(11, { max: 10 });
      await broker.ack(first.slice(0, 4).map((g) => g.tag));
      expect(await broker.receive(11, { max: 10 })).toEqual([]);
      await sleep(450);
      const again = await broker.receive(11, { max: 10, waitMs: 2000 });
      expect(again.map((g) => g.request.requestId).sort()).toEqual(first.slice(4).map((g) => g.request.requestId).sort());
      expect(again.every((g) => g.deliveries === 2)).toBe(true);
      // The old lease's tag can still acknowledge (the work was done) but no longer releases.
      expect(await broker.nack([first[4]!.tag])).toBe(0);
      expect(await broker.ack([first[4]!.tag])).toBe(1);
      const [stats] = await broker.stats({ partnerId: 11, priority: 'high' });
      expect(stats).toMatchObject({ depth: 5, inFlight: 5 });
      await broker.close();
    });

    it('redelivers nacked items at once, or after their delay', async () => {
      const broker = await make({ visibilityTimeoutMs: 5000 });
      await fill(broker, 12, 'normal', 0, 6);
      const got = await broker.receive(12, { max: 6 });
      expect(await broker.nack(got.slice(0, 2).map((g) => g.tag))).toBe(2);
      expect(await broker.nack(got.slice(2, 4).map((g) => g.tag), { delayMs: 600 })).toBe(2);
      const now = await broker.receive(12, { max: 10, waitMs: 400 });
      expect(now.map((g) => g.request.requestId).sort()).toEqual(['12-normal-0', '12-normal-1']);
      expect(now.every((g) => g.deliveries === 2)).toBe(true);
      const later = await broker.receive(12, { max: 10, waitMs: 3000 });
      expect(later.map((g) => g.request.requestId).sort()).toEqual(['12-normal-2', '12-normal-3']);
      await broker.close();
    });

    it('keeps the acknowledgement floor at the oldest unacknowledged item when acks come out of order', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      await fill(broker, 13, 'normal', 0, 10);
      const got = await broker.receive(13, { max: 10 });
      await broker.ack([got[1]!, got[2]!, got[7]!].map((g) => g.tag));
      const key = { partnerId: 13, priority: 'normal' as const };
      expect((await broker.stats(key))[0]).toMatchObject({ depth: 7, inFlight: 7, ackFloor: 1, nextSeq: 11 });
      await broker.ack([got[0]!.tag]);
      expect((await broker.stats(key))[0]).toMatchObject({ ackFloor: 4 });
      await broker.ack(got.slice(3).map((g) => g.tag));
      expect((await broker.stats(key))[0]).toMatchObject({ depth: 0, ackFloor: 11 });
      await broker.close();
    });

    it('lists every queue in stats', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      await fill(broker, 21, 'normal', 0, 3);
      await fill(broker, 21, 'high', 0, 2);
      await fill(broker, 22, 'normal', 0, 1);
      await broker.receive(21, { max: 3 });
      const stats = (await broker.stats()).sort((a, b) => a.queue.localeCompare(b.queue));
      expect(stats.map((s) => [s.queue, s.depth, s.inFlight])).toEqual([
        ['requests.21.high', 2, 2],
        ['requests.21.normal', 3, 1],
        ['requests.22.normal', 1, 0],
      ]);
      await broker.close();
    });

    it('waits up to waitMs for items enqueued meanwhile', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      const t0 = Date.now();
      const empty = await broker.receive(14, { max: 5, waitMs: 150 });
      expect(empty).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      setTimeout(() => void fill(broker, 14, 'normal', 0, 2), 100);
      const got = await broker.receive(14, { max: 5, waitMs: 5000 });
      expect(got.map((g) => g.request.requestId)).toEqual(['14-normal-0', '14-normal-1']);
      await broker.close();
    });

    it('refuses requests holding a separator character, naming the row and field', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      const key = { partnerId: 15, priority: 'normal' as const };
      const bad = { ...request(15, 'normal', 1), segments: ['ok', 'bad\x1fcode'] };
      await expect(broker.enqueue(key, requestBatchOf(key, [request(15, 'normal', 0), bad]))).rejects.toThrow(/row 1 segments holds a control character/);
      await expect(broker.enqueue({ partnerId: 0, priority: 'normal' }, requestBatchOf({ partnerId: 0, priority: 'normal' }, []))).rejects.toThrow(/partner id 0/);
      await broker.close();
    });

    it('fails every call after close', async () => {
      const broker = await make({ visibilityTimeoutMs: 10_000 });
      await fill(broker, 16, 'normal', 0, 1);
      await broker.close();
      await expect(broker.receive(16, { max: 1 })).rejects.toBeInstanceOf(BrokerClosedError);
      await expect(fill(broker, 16, 'normal', 1, 1)).rejects.toBeInstanceOf(BrokerClosedError);
      await expect(broker.stats()).rejects.toBeInstanceOf(BrokerClosedError);
    });
  });
}
