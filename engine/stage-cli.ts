/**
 * The command line of a stage bundle (docs/cluster.md): one step's mapper, combiner or reducer as a filter
 * over stdin and stdout in the streaming protocol, as Hadoop Streaming and Spark `TRANSFORM` run it. The
 * same MapTask, CombineTask and ReduceTask as every other runner do the work; this file only moves lines.
 *
 * I/O is synchronous (fs.readSync / writeSync on fds 0 and 1): a task is a filter with nothing else to do,
 * and the reducer's value stream is a synchronous iterator pulled by user code.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import * as v8 from 'node:v8';
import { batchToRows, type RecordSchema, type Row } from '../storage/index.ts';
import { BadRecordLog, type BadRecordState } from './bad-records.ts';
import { CounterSet, type Counters } from './counters.ts';
import { isStepOutputInput, LINE_SCHEMA, type AnyStep, type Job, type StepInput } from './job-definition.ts';
import { partitionOf, resolveShuffle, type Key } from './key-order.ts';
import { CombineTask, MapTask, type MapTaskEnv } from './map-task.ts';
import { ReduceTask, type SortedPairs } from './reduce-task.ts';
import {
  BAD_TAG,
  decodeKeyText,
  encodeKeyText,
  escapeField,
  NULL_FIELD,
  partitionField,
  RECORD_TAG,
  rowLineDecoder,
  rowLineEncoder,
  splitFields,
  unescapeField,
} from './streaming-protocol.ts';

/** Stderr line prefix of a task's outcome (v8-serialized, base64) for runners that want it exactly. */
export const OUTCOME_PREFIX = 'courier:outcome:';
/** First field of the line a task writes its counters on with `--counters-in-band` (Spark SQL keeps no stderr counters). */
export const COUNTERS_TAG = 'counters';
/** The engine's own counter group on stderr; the runner takes these as figures, not as job counters. */
export const ENGINE_COUNTER_GROUP = 'courier';

/** What a task reports when it ends, on stderr after its `reporter:counter:` lines. */
export interface StageOutcome {
  readonly ok: boolean;
  readonly error?: unknown;
  readonly counters: Counters;
  readonly bad: BadRecordState;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly mapOutputRecords: number;
  readonly groups: number;
}

/** The columns a map task reads from stdin for one input, in order, with their schema. */
export function inputColumns(job: Job, step: AnyStep, input: StepInput): { schema: RecordSchema; columns: readonly string[]; lines: boolean } {
  if (isStepOutputInput(input)) {
    const from = job.steps.find((s) => s.name === input.step)!;
    return { schema: from.output.schema, columns: input.columns ?? from.output.schema.fields.map((f) => f.name), lines: false };
  }
  if (input.format === 'lines') return { schema: LINE_SCHEMA, columns: ['line'], lines: true };
  return { schema: input.schema, columns: input.columns ?? input.schema.fields.map((f) => f.name), lines: false };
}

/** What `describe` prints: everything a cluster submitter needs to wire a step's scripts. */
export function describeJob(job: Job, params: unknown): unknown {
  return {
    job: job.name,
    steps: job.steps.map((step) => {
      const shuffle = resolveShuffle(step.shuffle);
      return {
        name: step.name,
        inputs: Object.entries(step.inputs).map(([name, input]) => {
          const { schema, columns, lines } = inputColumns(job, step, input as StepInput);
          const fields = columns.map((c) => schema.fields.find((f) => f.name === c)!);
          if (isStepOutputInput(input as StepInput)) return { name, kind: 'step', step: (input as { step: string }).step, columns: fields };
          const ds = input as { dataset: (p: unknown) => unknown; optional?: boolean };
          return { name, kind: lines ? 'lines' : 'parquet', dataset: ds.dataset(params), optional: ds.optional === true, columns: fields };
        }),
        combine: step.combine !== undefined,
        shuffle: {
          partitionFields: Number.isFinite(shuffle.partitionFields) ? shuffle.partitionFields : null,
          groupFields: Number.isFinite(shuffle.groupFields) ? shuffle.groupFields : null,
          reducers: step.shuffle?.reducers ?? null,
        },
        output: {
          schema: step.output.schema.fields,
          dataset: step.output.dataset ? step.output.dataset(params) : null,
          partitionBy: step.output.partitionBy ?? [],
        },
      };
    }),
  };
}

