/**
 * Bad records: map and reduce calls that throw are counted and quarantined with their location; the step
 * fails only past maxBadRecordRate, naming the top errors and the first record (file, row), with the
 * original error and its real stack as `cause`, and leaving no marked output.
 */
import { expect } from 'vitest';
import { datasetFiles, defineSchema, fileSystemFor, isComplete, joinUri, parentUri } from '../../../storage/index.ts';
import { BadRecordRateError, defineJob, logicalDate, QUARANTINE_SCHEMA, type JobResult, type MapContext } from '../../../engine/index.ts';
import type { CaseEnv, ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, withoutRoot, writeInput } from './fixtures.ts';

const linesSchema = defineSchema({ text: { type: 'string', nullable: true } });
const countsSchema = defineSchema({ word: 'string', count: 'int64' });

export const strictWordCountJob = defineJob({
  name: 'strict-word-count',
  source: { module: import.meta.url, export: 'strictWordCountJob' },
  params: logicalDate,
  steps: (step) => [
    step({
      name: 'count',
      inputs: { lines: { dataset: (p) => `lines/dt=${p.date}`, schema: linesSchema } },
      map: {
        // A null line throws a TypeError here: a bad record, like a malformed log line.
        lines: (r: { text: string | null }, ctx: MapContext<[string], number>) => {
          for (const w of r.text!.split(' ')) ctx.emit([w], 1);
        },
      },
      reduce: (key, values, ctx) => {
        let n = 0;
        for (const v of values) n += v;
        if (key[0] === 'boom') throw new RangeError(`word "${key[0]}" is forbidden`);
        ctx.write({ word: key[0], count: n });
      },
      shuffle: { reducers: 2 },
      output: { schema: countsSchema, dataset: (p) => `counts/dt=${p.date}` },
    }),
  ],
});

/** 200 lines over 4 files; lines 10, 50 and 150 are null (map fails); "boom" appears twice (one reduce fails). */
async function writeLines(t: CaseEnv['t']): Promise<void> {
  const rows = Array.from({ length: 200 }, (_, i) => ({
    text: i === 10 || i === 50 || i === 150 ? null : i === 77 || i === 78 ? 'boom ok' : `w${i % 7} w${i % 3}`,
  }));
  await writeInput(t, 'lines/dt=2026-11-23', linesSchema, rows, { rowsPerFile: 50 });
}

/** Quarantine rows without the parts that differ per machine (root, stack lines), plus a check of the stack. */
async function quarantineRows(env: CaseEnv, uri: string): Promise<unknown[]> {
  const rows = await readRows(uri);
  for (const r of rows) {
    // The real stack of the user code: it names this file.
    expect(r.stack).toMatch(/bad-records\.ts/);
  }
  return withoutRoot(
    rows.map(({ stack: _stack, ...rest }) => rest),
    env.t,
  );
}

export const badRecordsUnderRateCase: ConformanceCase = {
  name: 'bad-records-under-rate',
  title: 'bad records under the rate: counted, quarantined with location, output complete',
  async run(env) {
    const { runner, t } = env;
    await writeLines(t);
    const result: JobResult = await runner.run(strictWordCountJob, { date: '2026-11-23' }, { storageRoot: t.root, maxBadRecordRate: 0.05 });
    const step = result.steps[0]!;
    expect(step.badRecords).toBe(4);
    expect(step.quarantine).toBe(joinUri(result.workDir, '_quarantine', 'count'));
    const { schema } = await datasetFiles(step.quarantine!);
    expect(schema).toEqual(QUARANTINE_SCHEMA);
    return { steps: stepFacts(result), output: await readRows(step.output), quarantine: await quarantineRows(env, step.quarantine!) };
  },
};

export const badRecordsOverRateCase: ConformanceCase = {
  name: 'bad-records-over-rate',
  title: 'bad records over the rate: the step fails with top errors, location and real stack; no marked output',
  async run(env) {
    const { runner, t } = env;
    await writeLines(t);
    const workDir = joinUri(t.root, 'work');
    const error = await runner
      .run(strictWordCountJob, { date: '2026-11-23' }, { storageRoot: t.root, workDir, maxBadRecordRate: 0.01 })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(BadRecordRateError);
    const e = error as BadRecordRateError;
    // 200 records allow 2 bad ones; the third fails the step.
    expect(e.message).toContain('3 bad records of 200 records in');
    expect(e.message).toContain('3 × map: TypeError:');
    expect(e.message).toMatch(/First bad record: map of input "lines" at file:\/\/\S+\/part-00000\.parquet row 10\./);
    expect(e.message).toContain(joinUri(workDir, '_quarantine', 'count'));
    // The original error, with the stack of the mapper that threw.
    expect(e.cause).toBeInstanceOf(TypeError);
    expect((e.cause as Error).stack).toMatch(/bad-records\.ts/);
    expect(e.message).toContain((e.cause as Error).stack!.split('\n')[1]!.trim());
    const output = joinUri(t.root, 'counts/dt=2026-11-23');
    expect(await isComplete(fileSystemFor(output), output)).toBe(false);
    const siblings = await fileSystemFor(output).list(parentUri(output));
    expect(siblings.map((s) => s.name)).toEqual([]);

    // A reduce failure over the rate is judged before the output is committed.
    const reduceError = await runner
      .run(strictWordCountJob, { date: '2026-11-23' }, { storageRoot: t.root, workDir: joinUri(t.root, 'work2'), maxBadRecordRate: 0.016 })
      .then(() => undefined, (x: unknown) => x);
    expect(reduceError).toBeInstanceOf(BadRecordRateError);
    expect((reduceError as Error).message).toContain('4 bad records of 200 records in');
    expect(await isComplete(fileSystemFor(output), output)).toBe(false);

    return {
      error: {
        name: e.name,
        badRecords: e.badRecords,
        recordsIn: e.recordsIn,
        topErrors: e.topErrors,
        firstBadRecord: withoutRoot(e.firstBadRecord, t),
      },
      reduceError: { topErrors: (reduceError as BadRecordRateError).topErrors },
      quarantine: await quarantineRows(env, joinUri(workDir, '_quarantine', 'count')),
    };
  },
};
