// Committing what a step's Spark SQL script wrote. No Spark runs here, so the test writes the step's Spark dir
// in the layout the script's INSERT OVERWRITE DIRECTORY statements give (spark-sql-step.ts): Parquet part
// files with Hadoop's `.crc` side files and no `_SUCCESS`, one JSON counts row, the quarantine as Parquet.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobError, QUARANTINE_SCHEMA } from '../../engine/index.ts';
import { planRun, type RunPlan } from '../../engine/run-plan.ts';
import { sparkStepDir } from '../../engine/spark-sql-step.ts';
import { commitSparkStep } from '../../engine/spark-step-output.ts';
import { fileSystemFor, isComplete, joinUri, localPath, rowsToBatch, writeParquetFile } from '../../storage/index.ts';
import { makeTempRoot, readRows, removeTempRoot, type TempRoot } from './conformance/fixtures.ts';
import { countsSchema, wordCountJob } from './conformance/word-count.ts';

const DATE = '2026-11-23';
let t: TempRoot | undefined;
beforeEach(async () => {
  t = await makeTempRoot('courier-spark-output-');
});
afterEach(async () => {
  await removeTempRoot(t);
  t = undefined;
});

async function sparkDirWith(plan: RunPlan<unknown>, counts: Record<string, number>, bad = 0): Promise<string> {
  const dir = sparkStepDir(plan, 'count');
  const out = localPath(joinUri(dir, 'output'));
  fs.mkdirSync(out, { recursive: true });
  await writeParquetFile(path.join(out, 'part-00000-8c1f.c000.snappy.parquet'), countsSchema, [rowsToBatch(countsSchema, [{ word: 'fox', count: 5 }, { word: 'dog', count: 2 }])]);
  await writeParquetFile(path.join(out, 'part-00001-8c1f.c000.snappy.parquet'), countsSchema, [rowsToBatch(countsSchema, [{ word: 'the', count: 4 }])]);
  fs.writeFileSync(path.join(out, '.part-00000-8c1f.c000.snappy.parquet.crc'), 'crc');
  const c = localPath(joinUri(dir, 'counts'));
  fs.mkdirSync(c, { recursive: true });
  fs.writeFileSync(path.join(c, 'part-00000-1b2c.json'), JSON.stringify(counts) + '\n');
  if (bad > 0) {
    const q = localPath(joinUri(dir, 'quarantine'));
    fs.mkdirSync(q, { recursive: true });
    const row = { step: 'count', phase: 'map', input: 'lines', file: 'f', row: 3, error: 'Error: x', stack: 'Error: x\n    at map', reason: null, detail: null, record_json: '{}' };
    await writeParquetFile(path.join(q, 'part-00000-77aa.c000.snappy.parquet'), QUARANTINE_SCHEMA, [rowsToBatch(QUARANTINE_SCHEMA, Array.from({ length: bad }, () => row))]);
  }
  return dir;
}

describe('commitSparkStep: a Spark step dir becomes a marked dataset (layout written by the test, as the script writes it)', () => {
  it('adopts the part files under a _SUCCESS marker with their row counts, and the quarantine', async () => {
    const plan = (await planRun(wordCountJob(), { date: DATE }, { storageRoot: t!.root })) as RunPlan<unknown>;
    const dir = await sparkDirWith(plan, { records_in: 8, records_out: 3, bad_records: 1, rejected_records: 0 }, 1);
    const step = plan.steps[0]!;
    const committed = await commitSparkStep(plan, step, dir, [], { runner: 'spark-submit' });
    expect(committed.counts).toEqual({ recordsIn: 8, recordsOut: 3, badRecords: 1, rejectedRecords: 0 });
    expect(committed.marker.rows).toBe(3);
    expect(committed.marker.files.map((f) => [f.path, f.rows])).toEqual([
      ['part-00000-8c1f.c000.snappy.parquet', 2],
      ['part-00001-8c1f.c000.snappy.parquet', 1],
    ]);
    expect(committed.marker.extra).toMatchObject({ runner: 'spark-submit', recordsIn: 8, recordsOut: 3, badRecords: 1 });
    expect(await isComplete(fileSystemFor(step.output.uri), step.output.uri)).toBe(true);
    expect(await readRows(step.output.uri)).toEqual([
      { count: 2, word: 'dog' },
      { count: 4, word: 'the' },
      { count: 5, word: 'fox' },
    ]);
    expect(committed.quarantine).toBe(step.quarantine);
    expect((await readRows(step.quarantine)).map((r) => r['row'])).toEqual([3]);
  });

  it('refuses to mark a dataset whose files hold another row count than the step counted', async () => {
    const plan = (await planRun(wordCountJob(), { date: DATE }, { storageRoot: t!.root })) as RunPlan<unknown>;
    const dir = await sparkDirWith(plan, { records_in: 8, records_out: 4, bad_records: 0, rejected_records: 0 });
    const step = plan.steps[0]!;
    await expect(commitSparkStep(plan, step, dir, [], {})).rejects.toThrow(/job "word-count" step "count": the files Spark wrote under \S+ hold 3 rows, but the step counted 4; re-run the stage/);
    expect(await isComplete(fileSystemFor(step.output.uri), step.output.uri)).toBe(false);
  });

  it('a script that did not finish: no counts row', async () => {
    const plan = (await planRun(wordCountJob(), { date: DATE }, { storageRoot: t!.root })) as RunPlan<unknown>;
    const e = await commitSparkStep(plan, plan.steps[0]!, sparkStepDir(plan, 'count'), [], {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobError);
    expect((e as Error).message).toMatch(/expected one counts row in \S+\/spark\/count\/counts, found 0/);
  });
});
