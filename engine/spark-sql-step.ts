/**
 * The Spark SQL script of one job step, as a cluster runs it (docs/dataproc.md): the stage bundle added
 * with `ADD FILE`, Parquet inputs read natively (`USING parquet`) and text inputs as lines (`USING text`,
 * gzip included), every input piped through `node <bundle> map …` with `SELECT TRANSFORM`, the shuffle as
 * `DISTRIBUTE BY partition SORT BY partition, key`, the reducer as a second TRANSFORM, and the reducer's
 * lines split into typed output rows (Parquet, partitioned as the dataset is) and bad records (the
 * quarantine). Both sides of every TRANSFORM name Hive's LazySimpleSerDe with the escaping of the
 * streaming protocol (docs/cluster.md), so the bundle sees the bytes the local runners send it.
 *
 * The script writes four directories under the step's Spark dir and nothing else: `output/` (the rows),
 * `quarantine/` (bad and rejected records, as QUARANTINE_SCHEMA), `counts/` (one JSON row: records in
 * and out, bad and rejected records) and `counters/` (each task's job counters as a JSON line: the bundle
 * runs with `--counters-in-band`, since Spark logs a TRANSFORM's stderr instead of counting it). It never writes a `_SUCCESS` marker: whoever submitted it commits
 * `output/` into the dataset and marks it (see dataproc-runner.ts), as the local runner commits its own.
 *
 * The API is shared by every Spark submitter (Dataproc, spark-submit): `sparkSqlSteps` plans a job run's
 * steps, `sparkSqlStepScript` renders one.
 */
import { createHash } from 'node:crypto';
import type { FieldSpec, FieldType, PartitionKey } from '../storage/index.ts';
import { joinUri, partitionKeys } from '../storage/index.ts';
import { DEFAULT_QUARANTINE_SAMPLE, QUARANTINE_SCHEMA } from './bad-records.ts';
import type { RunPlan } from './run-plan.ts';

/** One input of a step as the cluster reads it. */
export interface SparkSqlInput {
  /** The step's input name (the bundle's `map <step> <input>`). */
  readonly name: string;
  /** `parquet` datasets (a step output is Parquet too), or the text `lines` of a files dataset. */
  readonly format: 'parquet' | 'lines';
  /** The directories read as this input, as the cluster addresses them (`gs://…`, `hdfs://…`); none: absent optional input. */
  readonly uris: readonly string[];
  /** The columns the mapper reads, in order (as `describe` lists them). */
  readonly columns: readonly FieldSpec[];
  /** Directory keys of partition columns (`partner_id` stored as `partner=17/`); a column not listed here is read from the files. */
  readonly partitionKeys?: readonly PartitionKey[];
  /** Only these Hive partitions, by column name. */
  readonly partitions?: Readonly<Record<string, readonly (string | number)[]>>;
}

/** One step of a job run as Spark SQL runs it; every URI is as the cluster addresses it. */
export interface SparkSqlStep {
  readonly job: string;
  readonly step: string;
  /** 0-based position of the step in its job. */
  readonly index: number;
  /** The stage bundle (`<job>.stage.js`) and the job's parameters as JSON, both added to the session with ADD FILE. */
  readonly bundleUri: string;
  readonly paramsUri: string;
  readonly inputs: readonly SparkSqlInput[];
  /** Courier partitions of the map output, and Spark's shuffle partitions. */
  readonly reducers: number;
  /** The step's Spark dir: `output/`, `quarantine/` and `counts/` go below it. */
  readonly dir: string;
  readonly output: { readonly schema: readonly FieldSpec[]; readonly partitionBy: readonly PartitionKey[] };
  /** Share of bad records (not counting rejected ones) the step tolerates; over it the script fails with raise_error. */
  readonly maxBadRecordRate: number;
  /** Bad records each map or reduce task keeps in band (default DEFAULT_QUARANTINE_SAMPLE). */
  readonly quarantineSample?: number;
  /** The node command on the cluster's nodes (default `node`, as the init action installs it). */
  readonly node?: string;
}

/** The directories a step's script writes below its Spark dir. */
export const SPARK_STEP_DIRS = { output: 'output', quarantine: 'quarantine', counts: 'counts', counters: 'counters' } as const;

