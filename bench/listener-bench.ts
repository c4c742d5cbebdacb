/**
 * bench/listener: the impression-bus listener against a bare node:http server answering a constant (same
 * socket settings, same process count), both driven by the bus emulator in the same run.
 *
 * Figures: snapshot build (rows/s), bytes per user (and the 50M-user estimate per process), load time;
 * saturation req/s of each server and their ratio (goal >= 0.9); at a steady 10k req/s: the listener's p99
 * (goal < 2 ms) and answers over 7 ms (goal 0). The emulator runs in its own process, on the same cores.
 *
 *   npm run bench -- listener       (env LISTENER_BENCH_USERS, LISTENER_BENCH_REQUESTS, LISTENER_BENCH_WORKERS,
 *                                    LISTENER_BENCH_ROUNDS, LISTENER_BENCH_STEADY_ROUNDS, LISTENER_BENCH_EMULATOR_NICE)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSegmentSnapshot, loadSnapshot } from '../listener/index.ts';
import { defineSchema, toStorageUri, writeDataset, type ColumnBatch } from '../storage/index.ts';
import { report } from './bench-report.ts';
import type { BusReport } from './bus-emulator.ts';
import { processTreeCpuSeconds } from './process-cpu.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const USERS = Number(process.env['LISTENER_BENCH_USERS'] ?? 1_000_000);
const REQUESTS = Number(process.env['LISTENER_BENCH_REQUESTS'] ?? 150);
const WORKERS = Number(process.env['LISTENER_BENCH_WORKERS'] ?? 2);
const CONNECTIONS = 1600;
const SATURATION_ROUNDS = Number(process.env['LISTENER_BENCH_ROUNDS'] ?? 3);
const STEADY_ROUNDS = Number(process.env['LISTENER_BENCH_STEADY_ROUNDS'] ?? 2);
/** The emulator's nice value (same for both servers): the driver yields to the servers it measures. */
const EMULATOR_NICE = Number(process.env['LISTENER_BENCH_EMULATOR_NICE'] ?? 0);
// Absolute, as the servers run in the temporary directory where a bare 'tsx' would not resolve.
const TSX = import.meta.resolve('tsx');
const DAY = '2026-11-23';
const UID_BASE = 1_000_000_000_000_000_000n;
const PARTNER = 50;
const SEGMENT_MAP = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [String(1001 + i), String(4412001 + i)]));

const storeSchema = defineSchema({ cookie_id: 'string', partner_id: 'int32', partner_user_id: 'string', first_seen: 'timestamp_ms', last_seen: 'timestamp_ms' });
const segmentSchema = defineSchema({ cookie_id: 'string', segment_ids: 'list<int32>' });
const cookie = (i: number) => `c${String(i).padStart(21, '0')}`;

function* batches(make: (from: number, to: number) => ColumnBatch): Generator<ColumnBatch> {
  for (let from = 0; from < USERS; from += 100_000) yield make(from, Math.min(USERS, from + 100_000));
}

async function writeInputs(root: string): Promise<void> {
  const t = Date.parse(`${DAY}T12:00:00Z`);
  await writeDataset(
    `${root}/cookie-sync-store/dt=${DAY}`,
    storeSchema,
    batches((from, to) => {
      const n = to - from;
      return {
        numRows: n,
        columns: {
          cookie_id: Array.from({ length: n }, (_, i) => cookie(from + i)),
          partner_id: new Int32Array(n).fill(PARTNER),
          partner_user_id: Array.from({ length: n }, (_, i) => String(UID_BASE + BigInt(from + i))),
          first_seen: new Float64Array(n).fill(t),
          last_seen: new Float64Array(n).fill(t),
        },
      };
    }),
  );
  await writeDataset(
    `${root}/segments/dt=${DAY}`,
    segmentSchema,
    batches((from, to) => ({
      numRows: to - from,
      columns: {
        cookie_id: Array.from({ length: to - from }, (_, i) => cookie(from + i)),
        // 1-4 of 20 segment ids (15 mapped), varied by cookie.
        segment_ids: Array.from({ length: to - from }, (_, i) => {
          const k = from + i;
          const ids = new Set([1001 + (k % 20), 1001 + ((k >> 3) % 20), 1001 + ((k >> 7) % 20), 1001 + ((k >> 11) % 20)].slice(0, 1 + (k % 4)));
          return Int32Array.from([...ids].sort((a, b) => a - b));
        }),
      },
    })),
  );
}

