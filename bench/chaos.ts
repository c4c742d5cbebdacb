/**
 * npm run chaos: the streaming flow (a request dataset → `courier bridge` → Redis Streams → two `courier sync
 * --watch`) against partner stubs that fail, time out, reset and answer slowly, one partner down for a stretch,
 * while a random process is SIGKILLed and restarted every few seconds and Redis itself is killed and restarted
 * once. At the end it accounts, by request id, from the stubs' own records and the dead-letter datasets: delivered,
 * lost (must be 0), duplicated (with the largest count and the bound the kills allow), dead-lettered (by reason)
 * and still queued (must be 0). One JSON line per figure; exit 1 when anything was lost or left queued.
 *   tsx bench/chaos.ts [--requests 1000000] [--seed 1] [--kill-every-ms 4000] [--max-minutes 20]
 * Loopback only; every process it starts it ends, by its own handle.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { deadLetterSchema, startPartnerStub, type PartnerStub } from '../deliverer/index.ts';
import { RedisBroker } from '../queue-bridge/index.ts';
import { batchToRows, joinUri, listDatasets, readDataset, toStorageUri } from '../storage/index.ts';
import { startRedis, type TestRedis } from '../test/support/redis-server.ts';
import { partnerRequests, startCourier, writeRequestDataset, type CourierProcess } from '../test/system/streaming-fixtures.ts';
import { report } from './bench-report.ts';
import { seededRandom } from './seeded-random.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    'kill-every-ms': { type: 'string', default: '4000' },
    'max-minutes': { type: 'string', default: '20' },
  },
});
const total = Number(args.requests);
const seed = Number(args.seed);
const killEveryMs = Number(args['kill-every-ms']);
let deadline = Date.now() + Number(args['max-minutes']) * 60_000;
// Ctrl-C or SIGTERM ends the chaos early: the account is still printed and every process started is ended.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (deadline = 0));
for (const [name, v] of [['--requests', total], ['--seed', seed], ['--kill-every-ms', killEveryMs]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a whole number >= 1, got ${String(v)}`);
}

const random = seededRandom(seed);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (message: string) => process.stderr.write(`chaos ${new Date().toISOString().slice(11, 19)} ${message}\n`);

// Partners and how their stubs misbehave: 5-20 % of requests fail in some way.
const PARTNERS = [
  { id: 17, name: 'acme', share: 0.4, behaviour: { latencyMs: 1, errorRate: 0.04, resetRate: 0.01 } },
  { id: 18, name: 'globex', share: 0.35, behaviour: { latencyMs: 2, errorRate: 0.08, resetRate: 0.02, slowRate: 0.002, slowMs: 6000 } },
  // 429s are rare: the syncer pauses a partner's whole lane for each Retry-After, as a partner asking to slow down expects.
  { id: 19, name: 'initech', share: 0.25, behaviour: { latencyMs: 1, errorRate: 0.12, tooManyRate: 0.001, resetRate: 0.03, slowRate: 0.02, slowMs: 300 } },
];
/** The partner that is down (503 to everything) for a stretch, from when this share of requests has arrived. */
const OUTAGE = { partner: 'initech', fromShare: 0.25, seconds: 15 };
const REDIS_RESTART_AT_SHARE = 0.45;

const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-chaos-'));
const slots = new Map<string, Slot>();
let stub: PartnerStub | undefined;
let redis: TestRedis | undefined;
let monitor: RedisBroker | undefined;

interface Slot {
  name: string;
  args: string[];
  current?: CourierProcess;
  /** Set when we end it on purpose (kill or stop), so the supervisor does not count a crash. */
  expected: boolean;
  finished: boolean;
  starts: number;
  crashes: { code: number | null; line: string }[];
}

function start(slot: Slot): void {
  const p = startCourier(slot.args, dir);
  slot.current = p;
  slot.expected = false;
  slot.starts++;
  void p.exited.then(async (code) => {
    if (slot.current !== p) return;
    if (code === 0 && slot.name === 'bridge') {
      slot.finished = true;
      log('bridge: every dataset handed over and acknowledged');
      return;
    }
    if (slot.expected || stopping) return;
    const lines = p.output().stderr.trim().split('\n');
    slot.crashes.push({ code, line: lines.at(-1) ?? '' });
    const stack = lines.findIndex((l) => /^\s*at /.test(l));
    const shown = lines.slice(Math.max(0, (stack < 0 ? lines.length : stack) - 12), stack < 0 ? undefined : stack + 6);
    log(`${slot.name} exited by itself (${code}); restarting. Its stderr:\n  ${shown.join('\n  ')}`);
    await sleep(500);
    if (!stopping && slot.current === p) start(slot);
  });
}

