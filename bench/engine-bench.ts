/**
 * bench/engine: the refresher-shaped job (sync events deduplicated to the latest per cookie and partner,
 * joined with segments, Parquet in and out) on the local runner, beside the same logic as DuckDB SQL on
 * the same files in the same process; then the same at 10x the data with memoryMb 2048. Inputs are made
 * in a process of their own and each measurement runs in a fresh one, so the peak RSS is the run's own.
 *   tsx bench/engine-bench.ts [--events 1000000] [--segments 200000] [--tenfold yes|no]
 * The default 10x run (10M events + 2M segments, memoryMb 2048) is the issue's scale; `--events
 * 10000000 --segments 2000000` measures that scale alone (the 10x run is then skipped unless --tenfold yes).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { toStorageUri, joinUri, localPath } from '../storage/index.ts';
import { localRunner } from '../engine/index.ts';
import { refresherShapedJob } from './refresher-shaped-job.ts';
import { INPUT_DATE, makeRefresherShapedInputs } from './refresher-shaped-inputs.ts';
import { report, timed } from './bench-report.ts';
import { measureIoFloor } from './engine-io-floor.ts';
import { jsMapJoin } from './js-map-join.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    segments: { type: 'string', default: '200000' },
    'memory-mb': { type: 'string', default: '1024' },
    tenfold: { type: 'string' },
    /** Internal: `make` writes the inputs into --dir, `run` measures on them (separate processes, so the
     * measured process's RSS holds nothing of the generation). */
    phase: { type: 'string' },
    dir: { type: 'string' },
    /** Internal: `no` skips the storage floor and the JS Map join (the 10x run: they are measured at 1x). */
    floor: { type: 'string' },
  },
});
if (args.tenfold !== undefined && args.tenfold !== 'yes' && args.tenfold !== 'no') throw new Error(`--tenfold: "${args.tenfold}" is neither yes nor no`);
const events = Number(args.events);
const segments = Number(args.segments);
const DATE = INPUT_DATE;

/** One phase in this process: `make` the inputs, or `run` and measure (prints one JSON object on stdout). */
async function child(phase: string, dir: string): Promise<void> {
  const root = toStorageUri(dir);
  if (phase === 'make') {
    await makeRefresherShapedInputs(root, events, segments);
    return;
  }
  const memoryMb = Number(args['memory-mb']);
  // The run's own peak RSS (workers are threads of this process), sampled: the lifetime peak would include
  // DuckDB's query below.
  let maxRssMb = process.memoryUsage.rss() / 1048576;
  const sampler = setInterval(() => {
    maxRssMb = Math.max(maxRssMb, process.memoryUsage.rss() / 1048576);
  }, 50);
  const ours = await timed(() =>
    localRunner({ memoryMb }).run(refresherShapedJob(), { date: DATE }, { storageRoot: root, overwrite: true }),
  ).finally(() => clearInterval(sampler));
  const step = ours.result.steps[0]!;
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const ev = path.join(localPath(joinUri(root, `bench/events/dt=${DATE}`)), '**/*.parquet');
  const sg = path.join(localPath(joinUri(root, `bench/segments/dt=${DATE}`)), '**/*.parquet');
  const out = path.join(dir, 'duckdb-joined.parquet');
  const duck = await timed(() =>
    conn.run(
      `COPY (WITH latest AS (SELECT cookie_id, partner_id, arg_max(partner_user_id, ts) AS partner_user_id, max(ts) AS synced_at ` +
        `FROM read_parquet('${ev}') GROUP BY cookie_id, partner_id) ` +
        `SELECT l.cookie_id, l.partner_id, l.partner_user_id, l.synced_at, s.segment_ids FROM latest l JOIN read_parquet('${sg}') s USING (cookie_id)) ` +
        `TO '${out}' (FORMAT parquet, COMPRESSION zstd)`,
    ),
  );
  const duckRows = Number((await conn.runAndReadAll(`SELECT count(*) FROM '${out}'`)).getRows()[0]![0]);
  conn.closeSync();
  // The storage floor (bench/engine-io-floor.ts): our inputs read into rows and our output rows written, with
  // no engine work between, on as many workers as the runner used.
  const floor = args.floor === 'none' ? undefined : await measureIoFloor({
    workers: os.availableParallelism(),
    inputs: [
      { uri: joinUri(root, `bench/events/dt=${DATE}`), columns: ['cookie_id', 'partner_id', 'partner_user_id', 'ts'] },
      { uri: joinUri(root, `bench/segments/dt=${DATE}`), columns: ['cookie_id', 'segment_ids'] },
    ],
    output: joinUri(root, `bench/joined/dt=${DATE}`),
    scratch: joinUri(root, 'bench/floor'),
  });
  if (floor && floor.rowsWritten !== step.recordsOut) throw new Error(`storage floor wrote ${floor.rowsWritten} rows, the job ${step.recordsOut}`);
  // The issue's other reference, a hand-written JS Map join (bench/js-map-join.ts); in memory, so 1x only.
  const mapJoin =
    args.floor !== 'yes'
      ? undefined
      : await timed(() => jsMapJoin(joinUri(root, `bench/events/dt=${DATE}`), joinUri(root, `bench/segments/dt=${DATE}`), joinUri(root, 'bench/js-map-join')));
  if (mapJoin && mapJoin.result !== step.recordsOut) throw new Error(`the JS Map join wrote ${mapJoin.result} rows, the job ${step.recordsOut}`);
  process.stdout.write(
    JSON.stringify({ events, segments, memoryMb, seconds: ours.seconds, duckdbSeconds: duck.seconds, floorSeconds: floor?.seconds, jsMapJoinSeconds: mapJoin?.seconds, rowsOut: step.recordsOut, duckRows, spilledRuns: (step as { spilledRuns?: number }).spilledRuns, maxRssMb }) + '\n',
  );
}

