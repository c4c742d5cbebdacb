/**
 * bench/syncer: the streaming syncer against the partner stub on loopback, beside autocannon against the same
 * endpoint with the same connections in the same run (before and after the syncer; the anchor is their mean).
 * The stub runs in its own process (`courier partner-stub`), as a partner would; the syncer and autocannon each
 * run in this process in turn. Goal: the syncer at >= 80% of autocannon's req/s.
 *   tsx bench/syncer-bench.ts [--requests 100000] [--connections 16] [--seconds 8]
 */
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { StreamingSyncer, type PartnerStreamingSettings } from '../deliverer/index.ts';
import { EmbeddedBroker, requestBatchOf, type SyncRequest } from '../queue-bridge/index.ts';
import { toStorageUri } from '../storage/index.ts';
import { report } from './bench-report.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    connections: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '8' },
  },
});
const total = Number(args.requests);
const connections = Number(args.connections);
const seconds = Number(args.seconds);

const bin = fileURLToPath(new URL('../bin/courier.js', import.meta.url));
const BODY = '{"user":"${PARTNER_USER_ID}","segments":"${SEGMENTS}","expires":"${EXPIRES_AT}"}';

/** Starts `courier partner-stub` on a free port; resolves with its URL once it listens. */
async function startStub(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [bin, 'partner-stub', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`partner stub exited (${code}) before listening:\n${err}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function stubStats(url: string, partner: string): Promise<{ accepted: number; received: number }> {
  const stats = (await (await fetch(`${url}/_stub/stats`)).json()) as { partners: Record<string, { accepted: number; received: number }> };
  return stats.partners[partner] ?? { accepted: 0, received: 0 };
}

async function autocannonRate(url: string): Promise<{ rps: number; p99: number; cpuUsPerRequest: number }> {
  const cpu = process.cpuUsage();
  let n = 0;
  const result = await autocannon({
    url: `${url}/cannon/segments?uid=user-1`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'bench' },
    body: '{"user":"user-1","segments":"seg-1,seg-2,seg-3","expires":"2026-12-23T00:00:00Z"}',
    // A new id per request, as the syncer sends: the stub then does the same bookkeeping for both clients.
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': `c${n++}` } }) }],
  });
  const used = process.cpuUsage(cpu);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`autocannon saw ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  return { rps: result.requests.total / result.duration, p99: result.latency.p99, cpuUsPerRequest: (used.user + used.system) / result.requests.total };
}

function requests(n: number): SyncRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    requestId: `r${i.toString(16).padStart(16, '0')}`,
    partnerId: 17,
    priority: 'normal',
    cookieId: `ck${i}`,
    partnerUserId: `user-${i}`,
    segments: ['seg-1', 'seg-2', 'seg-3'],
    removedSegments: [],
    syncedAt: Date.UTC(2026, 10, 23),
    expiresAt: Date.UTC(2026, 11, 23),
  }));
}

async function syncerRate(url: string, dir: string): Promise<{ rps: number; cpuUsPerRequest: number }> {
  const broker = new EmbeddedBroker({ visibilityTimeoutMs: 60_000 });
  const key = { partnerId: 17, priority: 'normal' } as const;
  await broker.enqueue(key, requestBatchOf(key, requests(total)));
  const partner: PartnerStreamingSettings = {
    partnerId: 17,
    name: 'acme',
    url: `${url}/acme/segments?uid=\${PARTNER_USER_ID}`,
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: BODY,
    concurrency: connections,
    rateLimitPerSecond: 1_000_000,
    timeoutMs: 5000,
    retry: { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 1000 },
  };
  const syncer = new StreamingSyncer({
    broker,
    partners: [partner],
    logger: pino({ level: 'warn' }),
    settings: {
      workersPerPartner: 2,
      receiveBatch: 500,
      idlePollMs: 50,
      deadLetters: { uri: toStorageUri(path.join(dir, 'dead-letters')), flushRows: 1000, flushEveryMs: 1000 },
    },
  });
  const t0 = performance.now();
  const cpu = process.cpuUsage();
  syncer.start();
  await syncer.untilDrained({ pollMs: 10 });
  const elapsed = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  const summary = await syncer.stop();
  await broker.close();
  const delivered = summary.partners[0]!.delivered;
  if (delivered !== total) throw new Error(`the syncer delivered ${delivered} of ${total} requests`);
  return { rps: total / elapsed, cpuUsPerRequest: (used.user + used.system) / total };
}

const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-bench-syncer-'));
const stub = await startStub();
try {
  // Warm both clients and the stub (JIT, connections) before measuring.
  await autocannon({ url: `${stub.url}/warm/x`, connections, amount: 5000 });
  const before = await autocannonRate(stub.url);
  const syncer = await syncerRate(stub.url, dir);
  const after = await autocannonRate(stub.url);
  const acme = await stubStats(stub.url, 'acme');
  if (acme.accepted !== total || acme.received !== total) {
    throw new Error(`the stub accepted ${acme.accepted} distinct ids in ${acme.received} requests; expected ${total} of each`);
  }
  const anchor = (before.rps + after.rps) / 2;
  report({
    bench: 'syncer',
    metric: 'autocannon_requests_per_second',
    value: anchor,
    unit: 'req/s',
    connections,
    before: before.rps,
    after: after.rps,
    p99Ms: after.p99,
    cpuUsPerRequest: (before.cpuUsPerRequest + after.cpuUsPerRequest) / 2,
  });
  report({
    bench: 'syncer',
    metric: 'syncer_requests_per_second',
    value: syncer.rps,
    unit: 'req/s',
    anchor: 'autocannon, same endpoint and connections, same run',
    anchorValue: anchor,
    ratio: syncer.rps / anchor,
    goal: '>= 0.8',
    requests: total,
    connections,
    cpuUsPerRequest: syncer.cpuUsPerRequest,
  });
} finally {
  await stub.stop();
  await fsp.rm(dir, { recursive: true, force: true });
}
