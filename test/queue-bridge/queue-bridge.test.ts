import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { checkpointUri, EmbeddedBroker, readCheckpoint, RedisBroker, runBridge, type Broker, type BridgeSnapshot } from '../../queue-bridge/index.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { writeRequests } from './request-fixtures.ts';

let dir: string;
let root: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-bridge-'));
  root = pathToFileURL(dir).href;
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A consumer that acknowledges everything it receives of `partners` until stopped; records delivered ids in order. */
function consumer(broker: Broker, partners: readonly number[], options: { batch?: number; shuffleAcks?: boolean } = {}) {
  const delivered: string[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      let got = 0;
      for (const p of partners) {
        const leased = await broker.receive(p, { max: options.batch ?? 50 });
        got += leased.length;
        delivered.push(...leased.map((l) => l.request.requestId));
        const tags = leased.map((l) => l.tag);
        if (options.shuffleAcks) tags.reverse();
        await broker.ack(tags);
      }
      if (got === 0) await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    delivered,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** Resolves once `check` holds for a snapshot; the bridge is then stopped through the abort signal. */
function stopWhen(check: (s: BridgeSnapshot) => boolean) {
  const controller = new AbortController();
  let last: BridgeSnapshot | undefined;
  return {
    signal: controller.signal,
    onTick: (s: BridgeSnapshot) => {
      last = s;
      if (check(s)) controller.abort();
    },
    last: () => last!,
  };
}

describe('runBridge', () => {
  it('hands over every request, oldest dataset first, and marks datasets done once acknowledged', async () => {
    const day1 = await writeRequests(root, 'dt=2026-11-22', [
      { partnerId: 17, priority: 'high', count: 120 },
      { partnerId: 17, priority: 'normal', count: 300 },
      { partnerId: 42, priority: 'normal', count: 80 },
    ]);
    const day2 = await writeRequests(root, 'dt=2026-11-23', [{ partnerId: 17, priority: 'normal', count: 50 }]);
    const broker = new EmbeddedBroker();
    const c = consumer(broker, [17, 42]);
    const result = await runBridge({ root, broker, windowItems: 100, pollMs: 10 });
    await c.stop();
    expect([...c.delivered].sort()).toEqual([...day1, ...day2].sort());
    expect(result).toMatchObject({ done: ['requests/dt=2026-11-22', 'requests/dt=2026-11-23'], enqueued: 550, acked: 550, resent: 0 });
    const normal17 = c.delivered.filter((id) => id.includes('.17.normal.'));
    expect(normal17.findIndex((id) => id.startsWith('dt=2026-11-23'))).toBe(300);
    const cp = await readCheckpoint(root);
    expect(cp.datasets['requests/dt=2026-11-22']).toEqual({ checksum: expect.any(String), done: true, files: {} });
    // A second run finds nothing left to do.
    expect(await runBridge({ root, broker, windowItems: 100, pollMs: 10 })).toMatchObject({ enqueued: 0, done: expect.arrayContaining(['requests/dt=2026-11-23']) });
  });

  it('fills each queue up to its share of the window and no further', async () => {
    await writeRequests(root, 'dt=2026-11-23', [
      { partnerId: 1, priority: 'high', count: 1000 },
      { partnerId: 1, priority: 'normal', count: 1000 },
      { partnerId: 2, priority: 'normal', count: 1000 },
      { partnerId: 3, priority: 'normal', count: 10 },
    ]);
    const broker = new EmbeddedBroker();
    let ticks = 0;
    const stop = stopWhen(() => ++ticks >= 5);
    await runBridge({ root, broker, windowItems: 400, pollMs: 5, ...stop });
    const depth = Object.fromEntries((await broker.stats()).map((s) => [s.queue, s.depth]));
    // Four queues with work: 100 each; the small one holds all it has.
    expect(depth).toEqual({ 'requests.1.high': 100, 'requests.1.normal': 100, 'requests.2.normal': 100, 'requests.3.normal': 10 });
  });

  it('refills a drained queue while a stalled partner\'s queue stays at its share (back-pressure)', async () => {
    const ids = await writeRequests(root, 'dt=2026-11-23', [
      { partnerId: 5, priority: 'normal', count: 2000 },
      { partnerId: 6, priority: 'normal', count: 2000 },
    ]);
    const broker = new EmbeddedBroker();
    const c = consumer(broker, [5]); // partner 6 is down: nobody takes its requests
    const maxDepth6: number[] = [];
    const stop = stopWhen((s) => {
      maxDepth6.push(s.queues.find((q) => q.queue === 'requests.6.normal')?.depth ?? 0);
      return s.queues.find((q) => q.queue === 'requests.5.normal')?.acked === 2000;
    });
    await runBridge({ root, broker, windowItems: 200, pollMs: 5, ...stop });
    await c.stop();
    expect([...c.delivered].sort()).toEqual(ids.filter((id) => id.includes('.5.')).sort());
    expect(Math.max(...maxDepth6)).toBeLessThanOrEqual(100);
    const s6 = stop.last().queues.find((q) => q.queue === 'requests.6.normal')!;
    // Partner 5's queue finished, so partner 6 may hold the whole window now, never more.
    expect(s6.enqueued).toBeLessThanOrEqual(200);
    expect(s6.remaining).toBeGreaterThanOrEqual(1800);
  });

  it('gives a short window to high queues first', async () => {
    await writeRequests(root, 'dt=2026-11-23', [
      { partnerId: 1, priority: 'normal', count: 10 },
      { partnerId: 2, priority: 'normal', count: 10 },
      { partnerId: 3, priority: 'high', count: 10 },
    ]);
    const broker = new EmbeddedBroker();
    let ticks = 0;
    const stop = stopWhen(() => ++ticks >= 3);
    await runBridge({ root, broker, windowItems: 2, pollMs: 5, ...stop });
    const depth = Object.fromEntries((await broker.stats()).map((s) => [s.queue, s.depth]));
    expect(depth).toEqual({ 'requests.3.high': 1, 'requests.1.normal': 1 });
  });

  it('resumes from the checkpoint after a crash: nothing skipped, duplicates within the unacknowledged window', async () => {
    const ids = await writeRequests(
      root,
      'dt=2026-11-23',
      [
        { partnerId: 7, priority: 'high', count: 1500 },
        { partnerId: 7, priority: 'normal', count: 2500 },
        { partnerId: 8, priority: 'normal', count: 2000 },
      ],
      700,
    );
    const window = 300;
    const first = new EmbeddedBroker();
    const c1 = consumer(first, [7, 8], { batch: 37, shuffleAcks: true });
    let acked = 0;
    // The crash: an exception out of the bridge's step, after its last checkpoint write and before the next.
    const crash = new Error('simulated crash');
    await expect(
      runBridge({
        root,
        broker: first,
        windowItems: window,
        pollMs: 5,
        checkpointEveryMs: 20,
        onTick: (s) => {
          acked = s.queues.reduce((n, q) => n + q.acked, 0);
          if (acked > 2500) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    await c1.stop();
    await first.close(); // the embedded broker's queues die with the process
    const cp = await readCheckpoint(root);
    const files = Object.values(cp.datasets['requests/dt=2026-11-23']!.files);
    const recordedAcked = files.reduce((n, f) => n + f.acked, 0);
    const unacked = files.reduce((n, f) => n + f.handed - f.acked, 0);
    expect(recordedAcked).toBeGreaterThan(0);
    expect(unacked).toBeLessThanOrEqual(window + 37);

    const second = new EmbeddedBroker();
    const c2 = consumer(second, [7, 8]);
    const result = await runBridge({ root, broker: second, windowItems: window, pollMs: 5 });
    await c2.stop();
    expect(result.resent).toBe(unacked);
    expect(result.enqueued).toBe(ids.length - recordedAcked);
    // Every id went out; what went out twice is bounded by what the checkpoint had not seen acknowledged.
    const all = new Set([...c1.delivered, ...c2.delivered]);
    expect(all.size).toBe(ids.length);
    const duplicates = c1.delivered.length + c2.delivered.length - ids.length;
    expect(duplicates).toBeLessThanOrEqual(c1.delivered.length - recordedAcked);
    expect(c1.delivered.length - recordedAcked).toBeLessThanOrEqual(window + (acked - recordedAcked));
    expect(result.done).toEqual(['requests/dt=2026-11-23']);
  });

  it('refuses a second bridge on the same store while one runs, naming it; the second starts once the first stops', async () => {
    await writeRequests(root, 'dt=2026-11-23', [{ partnerId: 3, priority: 'high', count: 40 }]);
    const controller = new AbortController();
    let ticked!: () => void;
    const running = new Promise<void>((resolve) => (ticked = resolve));
    // Watch mode with nobody consuming: the first bridge stays up until aborted.
    const first = runBridge({ root, broker: new EmbeddedBroker(), windowItems: 10, pollMs: 5, watch: true, signal: controller.signal, onTick: () => ticked() });
    await running;
    await expect(runBridge({ root, broker: new EmbeddedBroker(), pollMs: 5 })).rejects.toThrow(
      new RegExp(`_bridge: the queue bridge cannot start: the queue bridge \\(pid ${process.pid} on .*\\) holds this store's lock \\(run one per storage root`),
    );
    controller.abort();
    await first;
    const second = new EmbeddedBroker();
    const c = consumer(second, [3]);
    await expect(runBridge({ root, broker: second, windowItems: 10, pollMs: 5 })).resolves.toMatchObject({ done: ['requests/dt=2026-11-23'] });
    await c.stop();
  });

  it('stops with a clear error on a damaged checkpoint or a dataset that is not requests', async () => {
    await writeRequests(root, 'dt=2026-11-23', [{ partnerId: 1, priority: 'high', count: 3 }]);
    await fs.mkdir(path.join(dir, '_bridge'));
    await fs.writeFile(new URL(checkpointUri(root)), '{"format":"courier-bridge-checkpoint/1","writtenAt":"x","datasets":{"a":{"checksum":"c","done":false,"files":{"f":{"rows":1,"handed":0,"acked":1}}}}}');
    await expect(runBridge({ root, broker: new EmbeddedBroker() })).rejects.toThrow(/_bridge\/checkpoint.json: is not a bridge checkpoint: at datasets.a.files.f: needs acked ≤ handed ≤ rows.*move it aside/);
    await fs.rm(path.join(dir, '_bridge'), { recursive: true });
    await expect(runBridge({ root, broker: new EmbeddedBroker(), requestsDataset: 'requests/dt=2026-11-23/partner=1' })).resolves.toMatchObject({ enqueued: 0 });
    const { writeDataset, defineSchema, rowsToBatch, joinUri } = await import('../../storage/index.ts');
    const schema = defineSchema({ request_id: 'string', partner_id: 'int32' });
    await writeDataset(joinUri(root, 'other', 'dt=2026-11-23'), schema, [rowsToBatch(schema, [{ request_id: 'a', partner_id: 1 }])]);
    await expect(runBridge({ root, broker: new EmbeddedBroker(), requestsDataset: 'other' })).rejects.toThrow(/other\/dt=2026-11-23: has no column cookie_id.*queue.requestsDataset/);
  });
});

describe('queue bridge restarted over a durable broker (Redis)', () => {
  let redis: TestRedis;
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await redis?.stop();
  });

  /** The first bridge fills the window, writes its checkpoint, then crashes (an exception out of its next step). */
  async function crashAfterFill(prefix: string): Promise<{ ids: string[]; handed: number }> {
    const ids = await writeRequests(root, 'dt=2026-11-23', [
      { partnerId: 7, priority: 'normal', count: 5000 },
      { partnerId: 8, priority: 'normal', count: 5000 },
      { partnerId: 8, priority: 'high', count: 5000 },
    ]);
    const broker = new RedisBroker({ url: redis.url, keyPrefix: prefix });
    const crash = new Error('simulated crash');
    // Thrown once the window is full: the fill steps' checkpoints are written, the bridge dies before it stops.
    await expect(
      runBridge({
        root,
        broker,
        windowItems: 9000,
        pollMs: 5,
        readBatchRows: 500,
        onTick: (s) => {
          if (s.queued >= 9000) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    await broker.close();
    const files = Object.values((await readCheckpoint(root)).datasets['requests/dt=2026-11-23']!.files);
    return { ids, handed: files.reduce((n, f) => n + f.handed - f.acked, 0) };
  }

  async function drain(prefix: string) {
    const broker = new RedisBroker({ url: redis.url, keyPrefix: prefix });
    const c = consumer(broker, [7, 8], { batch: 500 });
    const result = await runBridge({ root, broker, windowItems: 9000, pollMs: 5, readBatchRows: 500 });
    await c.stop();
    await broker.close();
    return { result, delivered: c.delivered };
  }

  it('takes back what Redis still holds instead of sending it again: no duplicates after a crash with nothing in flight', async () => {
    const { ids, handed } = await crashAfterFill('durable:');
    expect(handed).toBe(9000);
    const { result, delivered } = await drain('durable:');
    // Before the checkpoint kept spans, a restart sent all 9000 again and each of them arrived twice.
    expect(result.resent).toBe(0);
    expect(result.enqueued).toBe(ids.length - 9000);
    expect(delivered.length).toBe(ids.length);
    expect(new Set(delivered)).toEqual(new Set(ids));
    expect(result.done).toEqual(['requests/dt=2026-11-23']);
  });

  it('sends again what a Redis that lost its data no longer holds: nothing lost', async () => {
    const { ids } = await crashAfterFill('flushed:');
    const admin = new Redis(redis.url);
    await admin.flushall();
    await admin.quit();
    const { result, delivered } = await drain('flushed:');
    expect(result.resent).toBe(9000);
    expect(new Set(delivered)).toEqual(new Set(ids));
    expect(delivered.length).toBe(ids.length);
  });
});
