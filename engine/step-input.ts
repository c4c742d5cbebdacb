/**
 * Opens a step's inputs: lists each dataset's files through its `_SUCCESS` marker and checks the fields
 * the step declared against the schema stored there, so a renamed or retyped column fails at step start
 * with both schemas named, not as odd values deep inside a mapper.
 */
import {
  batchToRows,
  listDatasetFiles,
  projectSchema,
  readDatasetFile,
  readLineFile,
  rowsToBatch,
  writeDataset,
  type DatasetFile,
  type RecordSchema,
  type Row,
} from '../storage/index.ts';
import { LINE_SCHEMA } from './job-definition.ts';
import { BadRecordLog, QUARANTINE_SCHEMA } from './bad-records.ts';
import { CounterSet } from './counters.ts';
import { JobError } from './engine-error.ts';
import type { PlannedInput, PlannedStep, RunPlan } from './run-plan.ts';
import type { StepProgress, StepResult } from './runner-types.ts';
import type { DatasetMarker } from '../storage/index.ts';

/** One dataset of an input, ready to read: its files, the stored schema and the projection the mapper sees. */
export interface OpenedDataset {
  readonly uri: string;
  readonly files: readonly DatasetFile[];
  /** The schema in the dataset's marker (read files with it); LINE_SCHEMA for lines. */
  readonly stored: RecordSchema;
  /** The stored schema projected onto the input's columns (convert batches with it). */
  readonly projected: RecordSchema;
}

/** An input ready to read: its datasets in order, with totals from their markers. */
export interface OpenedInput extends PlannedInput {
  readonly datasets: readonly OpenedDataset[];
  readonly rows: number;
  readonly bytes: number;
}

/** Opens every input of a step. */
export async function openStepInputs(plan: RunPlan<unknown>, step: PlannedStep<unknown>): Promise<OpenedInput[]> {
  const out: OpenedInput[] = [];
  for (const input of step.inputs) {
    const datasets: OpenedDataset[] = [];
    for (const uri of input.uris) datasets.push(await openDataset(plan, step, input, uri));
    const files = datasets.flatMap((d) => d.files);
    out.push({ ...input, datasets, rows: files.reduce((s, f) => s + f.rows, 0), bytes: files.reduce((s, f) => s + f.bytes, 0) });
  }
  return out;
}

async function openDataset(plan: RunPlan<unknown>, step: PlannedStep<unknown>, input: PlannedInput, uri: string): Promise<OpenedDataset> {
  const fail = (msg: string): never => {
    throw new JobError(plan.job.name, step.definition.name, `input "${input.name}" (${uri}): ${msg}`);
  };
  let listed: Awaited<ReturnType<typeof listDatasetFiles>>;
  try {
    listed = await listDatasetFiles(uri, input.partitions ? { partitions: input.partitions } : {});
  } catch (e) {
    // Storage errors name the URI and what to do already.
    throw new JobError(plan.job.name, step.definition.name, `input "${input.name}": ${(e as Error).message ?? String(e)}`, { cause: e });
  }
  if (input.format === 'lines') {
    if (listed.marker.kind !== 'files') {
      fail("is a Parquet dataset, but the input reads text lines (format: 'lines'); read it with format 'parquet' and a schema, or point the input at a files dataset");
    }
    return { uri, files: listed.files, stored: LINE_SCHEMA, projected: LINE_SCHEMA };
  }
  const stored = listed.schema;
  if (stored === undefined) {
    return fail("is a files dataset (text or other files, no schema), but the input reads Parquet; give the input format: 'lines' to read its text lines");
  }
  const problems: string[] = [];
  for (const f of input.schema.fields) {
    if (!input.columns.includes(f.name)) continue;
    const s = stored.fields.find((x) => x.name === f.name);
    if (!s) problems.push(`field "${f.name}" (${f.type}) is missing`);
    else if (s.type !== f.type) problems.push(`field "${f.name}" is ${s.type}, the step expects ${f.type}`);
  }
  if (problems.length > 0) {
    fail(
      `${problems.join('; ')}. Stored schema: ${stored.fields.map((f) => `${f.name}: ${f.type}`).join(', ')}. ` +
        'Fix the step\'s input schema, or re-run the stage that writes the dataset.',
    );
  }
  return { uri, files: listed.files, stored, projected: projectSchema(stored, input.columns, `input "${input.name}"`) };
}

/** What reading one input file needs (plain data, so a worker task can carry it). */
export interface InputFileSource {
  readonly format: 'parquet' | 'lines';
  readonly file: DatasetFile;
  readonly stored: RecordSchema;
  readonly projected: RecordSchema;
  readonly columns: readonly string[];
  /** A Parquet file may be read as several row ranges (one per map task): rows `fromRow` up to `toRow`. */
  readonly fromRow?: number;
  readonly toRow?: number;
}

/** The files of an input in order (datasets in list order, each in marker order), with how to read each. */
export function inputFileSources(input: OpenedInput): InputFileSource[] {
  return input.datasets.flatMap((d) =>
    d.files.map((file) => ({ format: input.format, file, stored: d.stored, projected: d.projected, columns: input.columns })),
  );
}

/** A batch of records of one input file. */
export interface InputBatch {
  readonly rows: readonly Row[];
  /** 0-based row (line) number of the first record in its file. */
  readonly firstRow: number;
  /** Bytes of the file read so far: compressed bytes for lines, estimated by rows for Parquet. */
  readonly bytesRead: number;
}

