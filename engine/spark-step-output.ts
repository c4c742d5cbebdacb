/**
 * What a step's Spark SQL script leaves (spark-sql-step.ts: `output/`, `quarantine/`, `counts/` and, when the
 * bundle ran with `--counters-in-band`, `counters/` under the step's Spark dir), committed as the local runners
 * commit their own: the Parquet files Spark wrote renamed into the dataset under a `_SUCCESS` marker with row
 * counts, the quarantine likewise, and the counts and counters read back as the step's figures. For every
 * Spark submitter; the script never writes a Courier marker itself.
 */
import {
  countParquetRows,
  DatasetStaging,
  fileSystemFor,
  joinUri,
  type DatasetMarker,
  type FileEntry,
  type PartitionKey,
} from '../storage/index.ts';
import { QUARANTINE_SCHEMA } from './bad-records.ts';
import { sumCounters, type Counters } from './counters.ts';
import { JobError } from './engine-error.ts';
import type { PlannedStep, RunPlan } from './run-plan.ts';
import { SPARK_STEP_DIRS, type SparkStepCounts } from './spark-sql-step.ts';

/** What committing a step's Spark dir gave. */
export interface CommittedSparkStep {
  readonly marker: DatasetMarker;
  readonly counts: { recordsIn: number; recordsOut: number; badRecords: number; rejectedRecords: number };
  readonly counters: Counters;
  /** The quarantine dataset, when the step had bad or rejected records. */
  readonly quarantine?: string;
}

/** Data files Spark wrote under `dir` (not `_`- or `.`-prefixed, not checksums); none when `dir` is missing. */
export async function sparkFiles(dir: string): Promise<FileEntry[]> {
  const fs = fileSystemFor(dir);
  if (!(await fs.exists(dir))) return [];
  const entries = await fs.list(dir, { recursive: true });
  return entries.filter((e) => !e.isDirectory && !e.uri.slice(dir.length + 1).split('/').some((seg) => seg.startsWith('_') || seg.startsWith('.')) && !e.name.endsWith('.crc'));
}

/** Every JSON line of the text files Spark wrote under `dir`. */
export async function readSparkJsonLines<T>(dir: string, where: string): Promise<T[]> {
  const fs = fileSystemFor(dir);
  const out: T[] = [];
  for (const f of await sparkFiles(dir)) {
    for (const line of (await fs.readBytes(f.uri)).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as T);
      } catch (e) {
        throw new Error(`${where}: ${f.uri} holds a line that is not JSON (${(e as Error).message}): ${line.slice(0, 80)}`);
      }
    }
  }
  return out;
}

/** Moves the Parquet files Spark wrote under `from` into the dataset `to` and writes its `_SUCCESS` marker. */
export async function adoptSparkParquet(
  from: string,
  to: string,
  fields: { overwrite: boolean; schema: DatasetMarker['schema']; partitionBy: readonly PartitionKey[]; extra: Record<string, unknown>; expectRows?: number; where?: string },
): Promise<DatasetMarker> {
  const fs = fileSystemFor(to);
  const files = await sparkFiles(from);
  const staging = await DatasetStaging.begin(fs, to, { overwrite: fields.overwrite });
  try {
    let total = 0;
    for (const f of files) {
      const rel = f.uri.slice(from.length + 1);
      const rows = await countParquetRows(await fileSystemFor(f.uri).localPathFor(f.uri), f.uri);
      total += rows;
      const target = staging.stagedUri(rel);
      await fs.mkdirs(target.slice(0, target.lastIndexOf('/')));
      await fs.rename(f.uri, target);
      await staging.recordFile(rel, rows);
    }
    // Checked before the marker is written, so a dataset whose files disagree with the step's count is never complete.
    if (fields.expectRows !== undefined && total !== fields.expectRows) {
      throw new Error(`${fields.where ?? to}: the files Spark wrote under ${from} hold ${total} rows, but the step counted ${fields.expectRows}; re-run the stage`);
    }
    return await staging.commit({
      kind: 'parquet',
      ...(fields.schema ? { schema: fields.schema } : {}),
      ...(fields.partitionBy.length ? { partitionBy: [...fields.partitionBy] } : {}),
      extra: fields.extra,
    });
  } catch (e) {
    await staging.abort();
    throw e;
  }
}

/** Commits the output and quarantine a step's Spark SQL script wrote under `sparkDir` (a storage URI). */
export async function commitSparkStep(
  plan: RunPlan<unknown>,
  step: PlannedStep<unknown>,
  sparkDir: string,
  partitionBy: readonly PartitionKey[],
  extra: Record<string, unknown>,
): Promise<CommittedSparkStep> {
  const job = plan.job.name;
  const name = step.definition.name;
  const where = `job "${job}" step "${name}"`;
  const rows = await readSparkJsonLines<SparkStepCounts>(joinUri(sparkDir, SPARK_STEP_DIRS.counts), where);
  if (rows.length !== 1) {
    throw new JobError(job, name, `expected one counts row in ${joinUri(sparkDir, SPARK_STEP_DIRS.counts)}, found ${rows.length}: the step's Spark SQL script did not finish; see the driver output`);
  }
  const row = rows[0]!;
  const counts = { recordsIn: Number(row.records_in), recordsOut: Number(row.records_out), badRecords: Number(row.bad_records), rejectedRecords: Number(row.rejected_records) };
  const countersDir = (SPARK_STEP_DIRS as Record<string, string>)['counters'];
  const counters = countersDir ? sumCounters(await readSparkJsonLines<Counters>(joinUri(sparkDir, countersDir), where)) : {};
  const marker = await adoptSparkParquet(joinUri(sparkDir, SPARK_STEP_DIRS.output), step.output.uri, {
    overwrite: step.output.intermediate || plan.options.overwrite === true,
    schema: [...step.output.schema.fields],
    partitionBy,
    extra: { ...extra, recordsIn: counts.recordsIn, recordsOut: counts.recordsOut, badRecords: counts.badRecords, counters },
    expectRows: counts.recordsOut,
    where,
  });
  const quarantined = counts.badRecords + counts.rejectedRecords;
  if (quarantined > 0) {
    await adoptSparkParquet(joinUri(sparkDir, SPARK_STEP_DIRS.quarantine), step.quarantine, {
      overwrite: true,
      schema: [...QUARANTINE_SCHEMA.fields],
      partitionBy: [],
      extra: { job, step: name, runId: plan.runId, badRecords: counts.badRecords, rejectedRecords: counts.rejectedRecords },
    });
  }
  return { marker, counts, counters, ...(quarantined > 0 ? { quarantine: step.quarantine } : {}) };
}
