// The Spark SQL of the refresher's and the batch formatter's steps, compared with golden files
// (test/engine/golden/spark-sql/*.sql; UPDATE_GOLDEN=1 rewrites them, review the diff), plus the rules each
// script must keep whatever the golden says: the serde on both sides of every TRANSFORM, parameters from
// the added file, inputs of earlier steps read from their Spark dirs, typed and partitioned outputs.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planRun } from '../../engine/run-plan.ts';
import { sparkSqlSteps, sparkSqlStepScript, sqlString, type SparkSqlPlanOptions } from '../../engine/spark-sql-step.ts';
import { batchFormatterJob } from '../../jobs/batch-formatter/index.ts';
import { refresherJob } from '../../jobs/refresher/index.ts';

const GOLDEN_DIR = path.join(import.meta.dirname, 'golden', 'spark-sql');
const ROOT = 'file:///srv/courier-test-root';
const CLUSTER_ROOT = 'gs://courier-bucket/data';
const clusterUri = (uri: string) => (uri.startsWith(ROOT) ? CLUSTER_ROOT + uri.slice(ROOT.length) : uri);

async function expectGoldenSql(name: string, text: string): Promise<void> {
  const file = path.join(GOLDEN_DIR, `${name}.sql`);
  if (process.env.UPDATE_GOLDEN === '1') {
    await fsp.mkdir(GOLDEN_DIR, { recursive: true });
    await fsp.writeFile(file, text);
    return;
  }
  const expected = await fsp.readFile(file, 'utf8').catch(() => {
    throw new Error(`golden file ${file} is missing; run UPDATE_GOLDEN=1 npx vitest run test/engine/spark-sql-step.test.ts, review it, and commit it`);
  });
  expect(text, `SQL differs from ${path.relative(process.cwd(), file)} (UPDATE_GOLDEN=1 regenerates it after review)`).toBe(expected);
}

const refresherParams = {
  date: '2026-11-23',
  partners: [{ id: 17, segmentMap: { '1001': 'auto', '1002': 'travel' } }, { id: 42, segmentMap: { '1001': 'GX-AUTO' }, deltas: true }],
  previousStoreDate: '2026-11-22',
  previousSegmentsDate: null,
};
const batchParams = { partner: { name: 'globex-dmp', id: 42, template: { fields: ['partner_user_id', 'segments'] } }, period: '2026-11-23' };

const options = (job: string, extra: Partial<SparkSqlPlanOptions> = {}): SparkSqlPlanOptions => ({
  clusterUri,
  bundleUri: `gs://courier-staging/runs/r1/${job}.stage.js`,
  paramsUri: `gs://courier-staging/runs/r1/${job}.params.json`,
  reducers: 8,
  ...extra,
});

async function refresherSteps() {
  const plan = await planRun(refresherJob, refresherParams, { storageRoot: ROOT, workDir: `${ROOT}/_work/refresher/r1`, maxBadRecordRate: 0.001 });
  return sparkSqlSteps(plan, options('refresher'));
}

async function batchSteps(extra: Partial<SparkSqlPlanOptions> = {}) {
  const plan = await planRun(batchFormatterJob, batchParams, { storageRoot: ROOT, workDir: `${ROOT}/_work/batch-formatter/r1`, overwrite: true });
  return sparkSqlSteps(plan, options('batch-formatter', extra));
}

/** The TRANSFORM clauses of a script, each from SELECT TRANSFORM to its FROM. */
function transforms(sql: string): string[] {
  return sql.split('SELECT TRANSFORM(').slice(1).map((t) => t.slice(0, t.indexOf('FROM')));
}

describe('Spark SQL of a step (golden files)', () => {
  it('refresher: merge-store (a text input and an optional Parquet input) and requests (an earlier step, a partitioned output)', async () => {
    const [mergeStore, requests] = await refresherSteps();
    await expectGoldenSql('refresher-merge-store', sparkSqlStepScript(mergeStore!));
    await expectGoldenSql('refresher-requests', sparkSqlStepScript(requests!));
  });

  it('batch formatter: latest (a partition filter on a dataset of another job) and format (one reducer)', async () => {
    const steps = await batchSteps({ inputPartitionKeys: () => [{ column: 'partner_id', key: 'partner' }, { column: 'priority', key: 'priority' }] });
    await expectGoldenSql('batch-formatter-latest', sparkSqlStepScript(steps[0]!));
    await expectGoldenSql('batch-formatter-format', sparkSqlStepScript(steps[1]!));
  });
});