/** Reads one input file as records, the same way in every runner: Parquet rows, or `{ line }` records. */
export async function* readInputFile(source: InputFileSource, batchRows: number): AsyncGenerator<InputBatch> {
  const { file } = source;
  if (source.format === 'lines') {
    for await (const b of readLineFile(file, { batchRows })) {
      const rows: Row[] = new Array(b.lines.length);
      for (let i = 0; i < rows.length; i++) rows[i] = { line: b.lines[i]! };
      yield { rows, firstRow: b.firstLine, bytesRead: b.bytesRead };
    }
    return;
  }
  const fromRow = source.fromRow ?? 0;
  let row = fromRow;
  for await (const batch of readDatasetFile(file, source.stored, { columns: source.columns, batchRows, fromRow, toRow: source.toRow })) {
    const firstRow = row;
    row += batch.numRows;
    yield { rows: batchToRows(source.projected, batch), firstRow, bytesRead: file.rows > 0 ? (file.bytes * (row - fromRow)) / file.rows : 0 };
  }
}

/** What every runner sets up when a step starts: its opened inputs with their totals, counters, bad-record log. */
export interface StartedStep {
  inputs: OpenedInput[];
  recordsInTotal: number;
  bytesInTotal: number;
  counters: CounterSet;
  bad: BadRecordLog;
}

/** Opens a step's inputs and creates its counters and bad-record log (the same for every runner). */
export async function startStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, quarantineSample: number | undefined): Promise<StartedStep> {
  const inputs = await openStepInputs(plan, step);
  const recordsInTotal = inputs.reduce((s, i) => s + i.rows, 0);
  const bytesInTotal = inputs.reduce((s, i) => s + i.bytes, 0);
  const bad = new BadRecordLog({
    job: plan.job.name,
    step: step.definition.name,
    maxRate: step.maxBadRecordRate,
    expectedRecordsIn: recordsInTotal,
    quarantine: step.quarantine,
    sampleSize: quarantineSample,
  });
  return { inputs, recordsInTotal, bytesInTotal, counters: new CounterSet(), bad };
}

/** Writes a step's sampled bad and rejected records to its quarantine dataset (nothing when there were none). */
export async function writeQuarantine(plan: RunPlan<unknown>, step: PlannedStep<unknown>, bad: BadRecordLog): Promise<void> {
  if (bad.count === 0 && bad.rejectedCount === 0) return;
  await writeDataset(step.quarantine, QUARANTINE_SCHEMA, [rowsToBatch(QUARANTINE_SCHEMA, [...bad.sample, ...bad.rejectedSample])], {
    overwrite: true,
    extra: {
      job: plan.job.name,
      step: step.definition.name,
      runId: plan.runId,
      badRecords: bad.count,
      sampled: bad.sample.length,
      rejectedRecords: bad.rejectedCount,
      rejectedSampled: bad.rejectedSample.length,
    },
  });
}

/**
 * A step that failed: what it quarantined so far is still written (best effort, for the diagnosis), and the
 * error becomes a JobError naming the job and step, the same way for every runner.
 */
export async function failStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, bad: BadRecordLog, error: unknown): Promise<never> {
  await writeQuarantine(plan, step, bad).catch(() => undefined);
  if (error instanceof JobError) throw error;
  throw new JobError(plan.job.name, step.definition.name, (error as Error).message ?? String(error), { cause: error });
}

/** The figures a runner counted for a finished step. */
export interface StepFigures {
  recordsIn: number;
  recordsOut: number;
  mapOutputRecords: number;
  reduceGroups: number;
  marker: DatasetMarker;
}

/** Writes the quarantine and builds the step's result, the same way for every runner. */
export async function finishStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, started: StartedStep, startedAt: number, figures: StepFigures): Promise<StepResult> {
  const { bad, counters } = started;
  await writeQuarantine(plan, step, bad);
  return {
    name: step.definition.name,
    ...figures,
    badRecords: bad.count,
    counters: counters.toJSON(),
    seconds: (performance.now() - startedAt) / 1000,
    output: step.output.uri,
    intermediate: step.output.intermediate,
    ...(bad.count > 0 || bad.rejectedCount > 0 ? { quarantine: step.quarantine } : {}),
  };
}

/** A step's running figures, as the runner counts them. */
export interface StepCounts {
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
}

/** Reports a step's progress to `onProgress` (if any) from its running figures, the same way for every runner. */
export function stepProgressReporter(plan: RunPlan<unknown>, step: PlannedStep<unknown>, started: StartedStep, startedAt: number, counts: StepCounts): (phase: StepProgress['phase']) => void {
  return (phase) => {
    plan.options.onProgress?.({
      job: plan.job.name,
      step: step.definition.name,
      stepIndex: step.index,
      stepCount: plan.steps.length,
      phase,
      recordsIn: counts.recordsIn,
      recordsInTotal: started.recordsInTotal,
      recordsOut: counts.recordsOut,
      // Compressed bytes read are estimated per batch; never report more than the files hold.
      bytesIn: Math.min(started.bytesInTotal, Math.round(counts.bytesIn)),
      bytesInTotal: started.bytesInTotal,
      seconds: (performance.now() - startedAt) / 1000,
    });
  };
}