function startChild(args: string[], cwd: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /"port":\s*(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before listening`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** One emulator run, with the CPU seconds the server's processes (primary, workers, their threads) used meanwhile. */
async function emulate(server: ChildProcess, port: number, extra: string[]): Promise<BusReport & { serverCpuSeconds: number }> {
  const cpu0 = processTreeCpuSeconds(server.pid!) ?? NaN;
  const args = [...(EMULATOR_NICE > 0 ? ['-n', String(EMULATOR_NICE), process.execPath] : []), '--import', TSX, path.join(here, 'bus-emulator.ts'), '--port', String(port), '--connections', String(CONNECTIONS), '--uid-count', String(2 * USERS), ...extra];
  const child = spawn(EMULATOR_NICE > 0 ? 'nice' : process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  await new Promise((resolve) => child.on('exit', resolve));
  const serverCpuSeconds = (processTreeCpuSeconds(server.pid!) ?? NaN) - cpu0;
  return { ...(JSON.parse(out) as BusReport), serverCpuSeconds };
}

const cpuUs = (r: BusReport & { serverCpuSeconds: number }) => Number(((1e6 * r.serverCpuSeconds) / r.answered).toFixed(1));
const emulatorCpuUs = (r: BusReport) => Number(((1e6 * r.emulatorCpuSeconds) / r.answered).toFixed(1));

/** Index of the median of the values (the lower middle of an even count). */
function medianIndex(values: number[]): number {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  return order[(order.length - 1) >> 1]!;
}

const dir = await mkdtemp(path.join(tmpdir(), 'courier-listener-bench-'));
try {
  const root = toStorageUri(path.join(dir, 'data'));
  await writeInputs(root);
  // The build's peak memory, sampled (this process's RSS, which also holds what writing the inputs left).
  const rssBeforeBuild = process.memoryUsage.rss();
  let buildPeakRss = rssBeforeBuild;
  const sampler = setInterval(() => (buildPeakRss = Math.max(buildPeakRss, process.memoryUsage.rss())), 50);
  const built = await buildSegmentSnapshot({
    storageRoot: root,
    date: DAY,
    partnerId: PARTNER,
    segmentMap: SEGMENT_MAP,
    storeDataset: 'cookie-sync-store',
    segmentsDataset: 'segments',
    snapshotDataset: 'listener-snapshot',
  }).finally(() => clearInterval(sampler));
  report({
    bench: 'listener',
    metric: 'snapshot-build',
    value: USERS / built.seconds,
    unit: 'store rows/s',
    users: built.users,
    answers: built.answers,
    seconds: built.seconds,
    peakRssMB: Math.round(buildPeakRss / 2 ** 20),
    rssBeforeBuildMB: Math.round(rssBeforeBuild / 2 ** 20),
  });
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const snapshot = await loadSnapshot({ storageRoot: root, snapshotDataset: 'listener-snapshot' }, DAY);
  const loadSeconds = (performance.now() - t0) / 1000;
  report({
    bench: 'listener',
    metric: 'bytes-per-user',
    value: built.bytesPerUser,
    unit: 'bytes',
    users: snapshot.users,
    snapshotBytes: snapshot.bytes.length,
    rssGrowthBytes: process.memoryUsage().rss - rss0,
    estimateFor50MUsersGB: (built.bytesPerUser * 50e6) / 1e9,
    loadSeconds,
    goal: '50M users in a few GB',
  });

  await writeFile(
    path.join(dir, 'courier.yaml'),
    `storage:\n  root: ./data\nlistener:\n  partnerId: ${PARTNER}\n  host: 127.0.0.1\n  logDir: ./logs\npartners:\n  - id: ${PARTNER}\n    name: xandr\n    delivery: realtime\n    segmentMap: ${JSON.stringify(SEGMENT_MAP)}\n`,
  );
  const bare = await startChild(['--import', TSX, path.join(here, 'bare-http-server.ts'), String(WORKERS)], dir);
  const listener = await startChild([path.join(here, '..', 'bin', 'courier.js'), '--json', '--log-level', 'warn', 'listen', '--port', '0', '--workers', String(WORKERS)], dir);
  try {
    const pair = async (round: number, extra: string[]) => {
      if (round % 2 === 1) {
        const listenerRun = await emulate(listener.child, listener.port, extra);
        return { listener: listenerRun, bare: await emulate(bare.child, bare.port, extra) };
      }
      const bareRun = await emulate(bare.child, bare.port, extra);
      return { bare: bareRun, listener: await emulate(listener.child, listener.port, extra) };
    };
    const closed = ['--requests', String(REQUESTS)];
    const steady = ['--rate', '10000', '--seconds', '10'];
    // Rounds alternate between the servers (and which goes first), and each round's ratio is of two runs made
    // back to back: the box is shared, and a noisy round moves both servers' figures less than one alone.
    type Run = BusReport & { serverCpuSeconds: number };
    const saturation: { bare: Run; listener: Run }[] = [];
    const atRate: { bare: Run; listener: Run }[] = [];
    for (let round = 0; round < SATURATION_ROUNDS; round++) saturation.push(await pair(round, closed));
    for (let round = 0; round < STEADY_ROUNDS; round++) atRate.push(await pair(round, steady));
    const conditions = {
      connections: CONNECTIONS,
      requestsPerConnection: REQUESTS,
      workers: WORKERS,
      users: USERS,
      clusterScheduling: process.env['NODE_CLUSTER_SCHED_POLICY'] ?? 'rr',
      emulatorNice: EMULATOR_NICE,
      loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
      note: "emulator and servers share this box's cores",
    };
    const ratios = saturation.map((r) => r.listener.reqPerSec / r.bare.reqPerSec);
    const mid = saturation[medianIndex(ratios)]!;
    report({
      bench: 'listener',
      metric: 'saturation',
      value: mid.listener.reqPerSec,
      unit: 'req/s',
      anchor: 'bare node:http constant answer, same round',
      anchorValue: mid.bare.reqPerSec,
      ratio: ratios[medianIndex(ratios)]!,
      goal: 'median ratio >= 0.9',
      rounds: saturation.map((r, i) => ({
        listener: Math.round(r.listener.reqPerSec),
        bare: Math.round(r.bare.reqPerSec),
        ratio: Number(ratios[i]!.toFixed(3)),
        closedConnections: [r.listener.closedConnections, r.bare.closedConnections],
        serverCpuUsPerRequest: [cpuUs(r.listener), cpuUs(r.bare)],
        emulatorCpuUsPerRequest: [emulatorCpuUs(r.listener), emulatorCpuUs(r.bare)],
        emulatorLoopDelayP99Us: [Math.round(r.listener.emulatorLoopDelayP99Us), Math.round(r.bare.emulatorLoopDelayP99Us)],
      })),
      ...conditions,
    });
    // The servers' own CPU per answered request (connection churn included): other load on the box moves it far
    // less than throughput, and where the driver runs elsewhere and the servers are CPU-bound, their throughput
    // ratio tends to the inverse of this one.
    for (const [name, runs] of [['saturation', saturation], ['at-10k-req/s', atRate]] as const) {
      const sum = (which: 'bare' | 'listener', f: (r: Run) => number) => runs.reduce((n, r) => n + f(r[which]), 0);
      const perRequest = (which: 'bare' | 'listener') => (1e6 * sum(which, (r) => r.serverCpuSeconds)) / sum(which, (r) => r.answered);
      report({
        bench: 'listener',
        metric: `server-cpu-per-request-${name}`,
        value: perRequest('listener'),
        unit: 'CPU us per answered request (all processes and threads)',
        anchor: 'bare node:http, same rounds',
        anchorValue: perRequest('bare'),
        ratio: perRequest('bare') / perRequest('listener'),
        goal: 'ratio (bare / listener) >= 0.9: the throughput ratio a CPU-bound box without the driver would see',
        emulatorCpuUsPerRequest: (1e6 * sum('listener', (r) => r.emulatorCpuSeconds)) / sum('listener', (r) => r.answered),
        ...conditions,
      });
    }
    // The worst round decides: the goal holds only if every round meets it.
    const midRate = atRate.reduce((a, b) => (b.listener.p99Us > a.listener.p99Us ? b : a));
    report({
      bench: 'listener',
      metric: 'p99-at-10k-req/s',
      value: midRate.listener.p99Us / 1000,
      unit: 'ms',
      anchor: 'bare node:http at 10k req/s, same round',
      anchorValue: midRate.bare.p99Us / 1000,
      ratio: midRate.listener.p99Us / midRate.bare.p99Us,
      goal: '< 2 ms in every round',
      rounds: atRate.map((r) => ({
        listener: { p50Us: Math.round(r.listener.p50Us), p99Us: Math.round(r.listener.p99Us), p999Us: Math.round(r.listener.p999Us), maxUs: Math.round(r.listener.maxUs), reqPerSec: Math.round(r.listener.reqPerSec), unsent: r.listener.unsent, closedConnections: r.listener.closedConnections },
        bare: { p50Us: Math.round(r.bare.p50Us), p99Us: Math.round(r.bare.p99Us), p999Us: Math.round(r.bare.p999Us), maxUs: Math.round(r.bare.maxUs), closedConnections: r.bare.closedConnections },
        emulatorLoopDelayP99Us: [Math.round(r.listener.emulatorLoopDelayP99Us), Math.round(r.bare.emulatorLoopDelayP99Us)],
        serverCpuUsPerRequest: [cpuUs(r.listener), cpuUs(r.bare)],
        emulatorLoopDelayMaxUs: [Math.round(r.listener.emulatorLoopDelayMaxUs), Math.round(r.bare.emulatorLoopDelayMaxUs)],
      })),
      ...conditions,
    });
    report({
      bench: 'listener',
      metric: 'answers-over-7ms-at-10k-req/s',
      value: atRate.reduce((n, r) => n + r.listener.over7ms, 0),
      unit: 'answers, all rounds',
      anchor: 'bare node:http at 10k req/s, same rounds',
      anchorValue: atRate.reduce((n, r) => n + r.bare.over7ms, 0),
      goal: '0',
      // Of those, the ones the server certainly sent late, whatever the emulator's own delays (bench/bus-emulator.ts).
      certainlyLate: atRate.reduce((n, r) => n + r.listener.over7msCertain, 0),
      anchorCertainlyLate: atRate.reduce((n, r) => n + r.bare.over7msCertain, 0),
      rounds: atRate.map((r) => ({
        listener: r.listener.over7ms,
        bare: r.bare.over7ms,
        certainlyLate: [r.listener.over7msCertain, r.bare.over7msCertain],
        answered: [r.listener.answered, r.bare.answered],
      })),
      ...conditions,
    });
  } finally {
    await stopChild(listener.child);
    await stopChild(bare.child);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
