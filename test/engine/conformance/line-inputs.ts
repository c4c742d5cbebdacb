/**
 * Text-line inputs (`format: 'lines'`) of a `files` dataset, as the webapp logs are stored: gzipped and plain
 * files, records `{ line }` located by file and 0-based line, `ctx.reject` for expected garbage (counted and
 * quarantined, never judged against the rate), and damaged files failing the step with the file named.
 */
import { gzipSync } from 'node:zlib';
import * as fsp from 'node:fs/promises';
import { expect } from 'vitest';
import { defineSchema, fileSystemFor, isComplete, joinUri, localPath } from '../../../storage/index.ts';
import { defineJob, JobError, logicalDate, type JobRunner, type MapContext, type StepProgress } from '../../../engine/index.ts';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, withoutRoot, writeFilesInput, type TempRoot } from './fixtures.ts';

const totalsSchema = defineSchema({ user: 'string', total: 'int64', lines: 'int64' });

/** Sums the number field of `user<TAB>number` lines per user; rejects lines that do not have that shape. */
export const lineTotalsJob = defineJob({
  name: 'line-totals',
  source: { module: import.meta.url, export: 'lineTotalsJob' },
  params: logicalDate,
  steps: (step) => [
    step({
      name: 'totals',
      inputs: { logs: { dataset: (p) => `logs/dt=${p.date}`, format: 'lines' } },
      map: {
        logs: (r: { line: string }, ctx: MapContext<[string], [number, number]>) => {
          if (r.line === 'boom') throw new Error('a line the mapper cannot handle');
          const f = r.line.split('\t');
          if (f.length !== 2) {
            ctx.reject('field-count', `${f.length} fields`);
            // A reject followed by a throw is a bad record only: its reject is dropped with the call.
            if (f[0] === 'reject-then-throw') throw new RangeError('thrown after a reject');
            return;
          }
          if (!/^\d+$/.test(f[1]!)) {
            // Emits of a call that rejects still count: the user is seen, with nothing to add.
            ctx.emit([f[0]!], [0, 1]);
            ctx.reject('bad-number', JSON.stringify(f[1]));
            return;
          }
          ctx.emit([f[0]!], [Number(f[1]), 1]);
        },
      },
      reduce: (key, values, ctx) => {
        let total = 0;
        let lines = 0;
        for (const [n, l] of values) {
          total += n;
          lines += l;
        }
        ctx.write({ user: key[0], total, lines });
      },
      shuffle: { reducers: 2 },
      output: { schema: totalsSchema, dataset: (p) => `totals/dt=${p.date}` },
    }),
  ],
});

const DATE = '2026-11-23';
/** Lines of the big gzipped file: over two input batches, with garbage at known rows. */
const BIG_LINES = 20_000;
const GARBAGE: Readonly<Record<number, string>> = {
  3: 'garbled',
  8191: 'u1\tx7',
  8192: 'a\tb\tc',
  12_345: 'boom',
  15_000: 'reject-then-throw',
  19_999: 'u2\t',
};

function bigLog(): string {
  const lines: string[] = [];
  for (let i = 0; i < BIG_LINES; i++) lines.push(GARBAGE[i] ?? `u${i % 7}\t${i % 5}`);
  return lines.join('\n') + '\n';
}

/** Two gzipped hourly files and a plain one with CRLF endings and no final newline. */
async function writeLogs(t: TempRoot): Promise<number> {
  const big = gzipSync(bigLog());
  const small = gzipSync('u0\t100\n\nu9\t1\n');
  const plain = 'u9\t2\r\nu9\t3\r\nbad line\r\nu0\t4';
  const marker = await writeFilesInput(t, `logs/dt=${DATE}`, [
    { path: 'hour=00/webapp-a.log.gz', data: big, rows: BIG_LINES },
    { path: 'hour=01/webapp-a.log.gz', data: small, rows: 3 },
    { path: 'hour=01/webapp-b.log', data: plain, rows: 4 },
  ]);
  return marker.files.reduce((s, f) => s + f.bytes, 0);
}

