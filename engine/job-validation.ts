/**
 * Structural checks of a job, run by `defineJob`: everything that can be wrong before a byte is read is
 * reported here with the job, step and field named.
 */
import { JobDefinitionError } from './engine-error.ts';
import { LINE_SCHEMA, type AnyStep, type Job } from './job-definition.ts';
import type { RecordSchema } from '../storage/index.ts';

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Throws a JobDefinitionError naming the first problem of a job. */
export function validateJob(job: Job<any>): void {
  const fail = (msg: string): never => {
    throw new JobDefinitionError(typeof job.name === 'string' ? job.name : String(job.name), msg);
  };
  if (typeof job.name !== 'string' || !NAME.test(job.name)) fail(`the job name must match ${NAME} (it names paths)`);
  if (typeof job.params?.parse !== 'function') fail('params must be a schema with parse(input) (e.g. logicalDate, or a zod schema)');
  if (!Array.isArray(job.steps) || job.steps.length === 0) fail('a job needs at least one step');
  const seen = new Map<string, AnyStep>();
  const readLater = new Set<string>();
  for (const [i, step] of job.steps.entries()) {
    const where = `step ${i + 1}${typeof step?.name === 'string' ? ` "${step.name}"` : ''}`;
    const sfail = (msg: string): never => fail(`${where}: ${msg}`);
    if (typeof step !== 'object' || step === null) sfail('is not a step object');
    if (typeof step.name !== 'string' || !NAME.test(step.name)) sfail(`the step name must match ${NAME} (it names paths)`);
    if (seen.has(step.name)) sfail('duplicate step name; step names must be unique in a job');
    const inputs = Object.entries((step.inputs ?? {}) as Record<string, unknown>);
    if (inputs.length === 0) sfail('needs at least one input');
    for (const [name, input] of inputs) {
      const ifail = (msg: string): never => sfail(`input "${name}": ${msg}`);
      if (typeof input !== 'object' || input === null) ifail('must be { dataset, schema } or { step }');
      const spec = input as { dataset?: unknown; schema?: unknown; step?: unknown; columns?: unknown; format?: unknown; optional?: unknown; partitions?: unknown };
      let schema: RecordSchema;
      if (typeof spec.step === 'string') {
        const from = seen.get(spec.step);
        if (!from) {
          ifail(
            spec.step === step.name
              ? 'a step cannot read its own output'
              : job.steps.some((s) => s.name === spec.step)
                ? `step "${spec.step}" runs later; a step reads only the output of earlier steps`
                : `no step "${spec.step}" in this job (steps: ${job.steps.map((s) => s.name).join(', ')})`,
          );
        }
        readLater.add(spec.step);
        schema = from!.output.schema;
      } else {
        if (typeof spec.dataset !== 'function') ifail('dataset must be a function (params) => path or URI, or give { step } to read an earlier step');
        if (spec.format !== undefined && spec.format !== 'parquet' && spec.format !== 'lines') ifail(`format must be 'parquet' (the default) or 'lines', got ${JSON.stringify(spec.format)}`);
        if (spec.optional !== undefined && typeof spec.optional !== 'boolean') ifail('optional must be true or false');
        if (spec.format === 'lines') {
          if (spec.schema !== undefined) ifail("a lines input has the fixed record schema { line: string }; remove its schema");
          if (spec.partitions !== undefined) ifail('partition filters apply to Parquet inputs; a lines input reads every file of its datasets');
          schema = LINE_SCHEMA;
        } else {
          if (!isSchema(spec.schema)) ifail("schema must be a RecordSchema (defineSchema from storage); give format: 'lines' to read text lines");
          if (spec.partitions !== undefined && typeof spec.partitions !== 'function') ifail('partitions must be a function (params) => { column: [values] }');
          schema = spec.schema as RecordSchema;
        }
      }
      if (spec.columns !== undefined) {
        if (!Array.isArray(spec.columns) || spec.columns.length === 0) ifail('columns must be a non-empty array of field names');
        for (const c of spec.columns as unknown[]) {
          if (!schema.fields.some((f) => f.name === c)) ifail(`column "${String(c)}" is not in its schema (${schema.fields.map((f) => f.name).join(', ')})`);
        }
      }
      if (typeof (step.map as Record<string, unknown> | undefined)?.[name] !== 'function') {
        ifail(`map.${name} must be a function (record, ctx) => void; each input has its own mapper`);
      }
    }
    for (const name of Object.keys((step.map ?? {}) as object)) {
      if (!inputs.some(([n]) => n === name)) sfail(`map.${name} has no input of that name (inputs: ${inputs.map(([n]) => n).join(', ')})`);
    }
    if (typeof step.reduce !== 'function') sfail('reduce must be a function (key, values, ctx) => void');
    if (step.combine !== undefined && typeof step.combine !== 'function') sfail('combine must be a function (key, values, ctx) => void');
    const sh = step.shuffle ?? {};
    for (const k of ['partitionFields', 'groupFields', 'reducers'] as const) {
      const v = sh[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) sfail(`shuffle.${k} must be an integer >= 1, got ${String(v)}`);
    }
    if (sh.partitionFields !== undefined && sh.partitionFields > (sh.groupFields ?? Infinity)) {
      sfail(
        `shuffle.partitionFields (${sh.partitionFields}) exceeds groupFields (${sh.groupFields ?? 'all'}): one group would be split across reducers; partition on at most the group's parts`,
      );
    }
    if (step.maxBadRecordRate !== undefined && !(step.maxBadRecordRate >= 0 && step.maxBadRecordRate <= 1)) {
      sfail(`maxBadRecordRate must be between 0 and 1, got ${String(step.maxBadRecordRate)}`);
    }
    const out = step.output;
    if (typeof out !== 'object' || out === null || !isSchema(out.schema)) sfail('output.schema must be a RecordSchema');
    if (out.dataset !== undefined && typeof out.dataset !== 'function') sfail('output.dataset must be a function (params) => path or URI');
    for (const p of out.partitionBy ?? []) {
      const col = typeof p === 'string' ? p : p.column;
      const f = out.schema.fields.find((x) => x.name === col);
      if (!f) sfail(`output.partitionBy column "${col}" is not in the output schema`);
      if (f!.type !== 'string' && f!.type !== 'int32' && f!.type !== 'int64') sfail(`output.partitionBy column "${col}" is ${f!.type}; use a string or integer column`);
    }
    seen.set(step.name, step);
  }
  for (const step of job.steps) {
    if (step.output.dataset === undefined && !readLater.has(step.name)) {
      fail(`step "${step.name}": has no output.dataset and no later step reads it, so its output would be lost; give output.dataset`);
    }
  }
}

function isSchema(s: unknown): s is RecordSchema {
  return typeof s === 'object' && s !== null && Array.isArray((s as RecordSchema).fields);
}