describe('Spark SQL of a step (rules)', () => {
  it('names the protocol serde with its escaping on both sides of every TRANSFORM, and reads parameters from the added file', async () => {
    for (const step of [...(await refresherSteps()), ...(await batchSteps())]) {
      const sql = sparkSqlStepScript(step);
      const clauses = transforms(sql);
      expect(clauses.length).toBe(step.inputs.filter((i) => i.uris.length > 0).length + 1);
      for (const t of clauses) {
        expect(t.match(/ROW FORMAT SERDE 'org\.apache\.hadoop\.hive\.serde2\.lazy\.LazySimpleSerDe'/g)).toHaveLength(2);
        expect(t.match(/'field\.delim' = '\\t', 'escape\.delim' = '\\\\', 'serialization\.escape\.crlf' = 'true', 'serialization\.null\.format' = '\\\\N'/g)).toHaveLength(2);
        expect(t).toContain(`--params "$(cat ${step.job}.params.json)"`);
      }
      expect(sql).toContain(`ADD FILE 'gs://courier-staging/runs/r1/${step.job}.stage.js';`);
      expect(sql).not.toContain('2026-11-22"'); // no parameter JSON inlined anywhere
      expect(sql).toContain('DISTRIBUTE BY `partition` SORT BY `partition`, `key`');
      expect(sql).not.toContain('file://');
    }
  });

  it('maps every input: text as lines, an absent optional input left out, an earlier step from its Spark output dir', async () => {
    const [mergeStore, requests] = await refresherSteps();
    expect(mergeStore!.inputs.map((i) => [i.name, i.format, i.uris])).toEqual([
      ['logs', 'lines', [`${CLUSTER_ROOT}/logs/dt=2026-11-23`]],
      ['previousStore', 'parquet', [`${CLUSTER_ROOT}/cookie-sync-store/dt=2026-11-22`]],
    ]);
    const sql = sparkSqlStepScript(mergeStore!);
    expect(sql).toContain(`USING text OPTIONS (path '${CLUSTER_ROOT}/logs/dt=2026-11-23')`);
    expect(sql).toContain('CAST(unix_millis(`first_seen`) AS STRING) AS `first_seen`');
    expect(requests!.inputs.find((i) => i.name === 'store')!.uris).toEqual([`${CLUSTER_ROOT}/_work/refresher/r1/spark/merge-store/output`]);
    expect(requests!.inputs.find((i) => i.name === 'previousSegments')!.uris).toEqual([]);
    const req = sparkSqlStepScript(requests!);
    expect(req).toContain('to_json(`segment_ids`) AS `segment_ids`');
    expect(req).not.toContain('previousSegments_0');
  });

  it('casts the reducer fields to the output schema and partitions the output by its directory keys', async () => {
    const [, requests] = await refresherSteps();
    const sql = sparkSqlStepScript(requests!);
    expect(sql).toContain("from_json(`f5`, 'array<string>') AS `segments`");
    expect(sql).toContain('timestamp_millis(CAST(`f7` AS BIGINT)) AS `synced_at`');
    expect(sql).toContain('CAST(`f1` AS INT) AS `partner`');
    expect(sql).toMatch(/PARTITIONED BY \(`partner`, `priority`\) LOCATION 'gs:\/\/courier-bucket\/data\/_work\/refresher\/r1\/spark\/requests\/output'/);
    expect(sql).toContain('SET spark.sql.parquet.outputTimestampType=TIMESTAMP_MILLIS;');
    expect(sql).toContain('SET mapreduce.fileoutputcommitter.marksuccessfuljobs=false;');
  });

  it('filters partitions by directory key and reads a dataset produced earlier in the same submission from its Spark dir', async () => {
    const earlierDir = `${ROOT}/_work/refresher/r1/spark/requests/output`;
    const steps = await batchSteps({
      producedEarlier: (uri) => (uri === `${ROOT}/requests/dt=2026-11-23` ? { outputDir: earlierDir, partitionBy: [{ column: 'partner_id', key: 'partner' }] } : undefined),
    });
    expect(steps[0]!.inputs[0]!.uris).toEqual([clusterUri(earlierDir)]);
    const sql = sparkSqlStepScript(steps[0]!);
    expect(sql).toContain("WHERE CAST(`partner` AS STRING) IN ('42')");
    expect(steps[1]!.reducers).toBe(1);
    expect(sparkSqlStepScript(steps[1]!)).toContain('SET spark.sql.shuffle.partitions=1;');
  });

  it('fails the step with raise_error over its bad-record rate, after writing the quarantine', async () => {
    const [mergeStore] = await refresherSteps();
    const sql = sparkSqlStepScript(mergeStore!);
    const quarantine = sql.indexOf("INSERT OVERWRITE DIRECTORY 'gs://courier-bucket/data/_work/refresher/r1/spark/merge-store/quarantine'");
    const check = sql.indexOf('raise_error(');
    const output = sql.indexOf("INSERT OVERWRITE DIRECTORY 'gs://courier-bucket/data/_work/refresher/r1/spark/merge-store/output'");
    expect(quarantine).toBeGreaterThan(0);
    expect(check).toBeGreaterThan(quarantine);
    expect(output).toBeGreaterThan(check);
    expect(sql).toContain('> 0.001 * `records_in`');
  });

  it('quotes SQL strings with backslash escapes and refuses names a shell command cannot carry', async () => {
    expect(sqlString("it's a\\b\tc")).toBe("'it\\'s a\\\\b\\tc'");
    const [mergeStore] = await refresherSteps();
    expect(() => sparkSqlStepScript({ ...mergeStore!, paramsUri: 'gs://b/x y.json' })).toThrow(/"x y.json" cannot go into a TRANSFORM command/);
  });
});
