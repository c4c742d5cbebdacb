/**
 * The job API: a job is a name, a parameter schema and map-reduce steps in order. Each step reads named
 * inputs (datasets, or the output of an earlier step), maps every record to key/value pairs, optionally
 * combines them map-side, and reduces each key group to output records of a declared schema.
 *
 * Jobs are plain data plus functions, written once and run by every runner (inline, local, cluster).
 */
import { defineSchema, type PartitionSpec, type RecordSchema, type Row } from '../storage/index.ts';
import type { CombineContext, MapContext, ReduceContext } from './job-context.ts';
import type { Key, ShuffleSpec } from './key-order.ts';
import type { ParamsSchema } from './job-params.ts';
import { validateJob } from './job-validation.ts';

/**
 * What a dataset function returns: one dataset (path relative to the storage root, or a full URI), several
 * read as one input (files in list order), or `null` / `[]` for none (only when the input is `optional`).
 */
export type DatasetRef = string | readonly string[] | null;

/** Fields every dataset input shares. */
interface DatasetInputBase<P> {
  /** The dataset(s): e.g. `(p) => 'logs/dt=' + p.date`, or every day of a month as an array. */
  readonly dataset: (params: P) => DatasetRef;
  /** The input may be absent: its dataset function may return `null` or `[]`, and the mapper then sees no records. */
  readonly optional?: boolean;
}

/** An input read from Parquet datasets (the default format). */
export interface ParquetDatasetInput<P = unknown> extends DatasetInputBase<P> {
  readonly format?: 'parquet';
  /** The fields the step expects (name and type are checked against each dataset's marker). */
  readonly schema: RecordSchema;
  /** Read only these columns (default: every field of `schema`). */
  readonly columns?: readonly string[];
  /** Read only these Hive partitions, e.g. `() => ({ partner_id: [42] })` (partition columns of the dataset). */
  readonly partitions?: (params: P) => Readonly<Record<string, readonly (string | number)[]>>;
}

/**
 * An input read from the text files of a `files` dataset, one record `{ line }` per line (`.gz` files
 * gunzipped); records are located by file and 0-based line number.
 */
export interface LinesDatasetInput<P = unknown> extends DatasetInputBase<P> {
  readonly format: 'lines';
  readonly schema?: never;
  readonly columns?: never;
  readonly partitions?: never;
}

/** An input read from datasets. */
export type DatasetInput<P = unknown> = ParquetDatasetInput<P> | LinesDatasetInput<P>;

/** The record schema of a `format: 'lines'` input: `{ line }`, the line without its `\n` or `\r\n`. */
export const LINE_SCHEMA: RecordSchema = defineSchema({ line: 'string' });

/** An input read from the output of an earlier step of the same job. */
export interface StepOutputInput {
  readonly step: string;
  readonly columns?: readonly string[];
}

/** One named input of a step. */
export type StepInput<P = unknown> = DatasetInput<P> | StepOutputInput;

// Method syntax makes the record parameter bivariant, so a mapper may annotate the record with the
// fields it reads (`(r: { text: string }, ctx) => ...`) instead of narrowing every `Row` value.
type Bivariant<F extends (...args: never[]) => void> = { fn(...args: Parameters<F>): void }['fn'];

/** Maps one input record to zero or more `ctx.emit(key, value)` calls. Synchronous. */
export type Mapper<K extends Key = Key, V = unknown, P = unknown> = Bivariant<(record: Row, ctx: MapContext<K, V, P>) => void>;

/**
 * Combines the values of one key (all parts equal) map-side, emitting the same key with values of the
 * same type; it may run zero, one or several times per key, so it must not change the reduce result.
 */
export type Combiner<K extends Key = Key, V = unknown, P = unknown> = (key: K, values: Iterable<V>, ctx: CombineContext<K, V, P>) => void;

/**
 * Reduces one group: `key` is the group's first (smallest) key, whose first `groupFields` parts all
 * the group shares; `values` stream in key order and can be iterated once.
 */
export type Reducer<K extends Key = Key, V = unknown, P = unknown> = (key: K, values: Iterable<V>, ctx: ReduceContext<P>) => void;