class UsageProblem extends Error {}

interface Flags {
  params: unknown;
  reducers?: number;
  file: string | null;
  firstRow: number;
  raw: boolean;
  maxBadRecordRate: number;
  expectedRecordsIn: number;
  quarantineSample?: number;
  countersInBand: boolean;
}

function parseFlags(args: readonly string[]): { positional: string[]; flags: Flags } {
  const positional: string[] = [];
  const flags: Flags = { params: {}, file: null, firstRow: 0, raw: false, maxBadRecordRate: Infinity, expectedRecordsIn: 0, countersInBand: false };
  const number = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new UsageProblem(`${name} needs a non-negative number, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageProblem(`${a} needs a value`);
      return v;
    };
    if (a === '--params') {
      const text = value();
      try {
        flags.params = JSON.parse(text);
      } catch (e) {
        throw new UsageProblem(`--params is not JSON (${(e as Error).message}): ${text.slice(0, 80)}`);
      }
    } else if (a === '--reducers') flags.reducers = Math.max(1, Math.floor(number(a, value())));
    else if (a === '--file') flags.file = value();
    else if (a === '--first-row') flags.firstRow = number(a, value());
    else if (a === '--raw') flags.raw = true;
    else if (a === '--counters-in-band') flags.countersInBand = true;
    else if (a === '--max-bad-record-rate') flags.maxBadRecordRate = number(a, value());
    else if (a === '--expected-records-in') flags.expectedRecordsIn = number(a, value());
    else if (a === '--quarantine-sample') flags.quarantineSample = number(a, value());
    else if (a.startsWith('--')) throw new UsageProblem(`unknown option ${a}`);
    else positional.push(a);
  }
  return { positional, flags };
}

const USAGE = `usage: node <job>.stage.js describe [--params JSON]
       node <job>.stage.js map <step> <input> [--params JSON] [--reducers N] [--file URI --first-row N] [--raw] [--counters-in-band]
       node <job>.stage.js combine <step> [--params JSON]
       node <job>.stage.js reduce <step> [--params JSON]
(see docs/cluster.md)`;

/** Runs the bundle's command line for `job`; returns the exit code (0, 1 task failed, 2 usage). */
export function runStageCli(job: Job, argv: readonly string[]): number {
  let positional: string[];
  let flags: Flags;
  let params: unknown;
  try {
    ({ positional, flags } = parseFlags(argv));
    try {
      params = job.params.parse(flags.params);
    } catch (e) {
      throw new UsageProblem(`job ${job.name}: --params rejected: ${(e as Error).message}`);
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, stepName, inputName] = positional;
  if (command === 'describe') {
    fs.writeSync(1, JSON.stringify(describeJob(job, params), null, 2) + '\n');
    return 0;
  }
  const step = job.steps.find((s) => s.name === stepName);
  const usage = (message: string): number => {
    process.stderr.write(`${message}\n${USAGE}\n`);
    return 2;
  };
  if (command !== 'map' && command !== 'combine' && command !== 'reduce') return usage(`unknown command ${JSON.stringify(command ?? '')}: use describe, map, combine or reduce`);
  if (!step) return usage(`job ${job.name} has no step ${JSON.stringify(stepName ?? '')}; its steps: ${job.steps.map((s) => s.name).join(', ')}`);
  if (command === 'map' && (inputName === undefined || !(inputName in step.inputs))) {
    return usage(`step ${step.name} has no input ${JSON.stringify(inputName ?? '')}; its inputs: ${Object.keys(step.inputs).join(', ')}`);
  }
  if (command === 'combine' && !step.combine) return usage(`step ${step.name} has no combiner`);

  const counters = new CounterSet();
  const bad = new BadRecordLog({
    job: job.name,
    step: step.name,
    maxRate: flags.maxBadRecordRate,
    expectedRecordsIn: flags.expectedRecordsIn,
    quarantine: '',
    ...(flags.quarantineSample !== undefined ? { sampleSize: flags.quarantineSample } : {}),
  });
  const env: MapTaskEnv<unknown> = { job: job.name, step: step.name, params, counters, bad };
  const figures = { recordsIn: 0, recordsOut: 0, mapOutputRecords: 0, groups: 0 };
  const out = new LineWriter(1);
  let outcome: StageOutcome;
  try {
    if (command === 'map') mapCommand(job, step, inputName!, env, flags, out, figures);
    else if (command === 'combine') combineCommand(step, env, out, figures);
    else reduceCommand(step, env, out, figures);
    outcome = { ok: true, counters: counters.toJSON(), bad: bad.toState(), ...figures };
  } catch (error) {
    outcome = { ok: false, error, counters: counters.toJSON(), bad: bad.toState(), ...figures };
  }
  // Bad records in band (a cluster keeps them with the output), then counters and the outcome on stderr.
  const state = outcome.bad;
  for (const row of [...state.sample, ...state.rejected.sample]) out.line(command === 'reduce' ? `${BAD_TAG}\t${escapeField(JSON.stringify(row))}` : `${BAD_TAG}\t${escapeField(JSON.stringify(row))}\t${NULL_FIELD}`);
  // The task's counters as one more line, for engines that read no stderr (Spark SQL TRANSFORM); reducers and combiners pass mappers' ones on.
  if (flags.countersInBand && Object.keys(outcome.counters).length > 0) {
    const json = escapeField(JSON.stringify(outcome.counters));
    out.line(command === 'reduce' ? `${COUNTERS_TAG}\t${json}` : `${COUNTERS_TAG}\t${json}\t${NULL_FIELD}`);
  }
  out.flush();
  const report: string[] = [];
  for (const [group, names] of Object.entries(outcome.counters)) for (const [name, n] of Object.entries(names)) report.push(`reporter:counter:${group},${name},${n}`);
  report.push(`reporter:counter:${ENGINE_COUNTER_GROUP},records_in,${figures.recordsIn}`);
  report.push(`reporter:counter:${ENGINE_COUNTER_GROUP},records_out,${figures.recordsOut}`);
  report.push(`reporter:counter:${ENGINE_COUNTER_GROUP},map_output_records,${figures.mapOutputRecords}`);
  report.push(`reporter:counter:${ENGINE_COUNTER_GROUP},reduce_groups,${figures.groups}`);
  report.push(`reporter:counter:${ENGINE_COUNTER_GROUP},bad_records,${state.count}`);
  let serialized: string;
  try {
    serialized = v8.serialize(outcome).toString('base64');
  } catch {
    serialized = v8.serialize({ ...outcome, error: outcome.error instanceof Error ? new Error(outcome.error.message) : String(outcome.error) }).toString('base64');
  }
  report.push(OUTCOME_PREFIX + serialized);
  if (!outcome.ok) report.push(`${job.name} step ${step.name} ${command} failed: ${outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error)}`);
  writeAllSync(2, report.join('\n') + '\n');
  return outcome.ok ? 0 : 1;
}

const BATCH_ROWS = 8192;
const STATUS_EVERY = 100_000;

function status(message: string): void {
  writeAllSync(2, `reporter:status:${message}\n`);
}

function mapCommand(job: Job, step: AnyStep, inputName: string, env: MapTaskEnv<unknown>, flags: Flags, out: LineWriter, figures: { recordsIn: number; mapOutputRecords: number }): void {
  const { schema, columns, lines } = inputColumns(job, step, step.inputs[inputName] as StepInput);
  const decode = lines ? undefined : rowLineDecoder(schema, columns, `map input ${inputName}`);
  const raw = flags.raw;
  const shuffle = resolveShuffle(step.shuffle, flags.reducers ?? step.shuffle?.reducers ?? 1);
  const task = new MapTask(env, step, inputName);
  const file = flags.file ?? '(stdin)';
  let rows: Row[] = [];
  let firstRow = flags.firstRow;
  const flush = (): void => {
    const pairs = task.mapRows(rows, file, firstRow);
    firstRow += rows.length;
    figures.recordsIn += rows.length;
    rows = [];
    for (const p of pairs) out.line(partitionField(partitionOf(p.key, shuffle)) + '\t' + escapeField(encodeKeyText(p.key)) + '\t' + escapeField(JSON.stringify(p.value)));
    if (Math.floor(figures.recordsIn / STATUS_EVERY) !== Math.floor((figures.recordsIn - BATCH_ROWS) / STATUS_EVERY)) status(`map ${inputName}: ${figures.recordsIn} records`);
  };
  const reader = new LineReader(0);
  let lineNo = 0;
  for (let line = reader.next(); line !== undefined; line = reader.next(), lineNo++) {
    rows.push(decode ? decode(splitFields(line), lineNo) : { line: raw ? line : unescapeField(line) });
    if (rows.length >= BATCH_ROWS) flush();
  }
  if (rows.length > 0) flush();
  figures.mapOutputRecords = task.mapOutputRecords;
}

function combineCommand(step: AnyStep, env: MapTaskEnv<unknown>, out: LineWriter, figures: { recordsIn: number; recordsOut: number }): void {
  const combiner = new CombineTask(env, step);
  const reader = new LineReader(0);
  let groupPartition = '';
  let groupKeyText: string | undefined;
  let groupKey: Key = [];
  let values: unknown[] = [];
  const flush = (): void => {
    if (groupKeyText === undefined) return;
    combiner.combineGroup(groupKey, values);
    const keyField = escapeField(groupKeyText);
    for (const p of combiner.take()) {
      out.line(groupPartition + '\t' + keyField + '\t' + escapeField(JSON.stringify(p.value)));
      figures.recordsOut++;
    }
    values = [];
  };
  let lineNo = 0;
  for (let line = reader.next(); line !== undefined; line = reader.next(), lineNo++) {
    const [partition, keyField, valueField] = pairFields(line, lineNo, 'combine input');
    figures.recordsIn++;
    if (partition === BAD_TAG || partition === COUNTERS_TAG) {
      out.line(line);
      continue;
    }
    const keyText = unescapeField(keyField);
    if (keyText !== groupKeyText || partition !== groupPartition) {
      flush();
      groupKeyText = keyText;
      groupPartition = partition;
      groupKey = decodeKeyText(keyText, `combine input line ${lineNo + 1}`);
    }
    values.push(JSON.parse(unescapeField(valueField)));
  }
  flush();
}

function pairFields(line: string, lineNo: number, where: string): [string, string, string] {
  const fields = splitFields(line);
  if (fields.length !== 3) throw new Error(`${where} line ${lineNo + 1}: ${fields.length} fields, expected 3 (partition, key, value)`);
  return fields as [string, string, string];
}

/** The reducer's input lines as the sorted pairs ReduceTask walks; equal key texts share one key object. */
class LinePairs implements SortedPairs {
  key: Key = [];
  value: unknown;
  private keyText: string | undefined;
  private lineNo = 0;

  constructor(
    private readonly reader: LineReader,
    private readonly out: LineWriter,
  ) {}

  next(): boolean {
    for (;;) {
      const line = this.reader.next();
      if (line === undefined) return false;
      const [partition, keyField, valueField] = pairFields(line, this.lineNo++, 'reduce input');
      // Bad records a combiner passed along go straight to the quarantine lines.
      if (partition === BAD_TAG || partition === COUNTERS_TAG) {
        this.out.line(`${partition}\t${keyField}`);
        continue;
      }
      const keyText = unescapeField(keyField);
      if (keyText !== this.keyText) {
        this.key = decodeKeyText(keyText, `reduce input line ${this.lineNo}`);
        this.keyText = keyText;
      }
      this.value = JSON.parse(unescapeField(valueField));
      return true;
    }
  }
}

/** Output rows a reduce stage collects before writing their lines. */
const STAGE_OUTPUT_BATCH_ROWS = 4096;

function reduceCommand(step: AnyStep, env: MapTaskEnv<unknown>, out: LineWriter, figures: { recordsOut: number; groups: number }): void {
  const shuffle = resolveShuffle(step.shuffle);
  const task = new ReduceTask(env, step, shuffle.groupFields);
  const encode = rowLineEncoder(step.output.schema, step.output.schema.fields.map((f) => f.name), RECORD_TAG + '\t');
  const schema = step.output.schema;
  // The protocol is a line per record; batches of a few thousand rows keep the output columns' allocations rare.
  for (const batch of task.reduceSorted(new LinePairs(new LineReader(0), out), STAGE_OUTPUT_BATCH_ROWS)) {
    const rows = batchToRows(schema, batch);
    for (const row of rows) out.line(encode(row));
    const before = figures.recordsOut;
    figures.recordsOut += rows.length;
    if (Math.floor(figures.recordsOut / STATUS_EVERY) !== Math.floor(before / STATUS_EVERY)) status(`reduce: ${figures.recordsOut} records out`);
  }
  figures.groups = task.groups;
}

// ---- synchronous line I/O on file descriptors ----

const CHUNK = 1 << 20;

function isAgain(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EAGAIN';
}

/** Waits a moment when a non-blocking descriptor has nothing yet (a pipe Node left in non-blocking mode). */
function pause(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
}

/** Lines of a descriptor, read synchronously in 1 MiB chunks (UTF-8; a final line without `\n` counts). */
export class LineReader {
  private readonly buffer = Buffer.allocUnsafe(CHUNK);
  private readonly decoder = new StringDecoder('utf8');
  private text = '';
  private at = 0;
  private ended = false;

  constructor(private readonly fd: number) {}

  next(): string | undefined {
    for (;;) {
      const nl = this.text.indexOf('\n', this.at);
      if (nl >= 0) {
        const end = nl > this.at && this.text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
        const line = this.text.slice(this.at, end);
        this.at = nl + 1;
        return line;
      }
      if (this.ended) {
        if (this.at >= this.text.length) return undefined;
        const line = this.text.slice(this.at);
        this.at = this.text.length;
        return line;
      }
      this.fill();
    }
  }

  private fill(): void {
    let n: number;
    for (;;) {
      try {
        n = fs.readSync(this.fd, this.buffer, 0, CHUNK, null);
        break;
      } catch (e) {
        if (isAgain(e)) pause();
        else if ((e as NodeJS.ErrnoException).code === 'EOF') {
          n = 0;
          break;
        } else throw e;
      }
    }
    this.text = this.text.slice(this.at) + (n > 0 ? this.decoder.write(this.buffer.subarray(0, n)) : this.decoder.end());
    this.at = 0;
    if (n === 0) this.ended = true;
  }
}

/** Writes all of `text` to a descriptor, synchronously. */
function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) {
    try {
      off += fs.writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if (isAgain(e)) pause();
      else throw e;
    }
  }
}

/** Lines to a descriptor, written in chunks of about 1 MiB. */
class LineWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly fd: number) {}

  line(text: string): void {
    this.parts.push(text);
    this.size += text.length + 1;
    if (this.size >= CHUNK) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    writeAllSync(this.fd, this.parts.join('\n') + '\n');
    this.parts = [];
    this.size = 0;
  }
}