export const lineInputsCase: ConformanceCase = {
  name: 'line-inputs',
  title: "lines inputs: gzip and plain text, { line } records located by file and line, ctx.reject counted and quarantined",
  async run({ runner, t }) {
    const bytes = await writeLogs(t);
    const progress: StepProgress[] = [];
    const result = await runner.run(lineTotalsJob, { date: DATE }, { storageRoot: t.root, onProgress: (p) => progress.push(p) });
    const step = result.steps[0]!;
    expect(step.quarantine).toBe(joinUri(result.workDir, '_quarantine', 'totals'));
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ phase: 'done', recordsIn: BIG_LINES + 7, recordsInTotal: BIG_LINES + 7, bytesIn: bytes, bytesInTotal: bytes });
    for (const p of progress) expect(p.bytesIn).toBeLessThanOrEqual(bytes);

    const quarantine = (await readRows(step.quarantine!)).map(({ stack, ...rest }) => {
      // Bad records carry the mapper's real stack; rejected records carry reason and detail instead.
      if (rest.phase === 'rejected') expect(stack).toBeNull();
      else expect(stack).toMatch(/line-inputs\.ts/);
      return rest;
    });
    return { steps: stepFacts(result), output: await readRows(step.output), quarantine: withoutRoot(quarantine, t) };
  },
};

/** Runs the job expecting a JobError; returns the storage error's message (the same text on every runner). */
async function readFailure(runner: JobRunner, t: TempRoot): Promise<string> {
  const e = await runner.run(lineTotalsJob, { date: DATE }, { storageRoot: t.root, overwrite: true }).then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(JobError);
  const output = joinUri(t.root, `totals/dt=${DATE}`);
  expect(await isComplete(fileSystemFor(output), output)).toBe(false);
  // Runners word the task around it differently; the cause is the reader's own error, naming the file.
  expect((e as Error).message).toContain((e as Error & { cause: Error }).cause.message);
  return withoutRoot((e as Error & { cause: Error }).cause.message, t);
}

export const damagedLineInputsCase: ConformanceCase = {
  name: 'damaged-line-inputs',
  title: 'lines inputs: a .gz file that is not gzip, a truncated gzip file and a size mismatch fail the step naming the file',
  async run({ runner, t }) {
    const good = gzipSync('u1\t1\n');
    const full = gzipSync(bigLog());
    const notGzip = await (async () => {
      await writeFilesInput(t, `logs/dt=${DATE}`, [
        { path: 'hour=00/webapp-a.log.gz', data: good, rows: 1 },
        { path: 'hour=01/webapp-a.log.gz', data: 'u1\t1\nu2\t2\n', rows: 2 },
      ]);
      return readFailure(runner, t);
    })();
    const truncated = await (async () => {
      await writeFilesInput(t, `logs/dt=${DATE}`, [{ path: 'hour=00/webapp-a.log.gz', data: full.subarray(0, Math.floor(full.length / 2)), rows: BIG_LINES }]);
      return readFailure(runner, t);
    })();
    const sizeMismatch = await (async () => {
      const marker = await writeFilesInput(t, `logs/dt=${DATE}`, [{ path: 'hour=00/webapp-a.log.gz', data: good, rows: 1 }]);
      await fsp.appendFile(localPath(joinUri(t.root, `logs/dt=${DATE}`, marker.files[0]!.path)), 'more');
      return readFailure(runner, t);
    })();
    expect(notGzip).toMatch(/hour=01\/webapp-a\.log\.gz: is not gzip data/);
    expect(truncated).toMatch(/hour=00\/webapp-a\.log\.gz: gzip data is truncated at line \d+/);
    expect(sizeMismatch).toMatch(/hour=00\/webapp-a\.log\.gz: has \d+ bytes, the marker says \d+/);
    return { notGzip, truncated, sizeMismatch };
  },
};
