/**
 * The part of running a job every runner shares (mrjob's base runner): parse the parameters, resolve every
 * input and output URI, refuse a run whose final outputs are already complete, and clean the work dir
 * afterwards. Runners only decide where the map and reduce work happens.
 */
import { randomBytes } from 'node:crypto';
import { fileSystemFor, isComplete, joinUri, toStorageUri, type PartitionSpec, type RecordSchema } from '../storage/index.ts';
import { JobError } from './engine-error.ts';
import { isStepOutputInput, LINE_SCHEMA, type AnyStep, type Job } from './job-definition.ts';
import { DEFAULT_MAX_BAD_RECORD_RATE, type RunOptions } from './runner-types.ts';

/** One input of a planned step. */
export interface PlannedInput {
  readonly name: string;
  /** The datasets read as this input, in order (none for an absent optional input). */
  readonly uris: readonly string[];
  /** `parquet` datasets, or the text `lines` of a files dataset (and a step's output is Parquet). */
  readonly format: 'parquet' | 'lines';
  /** The fields the step declared (for a step input: that step's output schema; for lines: LINE_SCHEMA). */
  readonly schema: RecordSchema;
  /** The columns to read. */
  readonly columns: readonly string[];
  /** Only these Hive partitions of each dataset (Parquet inputs). */
  readonly partitions?: Readonly<Record<string, readonly (string | number)[]>>;
  /** Set when the input is an earlier step's output. */
  readonly fromStep?: string;
}

/** One step with every URI resolved. */
export interface PlannedStep<P = unknown> {
  readonly definition: AnyStep<P>;
  readonly index: number;
  readonly inputs: readonly PlannedInput[];
  readonly output: {
    readonly uri: string;
    readonly schema: RecordSchema;
    readonly partitionBy: readonly PartitionSpec[];
    readonly intermediate: boolean;
  };
  readonly quarantine: string;
  readonly maxBadRecordRate: number;
}

/** A run with its parameters parsed and its URIs resolved. */
export interface RunPlan<P = unknown> {
  readonly job: Job<P>;
  readonly params: P;
  readonly runId: string;
  readonly storageRoot: string;
  readonly workDir: string;
  readonly steps: readonly PlannedStep<P>[];
  readonly options: RunOptions;
}

/** A run id sortable by start time: `20261123T041500Z-a1b2c3`. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/** Resolves a dataset path returned by a job (relative to the storage root, or a full URI). */
export function resolveDatasetUri(storageRoot: string, path: unknown, where: string, job: string, step: string): string {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new JobError(job, step, `${where}: the dataset function returned ${JSON.stringify(path)}; return a path relative to the storage root or a full URI`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return toStorageUri(path);
  if (path.startsWith('/')) {
    throw new JobError(job, step, `${where}: "${path}" is an absolute path; return a path relative to the storage root (${storageRoot}) or a full URI (file:///…)`);
  }
  if (path.split('/').some((s) => s === '..')) {
    throw new JobError(job, step, `${where}: "${path}" climbs out of the storage root with ".."; return a path under it or a full URI`);
  }
  return joinUri(storageRoot, path);
}

/** Checks what a `partitions` function returned: `{ column: [string or finite number, ...] }`. */
function checkPartitionFilter(filter: unknown, where: string, job: string, step: string): void {
  const ok =
    typeof filter === 'object' &&
    filter !== null &&
    !Array.isArray(filter) &&
    Object.values(filter).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x))));
  if (!ok) {
    throw new JobError(job, step, `${where}: the partitions function returned ${JSON.stringify(filter)}; return { column: [values] } with string or number values, e.g. { partner_id: [42] }`);
  }
}

