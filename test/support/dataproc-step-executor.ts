/**
 * What the Dataproc stand-in does with a Spark SQL job in the end-to-end tests: it cannot run Spark, so it
 * carries out the step the script was generated from (the `<step>.step.json` Courier stages next to each
 * `.sql`) the way the script says, on the local directory that stands for the bucket:
 * inputs read (text lines, escaped as LazySimpleSerDe sends them; Parquet with partition columns from the
 * directory names, partition filters applied), each input piped through `node <bundle> map …` with the
 * script's arguments, the map output sorted by partition then key (bytewise, as SORT BY compares strings),
 * piped through `node <bundle> reduce …`, and the reducer's lines split into the step's `output/` (Parquet,
 * partitioned by directory key, partition columns left out of the files as Spark leaves them), `quarantine/`,
 * `counts/` and `counters/`, then the bad-record rate judged as the script's raise_error does.
 *
 * So the tests check Courier's side for real (template, polling, staging, commits, markers, history) and the
 * bundle's protocol flags; the SQL text itself is checked by its golden files, and only Spark can run it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { QUARANTINE_SCHEMA } from '../../engine/index.ts';
import type { SparkSqlStep } from '../../engine/spark-sql-step.ts';
import { escapeField, rowLineDecoder, rowLineEncoder, splitFields, unescapeField } from '../../engine/streaming-protocol.ts';
import { batchToRows, parsePartitionPath, partitionDir, readParquetFile, rowsToBatch, writeParquetFile, type RecordSchema, type Row } from '../../storage/index.ts';
import type { StandInExecute } from './dataproc-server.ts';

/** The cluster's URI prefix (gs://bucket/path) and the local directory that stands for it. */
export interface BucketDir {
  readonly clusterRoot: string;
  readonly localDir: string;
}

/** An executor for the stand-in that carries out each Spark SQL step as described above. */
export function streamingStepExecutor(bucket: BucketDir, options: { onStep?: (step: SparkSqlStep) => void } = {}): StandInExecute {
  const local = (uri: string): string => {
    if (!uri.startsWith(bucket.clusterRoot + '/') && uri !== bucket.clusterRoot) throw new Error(`${uri} is not in the stand-in bucket ${bucket.clusterRoot}`);
    return path.join(bucket.localDir, uri.slice(bucket.clusterRoot.length));
  };
  return async ({ job, signal }) => {
    const sql = job['sparkSqlJob'] as { queryFileUri?: string } | undefined;
    if (!sql?.queryFileUri) throw new Error('the stand-in executes Spark SQL jobs with a queryFileUri only');
    const step = JSON.parse(await fsp.readFile(local(sql.queryFileUri).replace(/\.sql$/, '.step.json'), 'utf8')) as SparkSqlStep;
    options.onStep?.(step);
    const cwd = path.dirname(local(step.bundleUri));
    const bundle = local(step.bundleUri);
    const params = await fsp.readFile(local(step.paramsUri), 'utf8');
    const sample = String(step.quarantineSample ?? 10_000);
    let recordsIn = 0;
    const mapped: string[] = [];
    for (const input of step.inputs) {
      if (input.uris.length === 0) continue;
      const lines: string[] = [];
      for (const uri of input.uris) lines.push(...(input.format === 'lines' ? await textLines(local(uri)) : await parquetLines(local(uri), input)));
      recordsIn += lines.length;
      mapped.push(...(await task(bundle, cwd, ['map', step.step, input.name, '--reducers', String(step.reducers), '--quarantine-sample', sample, '--counters-in-band', '--params', params.trim()], lines, signal)));
    }
    const sortKey = (line: string): [Buffer, Buffer] => {
      const [p, k] = splitFields(line);
      return [Buffer.from(unescapeField(p!)), Buffer.from(unescapeField(k ?? ''))];
    };
    const keyed = mapped.map((l) => ({ l, k: sortKey(l) }));
    keyed.sort((a, b) => Buffer.compare(a.k[0], b.k[0]) || Buffer.compare(a.k[1], b.k[1]));
    const reduced = await task(bundle, cwd, ['reduce', step.step, '--quarantine-sample', sample, '--counters-in-band', '--params', params.trim()], keyed.map((x) => x.l), signal);

    const schema: RecordSchema = { fields: step.output.schema };
    const decode = rowLineDecoder(schema, schema.fields.map((f) => f.name), `step ${step.step} reduce output`, 1);
    const rows: Row[] = [];
    const bad: Row[] = [];
    const counters: string[] = [];
    for (const [i, line] of reduced.entries()) {
      const fields = splitFields(line);
      if (fields[0] === 'r') rows.push(decode(fields, i));
      else if (fields[0] === 'bad') bad.push(JSON.parse(unescapeField(fields[1]!)) as Row);
      else if (fields[0] === 'counters') counters.push(unescapeField(fields[1]!));
      else throw new Error(`reduce output line ${i + 1} starts with ${JSON.stringify(fields[0])}`);
    }
    const dir = local(step.dir);
    const badRecords = bad.filter((b) => b['phase'] !== 'rejected').length;
    await writeText(path.join(dir, 'counts', 'part-00000-standin.json'), JSON.stringify({ records_in: recordsIn, records_out: rows.length, bad_records: badRecords, rejected_records: bad.length - badRecords }) + '\n');
    await writeText(path.join(dir, 'counters', 'part-00000-standin.txt'), counters.map((c) => c + '\n').join(''));
    await fsp.mkdir(path.join(dir, 'quarantine'), { recursive: true });
    await writeParquetFile(path.join(dir, 'quarantine', 'part-00000-standin.parquet'), QUARANTINE_SCHEMA, [rowsToBatch(QUARANTINE_SCHEMA, bad.slice(0, Number(sample)))]);
    if (badRecords > 0 && badRecords > step.maxBadRecordRate * recordsIn) {
      throw new Error(`job ${step.job} step ${step.step}: ${badRecords} bad records of ${recordsIn} exceed maxBadRecordRate ${step.maxBadRecordRate}`);
    }
    const keys = step.output.partitionBy;
    const fileSchema: RecordSchema = { fields: schema.fields.filter((f) => !keys.some((k) => k.column === f.name)) };
    const groups = new Map<string, Row[]>();
    for (const row of rows) {
      const d = keys.length ? partitionDir(keys, keys.map((k) => row[k.column] as string | number)) : '';
      if (!groups.has(d)) groups.set(d, []);
      groups.get(d)!.push(row);
    }
    if (groups.size === 0 && keys.length === 0) groups.set('', []);
    for (const [d, group] of groups) {
      const file = path.join(dir, 'output', d, 'part-00000-standin.c000.snappy.parquet');
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await writeParquetFile(file, fileSchema, [rowsToBatch(fileSchema, group)]);
    }
  };
}

