/**
 * A workflow run in a child process for the resume test: prepare → slow → final. With HANG_IN=slow the slow stage
 * writes part of its output into staging, prints "slow-started" and hangs until the test kills it with SIGKILL.
 * Usage: node --import tsx test/workflows/resume-child.ts <storageRoot> <date>
 */
import { inlineRunner } from '../../engine/index.ts';
import { joinUri, rowsToBatch, writeDataset, type Row } from '../../storage/index.ts';
import { defineWorkflow, runWorkflow } from '../../workflows/index.ts';
import { numbers, readNumbers } from './workflow-fixtures.ts';

const [root, date] = process.argv.slice(2) as [string, string];

const copy = async (ctx: { storageRoot: string; date: string; overwrite: boolean }, from: string, to: string, hang: boolean) => {
  const rows = (await readNumbers(ctx.storageRoot, `${from}/dt=${ctx.date}`)).map((r): Row => ({ n: Number(r['n']) * 10, label: `${to}:${String(r['label'])}` }));
  async function* batches() {
    yield rowsToBatch(numbers, rows.slice(0, 4));
    if (hang) {
      process.stdout.write('slow-started\n');
      // Keep the process alive until the test's SIGKILL.
      setInterval(() => {}, 1000);
      await new Promise(() => {});
    }
    yield rowsToBatch(numbers, rows.slice(4));
  }
  await writeDataset(joinUri(ctx.storageRoot, `${to}/dt=${ctx.date}`), numbers, batches(), { rowsPerFile: 2, overwrite: ctx.overwrite });
};

const workflow = defineWorkflow<unknown>({
  name: 'resumable',
  description: 'prepare → slow → final',
  period: 'daily',
  stages: [
    { name: 'prepare', inputs: (c) => [`src/dt=${c.date}`], outputs: (c) => [`prepared/dt=${c.date}`], run: (c) => copy(c, 'src', 'prepared', false) },
    { name: 'slow', dependsOn: ['prepare'], outputs: (c) => [`slow/dt=${c.date}`], run: (c) => copy(c, 'prepared', 'slow', process.env['HANG_IN'] === 'slow') },
    { name: 'final', dependsOn: ['slow'], outputs: (c) => [`final/dt=${c.date}`], run: (c) => copy(c, 'slow', 'final', false) },
  ],
});

const result = await runWorkflow(workflow, { date, storageRoot: root, settings: {}, runner: inlineRunner() });
process.stdout.write(`${JSON.stringify({ state: result.state, stages: result.stages.map((s) => [s.name, s.state]) })}\n`);