/** `floor`: `yes` measures the storage floor and the JS Map join, `floor-only` the floor alone, `none` neither. */
function runPhase(phase: string, dir: string, ev: number, sg: number, memoryMb: number, floor = 'none'): string {
  const me = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--import', 'tsx', me, '--phase', phase, '--dir', dir, '--events', String(ev), '--segments', String(sg), '--memory-mb', String(memoryMb), '--floor', floor], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`bench ${phase} (${ev} events) failed with exit ${r.status ?? r.signal}`);
  return r.stdout;
}

type RunFigures = Record<string, number>;

/** Makes the inputs in one process and measures in a fresh one. */
async function runChild(ev: number, sg: number, memoryMb: number, floor: string): Promise<RunFigures> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-bench-engine-'));
  try {
    runPhase('make', dir, ev, sg, memoryMb);
    const figures = JSON.parse(runPhase('run', dir, ev, sg, memoryMb, floor).trim().split('\n').pop()!) as RunFigures;
    if (figures.rowsOut !== figures.duckRows) throw new Error(`${ev} events: local runner wrote ${figures.rowsOut} rows, DuckDB ${figures.duckRows}`);
    return figures;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The `refresher-shaped job` line of one run: the ratio to DuckDB, and to the storage floor of the same data. */
function reportRun(r: RunFigures, ev: number, sg: number, memoryMb: number, floorSeconds: number | undefined, goal: string): void {
  report({
    bench: 'engine',
    metric: 'refresher-shaped job',
    value: r.seconds!,
    unit: 's',
    anchor: 'duckdb SQL, same files',
    anchorValue: r.duckdbSeconds!,
    ratio: r.seconds! / r.duckdbSeconds!,
    goal,
    events: ev,
    segments: sg,
    memoryMb,
    ...(floorSeconds !== undefined ? { floorSeconds, floorRatio: r.seconds! / floorSeconds } : {}),
    rowsOut: r.rowsOut!,
    spilledRuns: r.spilledRuns!,
    peakRssMb: r.maxRssMb!,
    rssOfCap: r.maxRssMb! / memoryMb,
  });
}

if (args.phase !== undefined) {
  // Exit on a failed run: its worker threads and DuckDB's would otherwise keep this process (and the bench) waiting.
  await child(args.phase, args.dir!).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  const issueScale = events >= 10_000_000;
  const memoryMb = issueScale ? 2048 : 1024;
  const base = await runChild(events, segments, memoryMb, issueScale ? 'floor-only' : 'yes');
  reportRun(base, events, segments, memoryMb, base.floorSeconds, issueScale ? 'ratio <= 3; <= 1.5x the storage floor' : 'ratio <= 4');
  if (base.jsMapJoinSeconds !== undefined) {
    report({ bench: 'engine', metric: "hand-written JS Map join, one thread, in memory (the issue's second reference)", value: base.jsMapJoinSeconds, unit: 's', anchor: 'duckdb SQL, same files', anchorValue: base.duckdbSeconds!, ratio: base.jsMapJoinSeconds / base.duckdbSeconds! });
  }
  report({ bench: 'engine', metric: 'storage floor: inputs read into rows, output rows written, no engine work', value: base.floorSeconds!, unit: 's', anchor: 'duckdb SQL, same files', anchorValue: base.duckdbSeconds!, ratio: base.floorSeconds! / base.duckdbSeconds! });
  if (args.tenfold === 'yes' || (args.tenfold === undefined && !issueScale)) {
    const big = await runChild(events * 10, segments * 10, 2048, 'floor-only');
    reportRun(big, events * 10, segments * 10, 2048, big.floorSeconds, 'ratio <= 3; <= 1.5x the storage floor');
    report({ bench: 'engine', metric: 'time growth from 1x to 10x', value: big.seconds!, unit: 's', anchor: '1x time', anchorValue: base.seconds!, ratio: big.seconds! / base.seconds!, goal: 'ratio <= 11' });
    report({ bench: 'engine', metric: '10x peak RSS', value: big.maxRssMb!, unit: 'MB', anchor: 'memoryMb cap', anchorValue: 2048, ratio: big.maxRssMb! / 2048, goal: 'ratio <= 1.0', spilledRuns: big.spilledRuns! });
    report({ bench: 'engine', metric: 'storage floor, 10x', value: big.floorSeconds!, unit: 's', anchor: 'duckdb SQL, same files', anchorValue: big.duckdbSeconds!, ratio: big.floorSeconds! / big.duckdbSeconds! });
  }
}
