/**
 * Opens a step's inputs: lists each dataset's files through its `_SUCCESS` marker and checks the fields
 * the step declared against the schema stored there, so a renamed or retyped column fails at step start
 * with both schemas named, not as odd values deep inside a mapper.
 */
import { datasetFiles, projectSchema, rowsToBatch, writeDataset, type DatasetFile, type RecordSchema } from '../storage/index.ts';
import { BadRecordLog, QUARANTINE_SCHEMA } from './bad-records.ts';
import { CounterSet } from './counters.ts';
import { JobError } from './engine-error.ts';
import type { PlannedInput, PlannedStep, RunPlan } from './run-plan.ts';
import type { StepResult } from './runner-types.ts';
import type { DatasetMarker } from '../storage/index.ts';

/** An input ready to read: its files, the stored schema and the projection the mapper sees. */
export interface OpenedInput extends PlannedInput {
  readonly files: readonly DatasetFile[];
  /** The schema in the dataset's marker (read files with it). */
  readonly stored: RecordSchema;
  /** The stored schema projected onto `columns` (convert batches with it). */
  readonly projected: RecordSchema;
  readonly rows: number;
  readonly bytes: number;
}

/** Opens every input of a step. */
export async function openStepInputs(plan: RunPlan<unknown>, step: PlannedStep<unknown>): Promise<OpenedInput[]> {
  const out: OpenedInput[] = [];
  for (const input of step.inputs) {
    const fail = (msg: string): never => {
      throw new JobError(plan.job.name, step.definition.name, `input "${input.name}" (${input.uri}): ${msg}`);
    };
    let listed: Awaited<ReturnType<typeof datasetFiles>>;
    try {
      listed = await datasetFiles(input.uri);
    } catch (e) {
      // Storage errors name the URI and what to do already.
      throw new JobError(plan.job.name, step.definition.name, `input "${input.name}": ${(e as Error).message ?? String(e)}`, { cause: e });
    }
    const stored = listed.schema;
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
    out.push({
      ...input,
      files: listed.files,
      stored,
      projected: projectSchema(stored, input.columns, `input "${input.name}"`),
      rows: listed.files.reduce((s, f) => s + f.rows, 0),
      bytes: listed.files.reduce((s, f) => s + f.bytes, 0),
    });
  }
  return out;
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

/** Writes a step's sampled bad records to its quarantine dataset (nothing when there were none). */
export async function writeQuarantine(plan: RunPlan<unknown>, step: PlannedStep<unknown>, bad: BadRecordLog): Promise<void> {
  if (bad.count === 0) return;
  await writeDataset(step.quarantine, QUARANTINE_SCHEMA, [rowsToBatch(QUARANTINE_SCHEMA, bad.sample)], {
    overwrite: true,
    extra: { job: plan.job.name, step: step.definition.name, runId: plan.runId, badRecords: bad.count, sampled: bad.sample.length },
  });
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
    ...(bad.count > 0 ? { quarantine: step.quarantine } : {}),
  };
}