async function writeText(file: string, text: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, text);
}

/** Data files under a directory as Spark lists them (recursively, `_`/`.` names skipped), in name order. */
async function dataFiles(dir: string): Promise<string[]> {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('_') || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await dataFiles(p)));
    else out.push(p);
  }
  return out;
}

/** A text input as LazySimpleSerDe hands it to a TRANSFORM: each line (gunzipped) one escaped field. */
async function textLines(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await dataFiles(dir)) {
    let bytes = await fsp.readFile(f);
    if (f.endsWith('.gz')) bytes = gunzipSync(bytes);
    const lines = bytes.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const l of lines) out.push(escapeField(l.endsWith('\r') ? l.slice(0, -1) : l));
  }
  return out;
}

/** A Parquet input's rows in the protocol, with partition columns from directory names and filters applied. */
async function parquetLines(dir: string, input: SparkSqlStep['inputs'][number]): Promise<string[]> {
  const keys = new Map((input.partitionKeys ?? []).map((k) => [k.column, k.key]));
  const schema: RecordSchema = { fields: input.columns };
  const encode = rowLineEncoder(schema, input.columns.map((c) => c.name));
  const out: string[] = [];
  for (const f of await dataFiles(dir)) {
    const parts = parsePartitionPath(path.relative(dir, f));
    const fromDir = (col: string): string | undefined => parts[keys.get(col) ?? col];
    const wanted = Object.entries(input.partitions ?? {}).every(([col, values]) => values.map(String).includes(fromDir(col) ?? '\0'));
    if (!wanted) continue;
    const fileFields = input.columns.filter((c) => fromDir(c.name) === undefined);
    for await (const batch of readParquetFile(f, { fields: fileFields })) {
      for (const row of batchToRows({ fields: fileFields }, batch)) {
        for (const c of input.columns) {
          const v = fromDir(c.name);
          if (v !== undefined) row[c.name] = c.type === 'string' ? v : Number(v);
        }
        out.push(encode(row));
      }
    }
  }
  return out;
}

/** Runs one bundle task: lines in, lines out; a non-zero exit fails the job with the task's last stderr lines. */
function task(bundle: string, cwd: string, args: readonly string[], input: readonly string[], signal: AbortSignal): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'], signal });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        const lines = stdout.split('\n');
        if (lines[lines.length - 1] === '') lines.pop();
        resolve(lines);
      } else {
        const tail = stderr.split('\n').filter((l) => l && !l.startsWith('reporter:') && !l.startsWith('courier:outcome:')).slice(-3).join(' | ');
        reject(new Error(`${args[0]} task exited with code ${code}: ${tail.slice(0, 600)}`));
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input.length ? input.join('\n') + '\n' : '');
  });
}
