/**
 * bench/daily: the daily workflow (refresher -> batch formatter -> hand-off) on the local engine over one day of
 * synthetic input at the scale (10M log lines, 2M segment rows), with the shipped example config's
 * partners. Prints time and rows/s per stage, the whole day's rate, and what one day of the article's volume
 * (4.5B syncs a month = 150M a day) would take at that rate. The anchor, measured in the same run, is a bare
 * streamed gunzip + line count of the same log files: the floor any engine pays to read them.
 *   tsx bench/daily-bench.ts [--lines 10000000] [--segments 2000000] [--memory-mb 2048] [--keep]
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { exampleConfigPath, loadConfig } from '../config/index.ts';
import { localRunner } from '../engine/index.ts';
import { generateSyntheticData } from '../jobs/synthetic/index.ts';
import { listDatasetFiles, localPath, toStorageUri } from '../storage/index.ts';
import { courierWorkflow, runWorkflow } from '../workflows/index.ts';
import { workflowSettings } from '../cli/workflow-settings.ts';
import { report, timed } from './bench-report.ts';

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '10000000' },
    segments: { type: 'string', default: '2000000' },
    'memory-mb': { type: 'string', default: '2048' },
    keep: { type: 'boolean', default: false },
  },
});
const lines = Number(args.lines);
const segments = Number(args.segments);
const memoryMb = Number(args['memory-mb']);
const DATE = '2026-11-23';
/** One day's share of the article's 4.5 billion syncs a month. */
const ARTICLE_DAY_LINES = 150_000_000;
/** The goal of the engine issue (round 3): a day of the article's scale in under 5 minutes on this machine. */
const GOAL_MINUTES = 5;

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-bench-daily-'));
const root = toStorageUri(dir);
try {
  const config = await loadConfig(exampleConfigPath, { env: {} });
  const settings = workflowSettings(config);
  process.stderr.write(`bench daily: generating ${lines.toLocaleString('en-US')} log lines and ${segments.toLocaleString('en-US')} segment rows in ${dir}\n`);
  const generated = await timed(() =>
    generateSyntheticData({
      out: root,
      logs: lines,
      segments,
      partners: config.partners.length,
      configuredPartnerIds: config.partners.map((p) => p.id),
      configuredSegmentIds: [...new Set(config.partners.flatMap((p) => Object.keys(p.segmentMap).map(Number)))],
      days: 1,
      date: DATE,
      seed: 7,
    }),
  );
  report({ bench: 'daily', metric: 'generate', value: generated.seconds, unit: 's', lines, segments });

  const anchor = await timed(() => countLogLines(`${root}/logs/dt=${DATE}`));

  const workflow = courierWorkflow('daily-refresh', settings);
  const runner = localRunner({ workers: os.availableParallelism(), memoryMb });
  const run = await timed(() => runWorkflow(workflow, { date: DATE, storageRoot: root, settings, runner }));
  const result = run.result;
  if (result.state !== 'succeeded') throw new Error(`daily-refresh ${result.state}: ${JSON.stringify(result.stages.map((s) => [s.name, s.state, s.error?.message]))}`);

  for (const s of result.stages) {
    const seconds = s.seconds ?? 0;
    const facts = stageFacts(s.name, s.summary);
    report({ bench: 'daily', metric: `stage ${s.name}`, value: seconds, unit: 's', ...facts, ...(s.name === 'refresher' ? { logLinesPerSecond: lines / seconds } : {}) });
  }
  const linesPerSecond = lines / run.seconds;
  const anchorLinesPerSecond = anchor.result / anchor.seconds;
  report({
    bench: 'daily',
    metric: 'workflow log lines/s',
    value: linesPerSecond,
    unit: 'lines/s',
    seconds: run.seconds,
    anchor: 'gunzip + line count of the same logs (node:zlib)',
    anchorValue: anchorLinesPerSecond,
    ratio: linesPerSecond / anchorLinesPerSecond,
    memoryMb,
    workers: os.availableParallelism(),
  });
  const minutes = ARTICLE_DAY_LINES / linesPerSecond / 60;
  report({
    bench: 'daily',
    metric: "one day of the article's volume (150M sync-log lines) at this rate",
    value: minutes,
    unit: 'min',
    goal: `< ${GOAL_MINUTES} min`,
    met: minutes < GOAL_MINUTES,
  });
} finally {
  if (args.keep) process.stderr.write(`bench daily: kept ${dir}\n`);
  else await fs.rm(dir, { recursive: true, force: true });
}

/** Streams every log file of the day through gunzip and counts lines: the read floor. */
async function countLogLines(dataset: string): Promise<number> {
  const { files } = await listDatasetFiles(dataset);
  let count = 0;
  for (const f of files) {
    const stream = createReadStream(localPath(f.uri)).pipe(createGunzip({ chunkSize: 256 * 1024 }));
    stream.on('data', (chunk: Buffer) => {
      let i = -1;
      while ((i = chunk.indexOf(10, i + 1)) !== -1) count++;
    });
    await once(stream, 'end');
  }
  return count;
}

function stageFacts(name: string, summary: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!summary) return {};
  if (name === 'refresher') return { storeRows: summary['storeRows'], requestRows: summary['requestRows'] };
  if (typeof summary['rows'] === 'number') return { rows: summary['rows'], bytes: summary['bytes'] };
  return {};
}