let stopping = false;
let exitCode = 1;
try {
  const redisDir = path.join(dir, 'redis');
  await fsp.mkdir(redisDir);
  // Every write fsynced before it is answered, so a SIGKILLed Redis loses nothing it acknowledged.
  redis = await startRedis({ persistDir: redisDir });
  const redisUrl = redis.url;

  stub = await startPartnerStub({ seed, partners: Object.fromEntries(PARTNERS.map((p) => [p.name, p.behaviour])) });
  const requests = PARTNERS.flatMap((p, i) => partnerRequests(p.id, i === PARTNERS.length - 1 ? total - PARTNERS.slice(0, -1).reduce((n, q) => n + Math.round(total * q.share), 0) : Math.round(total * p.share)));
  log(`writing ${requests.length} requests`);
  await writeRequestDataset(path.join(dir, 'data'), '2026-11-23', requests);
  const partnerYaml = PARTNERS.map(
    (p) => `  - id: ${p.id}
    name: ${p.name}
    delivery: streaming
    segmentMap: { 1: a }
    streaming:
      url: ${stub!.url}/${p.name}/sync?uid=\${PARTNER_USER_ID}
      headers: { Content-Type: application/json }
      body: '{"segments":\${SEGMENTS}}'`,
  ).join('\n');
  // Default settings everywhere but where the queues live.
  await fsp.writeFile(path.join(dir, 'courier.yaml'), `storage:\n  root: ./data\nqueue:\n  broker: redis\n  redis: { url: "${redisUrl}", keyPrefix: "chaos:" }\npartners:\n${partnerYaml}\n`);
  monitor = new RedisBroker({ url: redisUrl, keyPrefix: 'chaos:', visibilityTimeoutMs: 30_000 });

  for (const [name, a] of [['bridge', ['bridge']], ['sync-a', ['sync', '--watch']], ['sync-b', ['sync', '--watch']]] as const) {
    const slot: Slot = { name, args: [...a], expected: false, finished: false, starts: 0, crashes: [] };
    slots.set(name, slot);
    start(slot);
  }

  const accepted = () => PARTNERS.reduce((n, p) => n + (stub!.stats()[p.name]?.accepted ?? 0), 0);
  const queueStats = async () => {
    const stats = await monitor!.stats();
    return { depth: stats.reduce((n, q) => n + q.depth, 0), inFlight: stats.reduce((n, q) => n + q.inFlight, 0) };
  };
  const started = Date.now();
  let kills = 0;
  let windowBound = 0;
  let redisRestarts = 0;
  let outage: 'before' | 'on' | 'over' = 'before';
  let outageEnds = 0;
  let nextKill = Date.now() + killEveryMs;
  let nextLog = 0;
  let drained = false;
  while (Date.now() < deadline) {
    await sleep(100);
    const done = accepted();
    if (outage === 'before' && done >= total * OUTAGE.fromShare) {
      outage = 'on';
      outageEnds = Date.now() + OUTAGE.seconds * 1000;
      stub.setBehaviour(OUTAGE.partner, { fixedStatus: 503 });
      log(`${OUTAGE.partner} down (503 to everything) for ${OUTAGE.seconds} s`);
    } else if (outage === 'on' && Date.now() >= outageEnds) {
      outage = 'over';
      stub.setBehaviour(OUTAGE.partner, { fixedStatus: undefined });
      log(`${OUTAGE.partner} back`);
    }
    if (redisRestarts === 0 && done >= total * REDIS_RESTART_AT_SHARE) {
      redisRestarts++;
      log('killing redis-server (SIGKILL) and restarting it on the same port and data');
      await redis.restart(1000);
    }
    const bridgeDone = slots.get('bridge')!.finished;
    if (Date.now() >= nextKill && !(bridgeDone && done >= total)) {
      const alive = [...slots.values()].filter((s) => !s.finished && s.current && s.current.child.exitCode === null && s.current.child.signalCode === null);
      const victim = alive[Math.floor(random() * alive.length)];
      if (victim) {
        // What the victim may hold unacknowledged: at most everything in flight now.
        windowBound += await queueStats().then((s) => s.inFlight).catch(() => 0);
        victim.expected = true;
        victim.current!.child.kill('SIGKILL');
        kills++;
        const pause = 300 + Math.floor(random() * 700);
        log(`SIGKILL ${victim.name} (pid ${victim.current!.child.pid}); restart in ${pause} ms; ${done}/${total} accepted`);
        void sleep(pause).then(() => {
          if (!stopping) start(victim);
        });
      }
      nextKill = Date.now() + killEveryMs * (0.5 + random());
    }
    if (bridgeDone) {
      const q = await queueStats().catch(() => undefined);
      if (q && q.depth === 0 && q.inFlight === 0) {
        drained = true;
        break;
      }
    }
    if (Date.now() >= nextLog) {
      nextLog = Date.now() + 5000;
      const q = await queueStats().catch(() => undefined);
      log(`${done}/${total} accepted; queued ${q?.depth ?? '?'} (${q?.inFlight ?? '?'} in flight); ${kills} kills`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  if (!drained) log('time is up before the queues drained: accounting what there is');

  // Stop the syncers gracefully so their last dead letters are written.
  stopping = true;
  for (const slot of slots.values()) {
    const c = slot.current?.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      slot.expected = true;
      c.kill('SIGTERM');
    }
  }
  await Promise.all([...slots.values()].map((s) => s.current?.exited));
  const queued = await queueStats().catch(() => ({ depth: Number.NaN, inFlight: Number.NaN }));

  // The account, by request id.
  const count = new Map<string, number>();
  for (const p of PARTNERS) for (const [id, n] of stub.acceptedIds(p.name)) count.set(id, n);
  const dead = new Map<string, { status: number | null; error: string }>();
  for (const d of await listDatasets(joinUri(toStorageUri(path.join(dir, 'data')), 'dead-letters')).catch(() => [])) {
    if (d.state !== 'complete') continue;
    for await (const batch of readDataset(d.uri)) {
      for (const r of batchToRows(deadLetterSchema, batch)) dead.set(r['request_id'] as string, { status: (r['last_status'] as number | null) ?? null, error: String(r['last_error']) });
    }
  }
  let delivered = 0;
  let lost = 0;
  let deadOnly = 0;
  let deadAndDelivered = 0;
  let duplicatedIds = 0;
  let extraCopies = 0;
  let maxCount = 0;
  const lostSample: string[] = [];
  const reasons: Record<string, number> = {};
  for (const r of requests) {
    const n = count.get(r.requestId) ?? 0;
    const letter = dead.get(r.requestId);
    if (n > 0) delivered++;
    if (n > 1) {
      duplicatedIds++;
      extraCopies += n - 1;
    }
    maxCount = Math.max(maxCount, n);
    if (letter) {
      const reason = letter.status !== null ? `HTTP ${letter.status}` : letter.error.replace(/\d+/g, 'N').slice(0, 60);
      reasons[reason] = (reasons[reason] ?? 0) + 1;
      if (n > 0) deadAndDelivered++;
      else deadOnly++;
    }
    if (n === 0 && !letter) {
      lost++;
      if (lostSample.length < 10) lostSample.push(r.requestId);
    }
  }
  const crashes = [...slots.values()].flatMap((s) => s.crashes.map((c) => ({ process: s.name, ...c })));
  const answered = Object.fromEntries(PARTNERS.map((p) => [p.name, stub!.stats()[p.name]?.answered ?? {}]));
  report({ bench: 'chaos', metric: 'requests', value: requests.length, unit: 'requests', seconds, drained, seed });
  report({ bench: 'chaos', metric: 'delivered', value: delivered, unit: 'requests', answered });
  report({ bench: 'chaos', metric: 'lost', value: lost, unit: 'requests', goal: '0', sample: lostSample });
  report({ bench: 'chaos', metric: 'duplicated', value: duplicatedIds, unit: 'requests', extraCopies, largestCount: maxCount, boundFromKills: windowBound });
  report({ bench: 'chaos', metric: 'dead-lettered', value: deadOnly, unit: 'requests', alsoDelivered: deadAndDelivered, reasons });
  report({ bench: 'chaos', metric: 'still queued', value: queued.depth, unit: 'requests', inFlight: queued.inFlight, goal: '0' });
  report({ bench: 'chaos', metric: 'faults', value: kills, unit: 'SIGKILLs', redisRestarts, outageSeconds: OUTAGE.seconds, starts: Object.fromEntries([...slots.values()].map((s) => [s.name, s.starts])), crashes });
  exitCode = lost === 0 && queued.depth === 0 && drained ? 0 : 1;
} finally {
  stopping = true;
  for (const slot of slots.values()) {
    const c = slot.current?.child;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  await monitor?.close().catch(() => undefined);
  await stub?.close();
  await redis?.stop();
  await fsp.rm(dir, { recursive: true, force: true });
}
process.exit(exitCode);