/** Parses params and resolves a job's URIs; fails before any work if a final output is already complete. */
export async function planRun<P>(job: Job<P>, rawParams: unknown, options: RunOptions): Promise<RunPlan<P>> {
  let params: P;
  try {
    params = job.params.parse(rawParams);
  } catch (e) {
    throw new JobError(job.name, undefined, `invalid parameters: ${(e as Error).message ?? String(e)}`, { cause: e });
  }
  const rate = options.maxBadRecordRate ?? DEFAULT_MAX_BAD_RECORD_RATE;
  if (!(rate >= 0 && rate <= 1)) throw new JobError(job.name, undefined, `maxBadRecordRate must be between 0 and 1, got ${rate}`);
  const storageRoot = toStorageUri(options.storageRoot);
  const runId = newRunId();
  const workDir = options.workDir !== undefined ? toStorageUri(options.workDir) : joinUri(storageRoot, '_work', job.name, runId);

  const outputs = new Map<string, PlannedStep<P>>();
  const steps: PlannedStep<P>[] = [];
  for (const [index, def] of job.steps.entries()) {
    const callUser = <T>(fn: (p: P) => T, what: string, where: string): T => {
      try {
        return fn(params);
      } catch (e) {
        throw new JobError(job.name, def.name, `${where}: the ${what} function threw: ${(e as Error).message ?? String(e)}`, { cause: e });
      }
    };
    const call = (fn: (p: P) => string, where: string): string => resolveDatasetUri(storageRoot, callUser(fn, 'dataset', where), where, job.name, def.name);
    const inputs: PlannedInput[] = Object.entries(def.inputs).map(([name, spec]) => {
      if (isStepOutputInput(spec)) {
        const from = outputs.get(spec.step)!;
        const schema = from.output.schema;
        return { name, uris: [from.output.uri], format: 'parquet', schema, columns: spec.columns ?? schema.fields.map((f) => f.name), fromStep: spec.step };
      }
      const where = `input "${name}"`;
      const ref = callUser(spec.dataset, 'dataset', where);
      const paths = ref === null ? [] : Array.isArray(ref) ? (ref as readonly unknown[]) : [ref];
      if (paths.length === 0 && spec.optional !== true) {
        throw new JobError(
          job.name,
          def.name,
          `${where}: the dataset function returned ${JSON.stringify(ref)}, but the input is not optional; return a dataset path, or mark the input optional: true if it may be absent`,
        );
      }
      const uris = paths.map((p, i) => resolveDatasetUri(storageRoot, p, paths.length > 1 ? `${where} dataset ${i}` : where, job.name, def.name));
      if (spec.format === 'lines') return { name, uris, format: 'lines', schema: LINE_SCHEMA, columns: ['line'] };
      const partitions = spec.partitions ? callUser(spec.partitions, 'partitions', where) : undefined;
      if (partitions !== undefined) checkPartitionFilter(partitions, where, job.name, def.name);
      return {
        name,
        uris,
        format: 'parquet',
        schema: spec.schema,
        columns: spec.columns ?? spec.schema.fields.map((f) => f.name),
        ...(partitions !== undefined ? { partitions } : {}),
      };
    });
    const intermediate = def.output.dataset === undefined;
    const uri = intermediate ? joinUri(workDir, 'steps', def.name) : call(def.output.dataset!, 'output');
    const planned: PlannedStep<P> = {
      definition: def,
      index,
      inputs,
      output: { uri, schema: def.output.schema, partitionBy: def.output.partitionBy ?? [], intermediate },
      quarantine: joinUri(workDir, '_quarantine', def.name),
      maxBadRecordRate: def.maxBadRecordRate ?? rate,
    };
    for (const other of steps) {
      if (other.output.uri === uri) throw new JobError(job.name, def.name, `writes ${uri}, as step "${other.definition.name}" does; give each step its own output`);
    }
    for (const input of inputs) {
      if (input.uris.includes(uri)) throw new JobError(job.name, def.name, `input "${input.name}" and the output are both ${uri}; a step cannot overwrite what it reads`);
    }
    outputs.set(def.name, planned);
    steps.push(planned);
  }

  if (!options.overwrite) {
    const done: string[] = [];
    for (const s of steps) {
      if (!s.output.intermediate && (await isComplete(fileSystemFor(s.output.uri), s.output.uri))) done.push(`step "${s.definition.name}": ${s.output.uri}`);
    }
    if (done.length > 0) {
      throw new JobError(
        job.name,
        undefined,
        `output already complete (it has a _SUCCESS marker): ${done.join('; ')}; run with overwrite (--force) to replace it`,
      );
    }
  }
  return { job, params, runId, storageRoot, workDir, steps, options };
}

/**
 * Cleans up after a run: after success the intermediate outputs go (unless kept) and an empty work dir
 * with them; after a failure everything stays for debugging.
 */
export async function finishRun(plan: RunPlan<unknown>, succeeded: boolean): Promise<void> {
  if (!succeeded || plan.options.keepIntermediate) return;
  const fs = fileSystemFor(plan.workDir);
  await fs.delete(joinUri(plan.workDir, 'steps'), { recursive: true });
  if ((await fs.list(plan.workDir)).length === 0) await fs.delete(plan.workDir, { recursive: true });
}
