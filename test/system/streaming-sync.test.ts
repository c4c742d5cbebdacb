/**
 * The streaming path as it runs in production: `courier sync` as its own process, partners at the partner stub,
 * request datasets in the store (embedded broker: the bridge runs in the syncer's process) or requests in a real
 * redis-server shared by several syncer processes, one of them killed with SIGKILL mid-stream.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPartnerStub, type PartnerStub } from '../../deliverer/index.ts';
import { RedisBroker, requestBatchOf } from '../../queue-bridge/index.ts';
import { joinUri, toStorageUri } from '../../storage/index.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { readDeadLetters } from '../deliverer/streaming/syncer-fixtures.ts';
import {
  partnerRequests,
  startCourier,
  waitUntil,
  writeRequestDataset,
  writeStreamingConfig,
  type CourierProcess,
} from './streaming-fixtures.ts';

let dir: string;
let stub: PartnerStub;
const started: CourierProcess[] = [];

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-streaming-'));
  stub = await startPartnerStub({ seed: 3 });
});
afterEach(async () => {
  // Only the processes this test started, by their own handle.
  for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await stub.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

function courier(args: string[]): CourierProcess {
  const p = startCourier(args, dir);
  started.push(p);
  return p;
}

describe('courier sync (embedded broker, bridge in the same process)', () => {
  it('a partner down for a while gets everything once it recovers; a healthy partner is not held up; an always-400 partner gets one attempt each', async () => {
    await writeRequestDataset(path.join(dir, 'data'), '2026-11-23', [
      ...partnerRequests(17, 600),
      ...partnerRequests(18, 600),
      ...partnerRequests(19, 200),
      // A partner without streaming settings (batch only, or gone from the config): its rows are not queued.
      ...partnerRequests(99, 100),
    ]);
    await writeStreamingConfig(
      dir,
      stub.url,
      [
        { id: 17, name: 'acme', retry: { maxAttempts: 500, baseDelayMs: 10, maxDelayMs: 100 } },
        { id: 18, name: 'globex' },
        { id: 19, name: 'picky' },
      ],
      'queue:\n  broker: embedded\n  pollMs: 50',
    );
    stub.setBehaviour('acme', { errorRate: 1 });
    stub.setBehaviour('picky', { fixedStatus: 400 });

    const sync = courier(['sync']);
    // globex finishes while acme still answers nothing but 500s: acme's outage does not hold globex up.
    await waitUntil('globex has every request', () => stub.stats()['globex']?.accepted === 600);
    const acmeDuringOutage = stub.stats()['acme']!;
    expect(acmeDuringOutage.accepted).toBe(0);
    expect(acmeDuringOutage.received).toBeGreaterThan(0);
    stub.setBehaviour('acme', { errorRate: 0 });

    const code = await sync.exited;
    const { stdout, stderr } = sync.output();
    expect(code, stderr).toBe(0);
    const stats = stub.stats();
    expect(stats['acme']).toMatchObject({ accepted: 600, duplicates: 0 });
    expect(stats['globex']).toMatchObject({ received: 600, accepted: 600, duplicates: 0 });
    // No retry storm: exactly one attempt per request refused with 400.
    expect(stats['picky']).toMatchObject({ received: 200, answered: { '400': 200 } });
    expect(stdout).toMatch(/^acme\s+600\s+\d+\s+0$/m);
    expect(stdout).toMatch(/^globex\s+600\s+0\s+0$/m);
    expect(stdout).toMatch(/^picky\s+0\s+0\s+200$/m);
    expect(stdout).toMatch(/bridge: 1400 enqueued, 1400 acknowledged, 1 datasets done/);

    const letters = await readDeadLetters(joinUri(toStorageUri(path.join(dir, 'data')), 'dead-letters'));
    expect(letters).toHaveLength(200);
    expect(new Set(letters.map((l) => l['request_id']))).toEqual(new Set(partnerRequests(19, 200).map((r) => r.requestId)));
    expect(letters.every((l) => l['partner_id'] === 19 && l['attempts'] === 1 && l['last_status'] === 400)).toBe(true);
  });
});

describe('courier sync (Redis broker, several processes)', () => {
  let redis: TestRedis;
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await redis?.stop();
  });

  it('after a SIGKILL mid-stream and a restart, every request arrives; duplicates at most the unacknowledged window', async () => {
    const total = 3000;
    const prefix = 'courier-test:';
    const lease = 2000;
    const feeder = new RedisBroker({ url: redis.url, keyPrefix: prefix, visibilityTimeoutMs: lease });
    try {
      const requests = partnerRequests(17, total);
      for (const priority of ['high', 'normal'] as const) {
        const key = { partnerId: 17, priority };
        await feeder.enqueue(key, requestBatchOf(key, requests.filter((r) => r.priority === priority)));
      }
      await writeStreamingConfig(
        dir,
        stub.url,
        [{ id: 17, name: 'acme', concurrency: 4 }],
        `queue:\n  broker: redis\n  redis: { url: "${redis.url}", keyPrefix: "${prefix}" }\n  visibilityTimeoutMs: ${lease}`,
        '  maxHeldPerPartner: 100\n',
      );
      // A few ms per answer so the run is still mid-stream when the kill comes.
      stub.setBehaviour('acme', { latencyMs: 3 });

      const doomed = courier(['sync']);
      const survivor = courier(['sync']);
      await waitUntil('a third has arrived', () => (stub.stats()['acme']?.accepted ?? 0) >= total / 3);
      doomed.child.kill('SIGKILL');
      expect(await doomed.exited).toBeNull();
      // Everything leased and not acknowledged now: the killed process's share is what may arrive twice.
      const [queueHigh, queueNormal] = await feeder.stats();
      const window = (queueHigh?.inFlight ?? 0) + (queueNormal?.inFlight ?? 0);
      // The kill hit a process holding leases, or the test would prove nothing.
      expect(window).toBeGreaterThan(0);

      const restarted = courier(['sync']);
      const [survivorCode, restartedCode] = await Promise.all([survivor.exited, restarted.exited]);
      expect(survivorCode, survivor.output().stderr).toBe(0);
      expect(restartedCode, restarted.output().stderr).toBe(0);

      const accepted = stub.acceptedIds('acme');
      const missing = requests.filter((r) => !accepted.has(r.requestId));
      expect(missing).toEqual([]);
      const stats = stub.stats()['acme']!;
      expect(stats.accepted).toBe(total);
      expect(stats.duplicates).toBeLessThanOrEqual(window);
      expect((await feeder.stats()).map((q) => [q.depth, q.inFlight])).toEqual([
        [0, 0],
        [0, 0],
      ]);
    } finally {
      await feeder.close();
    }
  });
});