/** The counts row a step's script writes (JSON) in `counts/`. */
export interface SparkStepCounts {
  readonly records_in: number;
  readonly records_out: number;
  readonly bad_records: number;
  readonly rejected_records: number;
}

/** How `sparkSqlSteps` maps Courier's URIs to the cluster's and where it puts the scripts' files. */
export interface SparkSqlPlanOptions {
  /** The cluster's URI of a storage URI (e.g. `file:///mnt/bucket/courier/x` → `gs://bucket/courier/x`). */
  readonly clusterUri: (uri: string) => string;
  readonly bundleUri: string;
  readonly paramsUri: string;
  /** Reducer count of steps that set no `shuffle.reducers`. */
  readonly reducers: number;
  /**
   * When a Parquet input is produced by an earlier step of the same submission that is not committed yet,
   * the storage URI of that step's Spark `output/` dir (read in its place) and its partition keys.
   */
  readonly producedEarlier?: (uri: string) => { readonly outputDir: string; readonly partitionBy: readonly PartitionKey[] } | undefined;
  /** Partition keys of an existing input dataset (from its marker), when known. */
  readonly inputPartitionKeys?: (uri: string) => readonly PartitionKey[] | undefined;
  readonly quarantineSample?: number;
  readonly node?: string;
}

/** The storage URI of a step's Spark dir in a run's work dir. */
export function sparkStepDir(plan: Pick<RunPlan, 'workDir'>, step: string): string {
  return joinUri(plan.workDir, 'spark', step);
}

/** Plans every step of a job run as Spark SQL (inputs of earlier steps read from their Spark `output/` dirs). */
export function sparkSqlSteps<P>(plan: RunPlan<P>, options: SparkSqlPlanOptions): SparkSqlStep[] {
  const own = new Map<string, { outputDir: string; partitionBy: readonly PartitionKey[] }>();
  return plan.steps.map((step) => {
    const def = step.definition;
    const dir = sparkStepDir(plan, def.name);
    const inputs: SparkSqlInput[] = step.inputs.map((input) => {
      const columns = input.columns.map((c) => input.schema.fields.find((f) => f.name === c)!);
      if (input.fromStep !== undefined) {
        const from = own.get(input.fromStep)!;
        return { name: input.name, format: 'parquet', uris: [options.clusterUri(from.outputDir)], columns, partitionKeys: from.partitionBy };
      }
      let keys: readonly PartitionKey[] | undefined;
      const uris = input.uris.map((uri) => {
        const earlier = options.producedEarlier?.(uri);
        keys ??= earlier?.partitionBy ?? options.inputPartitionKeys?.(uri);
        return options.clusterUri(earlier?.outputDir ?? uri);
      });
      return {
        name: input.name,
        format: input.format,
        uris,
        columns,
        ...(keys !== undefined ? { partitionKeys: keys } : {}),
        ...(input.partitions !== undefined ? { partitions: input.partitions } : {}),
      };
    });
    const partitionBy = partitionKeys(step.output.partitionBy);
    own.set(def.name, { outputDir: joinUri(dir, SPARK_STEP_DIRS.output), partitionBy });
    return {
      job: plan.job.name,
      step: def.name,
      index: step.index,
      bundleUri: options.bundleUri,
      paramsUri: options.paramsUri,
      inputs,
      reducers: Math.max(1, Math.floor(def.shuffle?.reducers ?? options.reducers)),
      dir: options.clusterUri(dir),
      output: { schema: step.output.schema.fields, partitionBy },
      maxBadRecordRate: step.maxBadRecordRate,
      ...(options.quarantineSample !== undefined ? { quarantineSample: options.quarantineSample } : {}),
      ...(options.node !== undefined ? { node: options.node } : {}),
    };
  });
}

// ---- rendering ----

/** A SQL string literal (Spark's default parser: backslash escapes). */
export function sqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}'`;
}