/** Where and how a step writes its output. */
export interface StepOutput<P = unknown> {
  readonly schema: RecordSchema;
  /** The dataset to write (relative to the storage root, or a full URI); none: an intermediate dataset in the run's work dir. */
  readonly dataset?: (params: P) => string;
  /** Hive-style partition columns of the output (string or integer columns of `schema`). */
  readonly partitionBy?: readonly PartitionSpec[];
}

/** One map-reduce step. `I` names its inputs, `K` and `V` are its map output key and value types. */
export interface StepDefinition<P = any, I extends string = string, K extends Key = Key, V = unknown> {
  /** Names the step in paths, counters and errors: lowercase letters, digits, `-` and `_`. */
  readonly name: string;
  readonly description?: string;
  readonly inputs: { readonly [N in I]: StepInput<P> };
  /** One mapper per input name. */
  readonly map: { readonly [N in I]: Mapper<K, V, P> };
  readonly combine?: Combiner<K, V, P>;
  readonly reduce: Reducer<K, V, P>;
  readonly shuffle?: ShuffleSpec;
  readonly output: StepOutput<P>;
  /** Share of bad records (bad / records in) tolerated before the step fails; default: the runner option. */
  readonly maxBadRecordRate?: number;
}

/** A step of any key and value types, as a job holds it. */
export type AnyStep<P = any> = StepDefinition<P, any, any, any>;

/** Types one step, inferring its key and value types from an annotated map context. */
export type StepBuilder<P> = <I extends string, K extends Key, V>(step: StepDefinition<P, I, K, V>) => StepDefinition<P, I, K, V>;

/**
 * Where a job can be loaded from in another thread or process: runners that execute user code on workers
 * (the local runner, cluster bundles) cannot ship functions, so a worker imports `module` and takes its
 * export `export`: a Job, or a function returning one, called with `args` (structured-cloneable).
 * Usually `{ module: import.meta.url, export: 'myJob' }` in the module that defines the job.
 */
export interface JobSource {
  readonly module: string;
  readonly export: string;
  readonly args?: readonly unknown[];
}

/** What `defineJob` takes. */
export interface JobDefinition<P> {
  /** Names the job in paths and errors: lowercase letters, digits, `-` and `_`. */
  readonly name: string;
  readonly description?: string;
  /** Validates the raw parameters at run start. */
  readonly params: ParamsSchema<P>;
  /**
   * The steps in order: an array, or `(step) => [step({...}), ...]` so each step's key and value types are
   * inferred from its annotated map context (`ctx: MapContext<[string], number>`) and checked in its
   * combine and reduce.
   */
  readonly steps: readonly AnyStep<P>[] | ((step: StepBuilder<P>) => readonly AnyStep<P>[]);
  /** Where workers load the job from (see JobSource); without it the local runner runs the job's tasks in its own thread. */
  readonly source?: JobSource;
}

/** A checked job, ready for any runner. */
export interface Job<P = any> {
  readonly name: string;
  readonly description?: string;
  readonly params: ParamsSchema<P>;
  readonly steps: readonly AnyStep<P>[];
  readonly source?: JobSource;
}

const identityStep = <S>(step: S): S => step;

/** Defines a job and checks its structure (names, inputs, mappers, shuffle, outputs), naming what is wrong. */
export function defineJob<P>(definition: JobDefinition<P>): Job<P> {
  const steps = typeof definition.steps === 'function' ? definition.steps(identityStep as StepBuilder<P>) : definition.steps;
  const job: Job<P> = {
    name: definition.name,
    ...(definition.description !== undefined ? { description: definition.description } : {}),
    params: definition.params,
    steps: Object.freeze([...steps]),
    ...(definition.source !== undefined ? { source: Object.freeze({ ...definition.source }) } : {}),
  };
  validateJob(job);
  return Object.freeze(job);
}

/** Types a step defined on its own (in its own module); `P` comes from an annotated `dataset` parameter or is given. */
export function defineStep<P, I extends string, K extends Key, V>(step: StepDefinition<P, I, K, V>): StepDefinition<P, I, K, V> {
  return step;
}

/** True when an input reads an earlier step's output. */
export function isStepOutputInput<P>(input: StepInput<P>): input is StepOutputInput {
  return typeof (input as StepOutputInput).step === 'string';
}
