/**
 * The bridge's half of the reliability tests: `courier bridge` feeding a real redis-server is killed with SIGKILL
 * mid-stream and restarted; a consumer acknowledges everything meanwhile. Every request id must come out at least
 * once, and what comes out twice is bounded by what the checkpoint had not yet recorded as held by Redis.
 */
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker, readCheckpoint } from '../../queue-bridge/index.ts';
import { toStorageUri } from '../../storage/index.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { partnerRequests, startCourier, waitUntil, writeRequestDataset, writeStreamingConfig, type CourierProcess } from './streaming-fixtures.ts';

let redis: TestRedis;
let dir: string;
const started: CourierProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-bridge-crash-'));
}, 600_000);
afterAll(async () => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await redis?.stop();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('courier bridge killed mid-stream (Redis broker)', () => {
  it('hands every request over at least once after a restart, duplicates within the unacknowledged window', async () => {
    const window = 3000;
    const requests = [...partnerRequests(17, 12_000), ...partnerRequests(42, 9_000)];
    const root = path.join(dir, 'data');
    await writeRequestDataset(root, '2026-11-23', requests);
    await writeStreamingConfig(
      dir,
      'http://127.0.0.1:9',
      [
        { id: 17, name: 'acme' },
        { id: 42, name: 'globex' },
      ],
      `queue:\n  broker: redis\n  redis: { url: ${redis.url}, keyPrefix: "crash:" }\n  windowItems: ${window}\n  visibilityTimeoutMs: 2000\n  pollMs: 20\n  checkpointEveryMs: 100\n`,
    );

    // The consumer: takes small batches with a pause, so the bridge is still mid-stream when it is killed.
    const consumer = new RedisBroker({ url: redis.url, keyPrefix: 'crash:', visibilityTimeoutMs: 2000 });
    const delivered: string[] = [];
    // Leases that ran out on this (loaded) machine before their ack: the broker's own duplicates, not the bridge's.
    let redelivered = 0;
    let stop = false;
    const consuming = (async () => {
      while (!stop) {
        for (const partner of [17, 42]) {
          const leased = await consumer.receive(partner, { max: 200 });
          delivered.push(...leased.map((l) => l.request.requestId));
          redelivered += leased.filter((l) => l.deliveries > 1).length;
          await consumer.ack(leased.map((l) => l.tag));
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    })();

    const first = startCourier(['--json', 'bridge'], dir);
    started.push(first);
    await waitUntil('the consumer has taken 6000 requests', () => delivered.length >= 6000 || first.child.exitCode !== null, 120_000);
    expect(first.child.exitCode, `the bridge ended before the kill:\n${first.output().stderr}`).toBeNull();
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const cp = await readCheckpoint(toStorageUri(root));
    const files = Object.values(cp.datasets['requests/dt=2026-11-23']?.files ?? {});
    const ackedAtCrash = files.reduce((n, f) => n + f.acked, 0);
    const handedAtCrash = files.reduce((n, f) => n + f.handed, 0);
    // The kill came mid-stream: some progress recorded, much left to hand over.
    expect(ackedAtCrash).toBeGreaterThan(0);
    expect(handedAtCrash).toBeLessThan(requests.length);

    const second = startCourier(['--json', 'bridge'], dir);
    started.push(second);
    const code = await second.exited;
    expect(code, second.output().stderr).toBe(0);
    stop = true;
    await consuming;
    await consumer.close();

    const result = JSON.parse(second.output().stdout) as { done: string[]; resent: number; enqueued: number };
    expect(result.done).toEqual(['requests/dt=2026-11-23']);
    // What Redis still held of the rows handed over before the kill is taken back, not sent again: only rows the
    // checkpoint had not recorded in the broker (at most one fill step) go out a second time.
    expect(result.resent).toBeLessThanOrEqual(handedAtCrash - ackedAtCrash);
    expect(result.enqueued).toBe(requests.length - handedAtCrash + result.resent);
    const unique = new Set(delivered);
    expect(unique.size).toBe(requests.length);
    for (const r of requests) expect(unique.has(r.requestId)).toBe(true);
    // The kill came with the window still queued, so the test would catch a bridge that sends it again.
    expect(handedAtCrash - ackedAtCrash).toBeGreaterThan(0);
    const duplicates = delivered.length - unique.size;
    expect(duplicates).toBeLessThanOrEqual(result.resent + redelivered);
  }, 240_000);
});