/** A quoted identifier. */
function id(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** A view name part from a step or input name (letters, digits and `_`). */
function viewPart(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * Hive's LazySimpleSerDe with the streaming protocol's escaping: tab-separated, `\` escapes, CR and LF as
 * `\r` `\n`, `\N` for null. The serde also escapes its nested-collection separators (bytes 0x02-0x08) with a
 * backslash; the protocol's readers take `\` + any other character as that character, so keys survive.
 */
const SERDE = `ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'
    WITH SERDEPROPERTIES ('field.delim' = '\\t', 'escape.delim' = '\\\\', 'serialization.escape.crlf' = 'true', 'serialization.null.format' = '\\\\N')`;

/** A column as the mapper reads it: text in the protocol's field values (docs/cluster.md). */
function toProtocol(type: FieldType, expr: string): string {
  switch (type) {
    case 'string':
      return expr;
    case 'int32':
    case 'int64':
    case 'float64':
    case 'bool':
      return `CAST(${expr} AS STRING)`;
    case 'timestamp_ms':
      return `CAST(unix_millis(${expr}) AS STRING)`;
    case 'list<string>':
    case 'list<int32>':
      return `to_json(${expr})`;
  }
}

/** A reducer output field (text) cast to its output schema type. */
function fromProtocol(type: FieldType, expr: string): string {
  switch (type) {
    case 'string':
      return expr;
    case 'int32':
      return `CAST(${expr} AS INT)`;
    case 'int64':
      return `CAST(${expr} AS BIGINT)`;
    case 'float64':
      return `CAST(${expr} AS DOUBLE)`;
    case 'bool':
      return `CAST(${expr} AS BOOLEAN)`;
    case 'timestamp_ms':
      return `timestamp_millis(CAST(${expr} AS BIGINT))`;
    case 'list<string>':
      return `from_json(${expr}, 'array<string>')`;
    case 'list<int32>':
      return `from_json(${expr}, 'array<int>')`;
  }
}

/** The Spark SQL type of a field (for the quarantine's from_json schema). */
function sparkType(type: FieldType): string {
  switch (type) {
    case 'string':
      return 'STRING';
    case 'int32':
      return 'INT';
    case 'int64':
    case 'timestamp_ms':
      return 'BIGINT';
    case 'float64':
      return 'DOUBLE';
    case 'bool':
      return 'BOOLEAN';
    case 'list<string>':
      return 'ARRAY<STRING>';
    case 'list<int32>':
      return 'ARRAY<INT>';
  }
}

/** The file name the bundle and parameters have in a task's working directory (ADD FILE puts them there). */
function fileName(uri: string): string {
  return uri.slice(uri.lastIndexOf('/') + 1);
}

/**
 * The bash command of one TRANSFORM (Spark runs it with `/bin/bash -c`). Parameters are read from the
 * added file, so no JSON is ever quoted into SQL or shell.
 */
function command(step: SparkSqlStep, args: readonly string[]): string {
  const bundle = fileName(step.bundleUri);
  const params = fileName(step.paramsUri);
  for (const a of [bundle, params, ...args]) {
    if (!/^[A-Za-z0-9._-]+$/.test(a)) throw new Error(`spark SQL of ${step.job} step ${step.step}: ${JSON.stringify(a)} cannot go into a TRANSFORM command; names are letters, digits, ., _ and -`);
  }
  return `${step.node ?? 'node'} ${bundle} ${args.join(' ')} --params "$(cat ${params})"`;
}

/** Renders the Spark SQL script of one step (see the module comment). */
export function sparkSqlStepScript(step: SparkSqlStep): string {
  const v = (suffix: string) => id(`${viewPart(step.step)}__${suffix}`);
  const sample = step.quarantineSample ?? DEFAULT_QUARANTINE_SAMPLE;
  const out: string[] = [];
  const statement = (text: string) => out.push(text.trimEnd() + ';');
  out.push(
    `-- Courier job ${step.job}, step ${step.step} (${step.index + 1}): generated by engine/spark-sql-step.ts, see docs/dataproc.md.`,
    `-- Writes ${step.dir}/{output,quarantine,counts,counters}; the submitter commits output/ and writes _SUCCESS.`,
  );
  statement(`SET spark.sql.shuffle.partitions=${step.reducers}`);
  // Courier's readers take TIMESTAMP(MILLIS); Spark writes INT96 unless told.
  statement('SET spark.sql.parquet.outputTimestampType=TIMESTAMP_MILLIS');
  // Hadoop's empty _SUCCESS would look like a damaged Courier marker.
  statement('SET mapreduce.fileoutputcommitter.marksuccessfuljobs=false');
  statement(`ADD FILE ${sqlString(step.bundleUri)}`);
  statement(`ADD FILE ${sqlString(step.paramsUri)}`);

  const mapped: string[] = [];
  const inputCounts: string[] = [];
  for (const input of step.inputs) {
    if (input.uris.length === 0) continue;
    const keys = new Map((input.partitionKeys ?? []).map((k) => [k.column, k.key]));
    const views = input.uris.map((uri, i) => {
      const view = v(`${viewPart(input.name)}_${i}`);
      statement(`CREATE OR REPLACE TEMPORARY VIEW ${view} USING ${input.format === 'lines' ? 'text' : 'parquet'} OPTIONS (path ${sqlString(uri)})`);
      return view;
    });
    const filter = Object.entries(input.partitions ?? {});
    const where = filter.length
      ? `\n    WHERE ${filter.map(([col, values]) => `CAST(${id(keys.get(col) ?? col)} AS STRING) IN (${values.map((x) => sqlString(String(x))).join(', ')})`).join(' AND ')}`
      : '';
    const columns =
      input.format === 'lines'
        ? [`${id('value')} AS ${id('line')}`]
        : input.columns.map((c) => `${toProtocol(c.type, id(keys.get(c.name) ?? c.name))} AS ${id(c.name)}`);
    const source = v(viewPart(input.name));
    statement(`CREATE OR REPLACE TEMPORARY VIEW ${source} AS\n${views.map((view) => `  SELECT ${columns.join(', ')}\n    FROM ${view}${where}`).join('\n  UNION ALL\n')}`);
    inputCounts.push(`(SELECT count(*) FROM ${source})`);
    const names = input.format === 'lines' ? [id('line')] : input.columns.map((c) => id(c.name));
    mapped.push(`  SELECT TRANSFORM(${names.join(', ')})
    ${SERDE}
    USING ${sqlString(command(step, ['map', step.step, input.name, '--reducers', String(step.reducers), '--quarantine-sample', String(sample), '--counters-in-band']))}
    AS (${id('partition')} STRING, ${id('key')} STRING, ${id('value')} STRING)
    ${SERDE}
  FROM ${source}`);
  }
  if (mapped.length === 0) mapped.push(`  SELECT CAST(NULL AS STRING) AS ${id('partition')}, CAST(NULL AS STRING) AS ${id('key')}, CAST(NULL AS STRING) AS ${id('value')} WHERE false`);
  statement(`CREATE OR REPLACE TEMPORARY VIEW ${v('mapped')} AS\n${mapped.join('\n  UNION ALL\n')}`);

  // Cached so the output, the quarantine and the counts read one run of the reducers.
  const fields = step.output.schema;
  const fieldCols = fields.map((_, i) => id(`f${i}`));
  statement(`CACHE TABLE ${v('reduced')} AS
  SELECT TRANSFORM(${id('partition')}, ${id('key')}, ${id('value')})
    ${SERDE}
    USING ${sqlString(command(step, ['reduce', step.step, '--quarantine-sample', String(sample), '--counters-in-band']))}
    AS (${id('tag')} STRING, ${fieldCols.map((c) => `${c} STRING`).join(', ')})
    ${SERDE}
  FROM (SELECT ${id('partition')}, ${id('key')}, ${id('value')} FROM ${v('mapped')}
    DISTRIBUTE BY ${id('partition')} SORT BY ${id('partition')}, ${id('key')}) ${v('shuffled')}`);

  // A bad line is `bad` and the quarantine record as JSON (reducers pass the mappers' bad lines on).
  const quarantineType = QUARANTINE_SCHEMA.fields.map((f) => `${f.name}: ${sparkType(f.type)}`).join(', ');
  statement(`CREATE OR REPLACE TEMPORARY VIEW ${v('bad')} AS
  SELECT from_json(${fieldCols[0] ?? "''"}, ${sqlString(`STRUCT<${quarantineType}>`)}) AS ${id('q')}
    FROM ${v('reduced')} WHERE ${id('tag')} = 'bad'`);
  const rate = step.maxBadRecordRate;
  statement(`CACHE TABLE ${v('counts')} AS
  SELECT ${inputCounts.length ? inputCounts.join(' + ') : '0'} AS ${id('records_in')},
    (SELECT count(*) FROM ${v('reduced')} WHERE ${id('tag')} = 'r') AS ${id('records_out')},
    (SELECT count(*) FROM ${v('bad')} WHERE ${id('q')}.${id('phase')} <> 'rejected') AS ${id('bad_records')},
    (SELECT count(*) FROM ${v('bad')} WHERE ${id('q')}.${id('phase')} = 'rejected') AS ${id('rejected_records')}`);
  statement(`INSERT OVERWRITE DIRECTORY ${sqlString(joinUri(step.dir, SPARK_STEP_DIRS.counts))} USING json
  SELECT * FROM ${v('counts')}`);
  // Each task's counters (JSON, one line per task; Spark keeps no reporter:counter lines), summed by the submitter.
  statement(`INSERT OVERWRITE DIRECTORY ${sqlString(joinUri(step.dir, SPARK_STEP_DIRS.counters))} USING text
  SELECT ${fieldCols[0] ?? "''"} AS ${id('value')}
    FROM ${v('reduced')} WHERE ${id('tag')} = 'counters'`);
  // The quarantine is written before the rate is judged, so a failed step still shows its bad records.
  const quarantineCols = QUARANTINE_SCHEMA.fields.map((f) => `${id('q')}.${id(f.name)} AS ${id(f.name)}`).join(', ');
  statement(`INSERT OVERWRITE DIRECTORY ${sqlString(joinUri(step.dir, SPARK_STEP_DIRS.quarantine))} USING parquet
  SELECT ${quarantineCols}
    FROM ${v('bad')} LIMIT ${sample}`);
  statement(`SELECT CASE WHEN ${id('bad_records')} > 0 AND ${id('bad_records')} > ${rate} * ${id('records_in')}
    THEN raise_error(concat(${sqlString(`job ${step.job} step ${step.step}: `)}, ${id('bad_records')}, ' bad records of ', ${id('records_in')}, ${sqlString(` exceed maxBadRecordRate ${rate}; see ${joinUri(step.dir, SPARK_STEP_DIRS.quarantine)}`)}))
    ELSE 'ok' END AS ${id('bad_record_check')}
  FROM ${v('counts')}`);

  const outputUri = joinUri(step.dir, SPARK_STEP_DIRS.output);
  const partitionBy = step.output.partitionBy;
  if (partitionBy.length === 0) {
    const typed = fields.map((f, i) => `${fromProtocol(f.type, fieldCols[i]!)} AS ${id(f.name)}`);
    statement(`INSERT OVERWRITE DIRECTORY ${sqlString(outputUri)} USING parquet
  SELECT ${typed.join(',\n    ')}
    FROM ${v('reduced')} WHERE ${id('tag')} = 'r'`);
  } else {
    // Partitioned writes need a table: an external one at the Spark dir, dropped after (the files stay).
    const byColumn = new Map(partitionBy.map((k) => [k.column, k.key]));
    const table = id(`courier_${viewPart(step.job)}_${viewPart(step.step)}_${createHash('sha256').update(step.dir).digest('hex').slice(0, 12)}`);
    const columns = fields.map((f, i) => `${fromProtocol(f.type, fieldCols[i]!)} AS ${id(byColumn.get(f.name) ?? f.name)}`);
    statement(`DROP TABLE IF EXISTS ${table}`);
    statement(`CREATE TABLE ${table} USING parquet PARTITIONED BY (${partitionBy.map((k) => id(k.key)).join(', ')}) LOCATION ${sqlString(outputUri)} AS
  SELECT ${columns.join(',\n    ')}
    FROM ${v('reduced')} WHERE ${id('tag')} = 'r'`);
    statement(`DROP TABLE ${table}`);
  }
  return out.join('\n') + '\n';
}
