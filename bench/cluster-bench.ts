/**
 * bench/cluster: what the streaming protocol costs a cluster user per task. The refresher-shaped job
 * (bench/refresher-shaped-job.ts) on the streaming runner (a child process per task, the stage bundle over
 * the line protocol, a sorted shuffle of lines) against the local runner on the same files in the same run,
 * with where the streaming time goes; then the protocol's encode/decode rate against plain JSON.
 *   tsx bench/cluster-bench.ts [--events 1000000] [--segments 200000]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { toStorageUri } from '../storage/index.ts';
import { buildStageBundle, decodeKeyText, encodeKeyText, escapeField, localRunner, splitFields, StreamingRunner, unescapeField } from '../engine/index.ts';
import { refresherShapedJob } from './refresher-shaped-job.ts';
import { INPUT_DATE, makeRefresherShapedInputs } from './refresher-shaped-inputs.ts';
import { report, timed } from './bench-report.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, segments: { type: 'string', default: '200000' } } });
const events = Number(args.events);
const segments = Number(args.segments);

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-bench-cluster-'));
try {
  const root = toStorageUri(dir);
  await makeRefresherShapedInputs(root, events, segments);
  const job = refresherShapedJob();
  const local = await timed(() => localRunner().run(job, { date: INPUT_DATE }, { storageRoot: root, overwrite: true }));
  const streamingRunner = new StreamingRunner();
  const streaming = await timed(() => streamingRunner.run(job, { date: INPUT_DATE }, { storageRoot: root, overwrite: true }));
  const [l, s] = [local.result.steps[0]!, streaming.result.steps[0]!];
  if (l.recordsOut !== s.recordsOut) throw new Error(`local wrote ${l.recordsOut} rows, streaming ${s.recordsOut}`);
  const t = streamingRunner.timings;
  report({
    bench: 'cluster',
    metric: 'refresher-shaped job on the streaming runner',
    value: streaming.seconds,
    unit: 's',
    anchor: 'local runner, same files',
    anchorValue: local.seconds,
    ratio: streaming.seconds / local.seconds,
    goal: 'ratio <= 2',
    events,
    segments,
    rowsOut: s.recordsOut,
    mapOutputRecords: s.mapOutputRecords,
  });
  report({
    bench: 'cluster',
    metric: 'streaming runner: where the time goes',
    value: streaming.seconds,
    unit: 's',
    bundleBuildSeconds: t.bundleSeconds,
    taskSpawnToFirstOutputSecondsSummed: t.startSeconds,
    runnerCodecSeconds: t.codecSeconds,
    shuffleSortSeconds: t.sortSeconds,
    taskWallSecondsSummed: t.taskSeconds,
  });

  // Process start: spawn + load of the refresher-shaped bundle, as every task pays it.
  const bundle = await buildStageBundle(job.source!, path.join(dir, 'stages', 'refresher-shaped.stage.js'));
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--enable-source-maps', bundle.file, 'describe', '--params', JSON.stringify({ date: INPUT_DATE })]);
    if (r.status !== 0) throw new Error(`bundle describe failed: ${r.stderr}`);
    starts.push(performance.now() - t0);
  }
  starts.sort((a, b) => a - b);
  const bare: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    bare.push(performance.now() - t0);
  }
  bare.sort((a, b) => a - b);
  report({ bench: 'cluster', metric: 'task process start (spawn + bundle load, median of 5)', value: starts[2]!, unit: 'ms', anchor: 'node -e 0', anchorValue: bare[2]!, ratio: starts[2]! / bare[2]!, bundleKiB: bundle.bytes / 1024 });

  // The protocol against plain JSON on map-output-shaped records.
  const n = 500_000;
  const pairs = Array.from({ length: n }, (_, i) => ({ key: [`c${(i * 2654435761) % 1e9}aaaaaaaaaaaaaa`] as string[], value: { p: i % 7, u: `user-${i}`, t: 1_763_000_000_000 + i } }));
  const enc = await timed(async () => pairs.map((p) => '00001\t' + escapeField(encodeKeyText(p.key)) + '\t' + escapeField(JSON.stringify(p.value))));
  const json = await timed(async () => pairs.map((p) => JSON.stringify(p)));
  report({ bench: 'cluster', metric: 'protocol encode (partition, key text, JSON value)', value: n / enc.seconds, unit: 'records/s', anchor: 'JSON.stringify of {key, value}', anchorValue: n / json.seconds, ratio: json.seconds / enc.seconds });
  const lines = enc.result;
  const dec = await timed(async () => {
    let s = 0;
    for (const line of lines) {
      const f = splitFields(line);
      const key = decodeKeyText(unescapeField(f[1]!));
      const value = JSON.parse(unescapeField(f[2]!)) as { p: number };
      s += key.length + value.p;
    }
    return s;
  });
  const jsonDec = await timed(async () => {
    let s = 0;
    for (const text of json.result) {
      const v = JSON.parse(text) as { key: string[]; value: { p: number } };
      s += v.key.length + v.value.p;
    }
    return s;
  });
  report({ bench: 'cluster', metric: 'protocol decode', value: n / dec.seconds, unit: 'records/s', anchor: 'JSON.parse of {key, value}', anchorValue: n / jsonDec.seconds, ratio: jsonDec.seconds / dec.seconds });
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
