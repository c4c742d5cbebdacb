// The spark-submit engine against a stand-in gateway (test/support/cluster-gateway-stand-in.ts): no Hadoop or
// Spark can run here, so the gateway prefix runs a program that carries out `hadoop jar hadoop-streaming.jar`
// as Hadoop Streaming's document says (splits, TextInputFormat, KeyFieldBasedPartitioner, bytewise sort,
// TextOutputFormat, counters) and records `spark-sql -f` scripts without running them. What only a real
// cluster proves is listed in docs/mini-cluster.md.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../config/index.ts';
import { engineRunner } from '../../cli/engine-runner.ts';
import { JobError, localRunner, QUARANTINE_SCHEMA, SparkSubmitConfigError, SparkSubmitRunner, defaultClusterUri, type SparkSubmitRunnerOptions } from '../../engine/index.ts';
import { refresherDatasets, runRefresher } from '../../jobs/refresher/index.ts';
import { configureWebHdfs, joinUri, localPath, rowsToBatch, writeParquetFile } from '../../storage/index.ts';
import { startWebHdfsServer, type WebHdfsTestServer } from '../support/webhdfs-server.ts';
import { cookieNamed, pageLine, readRows as readRefresherRows, syncLine, writeLogDay, writeSegmentDay } from '../jobs/refresher/refresher-fixtures.ts';
import { lineInputsCase, lineTotalsJob } from './conformance/line-inputs.ts';
import { LINES, linesSchema, wordCountJob } from './conformance/word-count.ts';
import { expectGolden, makeTempRoot, readRows, removeTempRoot, writeFilesInput, writeInput, type TempRoot } from './conformance/fixtures.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const standIn = path.join(repo, 'test/support/cluster-gateway-stand-in.ts');
const STAND_IN_GATEWAY = [process.execPath, '--import', 'tsx', standIn];
const DATE = '2026-11-23';

let t: TempRoot | undefined;
beforeEach(async () => {
  t = await makeTempRoot('courier-spark-submit-');
  process.env['STAND_IN_WORK'] = t.dir;
  process.env['STAND_IN_RECORD'] = path.join(t.dir, 'recorded');
});
afterEach(async () => {
  delete process.env['STAND_IN_WORK'];
  delete process.env['STAND_IN_RECORD'];
  delete process.env['STAND_IN_SPARK_SQL_EXIT'];
  delete process.env['STAND_IN_HDFS_WEBHDFS'];
  delete process.env['STAND_IN_HDFS_USER'];
  await removeTempRoot(t);
  t = undefined;
});

function runner(extra: Partial<SparkSubmitRunnerOptions> = {}): SparkSubmitRunner {
  return new SparkSubmitRunner({ gateway: STAND_IN_GATEWAY, stagingUri: joinUri(t!.root, '_staging'), ...extra });
}

async function writeSmallLogs(): Promise<void> {
  await writeFilesInput(t!, `logs/dt=${DATE}`, [
    { path: 'hour=00/webapp-a.log', data: 'u1\t1\nu2\t2\nboom\n', rows: 3 },
    { path: 'hour=01/webapp-b.log', data: 'u1\t5\n', rows: 1 },
  ]);
}

describe('spark-submit engine: text-only steps as Hadoop Streaming jobs (stand-in gateway)', () => {
  it('passes the lines-input conformance case with the same golden as the local runners', async () => {
    const commands: string[] = [];
    const r = runner({ onOutput: (line) => commands.push(line) });
    await expectGolden('line-inputs', await lineInputsCase.run({ runner: r, t: t! }));
    // The job client's own lines went by as it ran.
    expect(commands.some((l) => / map 100% reduce 100%/.test(l))).toBe(true);
    expect(commands.some((l) => /Counters: \d+/.test(l))).toBe(true);
    // The step's cluster files, the shuffle and what the run staged go after success.
    for (const run of fs.readdirSync(path.join(t!.dir, '_work', 'line-totals'))) {
      expect(fs.readdirSync(path.join(t!.dir, '_work', 'line-totals', run))).toEqual(['_quarantine']);
    }
    expect(fs.readdirSync(path.join(t!.dir, '_staging'))).toEqual([]);
  });

  it('gives the cluster plain shell words, generic options first, one -input per file, and a map script per file', async () => {
    await writeSmallLogs();
    // Staged files are copied into the task directories, where they stay while the stand-in runs: keep them.
    const scripts = new Map<string, string>();
    const lines: string[] = [];
    const result = await runner({
      onOutput: (l) => {
        lines.push(l);
        const staged = path.join(t!.dir, '_staging', 'line-totals');
        if (scripts.size === 0 && fs.existsSync(staged)) {
          const dir = path.join(staged, fs.readdirSync(staged)[0]!);
          for (const f of fs.readdirSync(dir)) scripts.set(f, fs.readFileSync(path.join(dir, f), 'utf8'));
        }
      },
    }).run(lineTotalsJob, { date: DATE }, { storageRoot: t!.root, maxBadRecordRate: 0.5 });
    expect(result.steps[0]).toMatchObject({ name: 'totals', recordsIn: 4, recordsOut: 2, badRecords: 1 });
    expect([...scripts.keys()].sort()).toEqual(['courier-totals.map.sh', 'courier-totals.reduce.sh', 'line-totals.stage.js']);
    const map = scripts.get('courier-totals.map.sh')!;
    // Each input file is matched by its path and handed to the bundle with its storage URI (the quarantine names it).
    expect(map).toContain(`*'${path.join(t!.dir, `logs/dt=${DATE}/hour=00/webapp-a.log`)}') input='logs'; file='${joinUri(t!.root, `logs/dt=${DATE}/hour=00/webapp-a.log`)}' ;;`);
    expect(map).toMatch(/exec 'node' --enable-source-maps line-totals\.stage\.js map 'totals' "\$input" --raw --reducers 2 --file "\$file" --first-row 0 --params '\{"date":"2026-11-23"\}'/);
    expect(scripts.get('courier-totals.reduce.sh')).toContain("line-totals.stage.js reduce 'totals' --params");
    // The command line: every argument a plain shell word, the generic options before the streaming ones.
    const [args] = fs.readFileSync(path.join(t!.dir, 'recorded', 'commands.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    for (const a of args!) expect(a).toMatch(/^[A-Za-z0-9_@%+=:,./-]+$/);
    expect(args!.slice(0, 3)).toEqual(['hadoop', 'jar', '/opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-3.4.1.jar']);
    const lastGeneric = Math.max(args!.lastIndexOf('-D'), args!.lastIndexOf('-files'));
    expect(lastGeneric).toBeLessThan(args!.indexOf('-input'));
    expect(args!.filter((a) => a === '-input')).toHaveLength(2);
    expect(args).toContain('mapreduce.partition.keypartitioner.options=-k1,1');
    expect(args).toContain('stream.num.map.output.key.fields=2');
  });

  it('hands the cluster hdfs:/// paths for webhdfs:// URIs and file:// URIs unchanged', () => {
    expect(defaultClusterUri('webhdfs://localhost:9870/courier/data/logs/dt=2026-11-23')).toBe('hdfs:///courier/data/logs/dt=2026-11-23');
    expect(defaultClusterUri('webhdfs://namenode:9870')).toBe('hdfs:///');
    expect(defaultClusterUri('file:///tmp/x')).toBe('file:///tmp/x');
    expect(() => defaultClusterUri('gs://bucket/x')).toThrow(/webhdfs:\/\/ and file:\/\/ paths only/);
  });
});

describe('spark-submit engine: errors name the stage and say what to do', () => {
  it('a gateway command that is not installed', async () => {
    await writeSmallLogs();
    const e = await runner({ gateway: ['courier-no-such-gateway-command', 'exec', 'gateway'] })
      .run(lineTotalsJob, { date: DATE }, { storageRoot: t!.root })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobError);
    expect((e as Error).message).toMatch(/^job "line-totals" step "totals": the gateway command "courier-no-such-gateway-command" \(engine\.sparkSubmit\.gateway: \["courier-no-such-gateway-command","exec","gateway"\]\) is not installed on this machine or not on PATH/);
  });

  it('a failing map task: the job fails with the exit code, the tail of the driver output, and the log kept', async () => {
    await writeSmallLogs();
    const e = await runner()
      .run(lineTotalsJob, { date: DATE }, { storageRoot: t!.root, maxBadRecordRate: 0 })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobError);
    const message = (e as Error).message;
    expect(message).toMatch(/^job "line-totals" step "totals": `hadoop jar \/opt\/hadoop\/share\/hadoop\/tools\/lib\/hadoop-streaming-3\.4\.1\.jar …` on the gateway \(.*cluster-gateway-stand-in\.ts\) exited with code 1; its last \d+ lines:/);
    expect(message).toContain('PipeMapRed.waitOutputThreads(): subprocess failed with code 1');
    expect(message).toContain('Streaming Command Failed!');
    const log = /kept in (\S+)\)$/.exec(message)![1]!;
    expect(log).toBe(joinUri(t!.root, '_work', 'line-totals', fs.readdirSync(path.join(t!.dir, '_work', 'line-totals'))[0]!, '_cluster', 'totals', 'driver.log'));
    const text = await fsp.readFile(localPath(log), 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# hadoop jar .* -mapper courier-totals\.map\.sh -reducer courier-totals\.reduce\.sh -partitioner org\.apache\.hadoop\.mapred\.lib\.KeyFieldBasedPartitioner -numReduceTasks 2$/);
    // Four attempts, as Hadoop retries a failed map task (mapreduce.map.maxattempts).
    expect(text.match(/Status : FAILED/g)).toHaveLength(4);
    // Nothing was committed.
    expect(fs.existsSync(path.join(t!.dir, `totals/dt=${DATE}/_SUCCESS`))).toBe(false);
  });

  it('a command the gateway cannot run: its exit code and message', async () => {
    await writeSmallLogs();
    const e = await runner({ hadoopStreamingJar: '/opt/hadoop/share/hadoop/tools/lib/hadoop-mapreduce-examples.jar' })
      .run(lineTotalsJob, { date: DATE }, { storageRoot: t!.root })
      .catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/^job "line-totals" step "totals": `hadoop jar \/opt\/hadoop\/share\/hadoop\/tools\/lib\/hadoop-mapreduce-examples\.jar …` on the gateway .* exited with code 255; its last line:\n {2}\| JAR does not exist or is not a normal file/);
    const notFound = await runner({ gateway: ['sh', '-c', 'echo "sh: 1: $0: not found" >&2; exit 127'] })
      .run(lineTotalsJob, { date: DATE }, { storageRoot: t!.root })
      .catch((x: unknown) => x);
    expect((notFound as Error).message).toContain('exited with code 127 (command not found: is "hadoop" installed and on PATH on the gateway?)');
  });

  it('bad options: an empty gateway, a staging URI the cluster cannot read, zero reducers', () => {
    const staging = 'file:///tmp/staging';
    expect(() => new SparkSubmitRunner({ gateway: [], stagingUri: staging })).toThrow(SparkSubmitConfigError);
    expect(() => new SparkSubmitRunner({ gateway: [], stagingUri: staging })).toThrow(/engine\.sparkSubmit\.gateway must be a non-empty list of command words, e\.g\. \[docker, compose/);
    expect(() => new SparkSubmitRunner({ gateway: ['ssh', ''], stagingUri: staging })).toThrow(/gateway must be a non-empty list/);
    expect(() => new SparkSubmitRunner({ gateway: ['ssh', 'gw'], stagingUri: 'gs://bucket/staging' })).toThrow(/engine\.sparkSubmit\.stagingUri must be a webhdfs:\/\/ or file:\/\/ URI .* got "gs:\/\/bucket\/staging"/);
    expect(() => new SparkSubmitRunner({ gateway: ['ssh', 'gw'], stagingUri: staging, reducers: 0 })).toThrow(/reducers must be a whole number of 1 or more/);
  });

  it('the config: spark-submit needs its section, and `--engine spark-submit` builds this runner from it', () => {
    const configFile = path.join(repo, 'config/courier.yaml');
    const base = { ...(parse(fs.readFileSync(path.join(repo, 'config/courier.example.yaml'), 'utf8')) as object), storage: { root: 'file:///tmp/courier-data' } };
    expect(() => parseConfig(JSON.stringify({ ...base, engine: { kind: 'spark-submit' } }), { file: configFile })).toThrow(
      /engine\.kind is "spark-submit", so an engine\.sparkSubmit section is required: add it with gateway, stagingUri/,
    );
    expect(() => parseConfig(JSON.stringify({ ...base, engine: { kind: 'spark-submit', sparkSubmit: { gateway: [], stagingUri: 'file:///tmp/s' } } }), { file: configFile })).toThrow(/gateway/);
    const config = parseConfig(JSON.stringify({ ...base, engine: { sparkSubmit: { gateway: ['ssh', 'gw'], stagingUri: 'webhdfs://nn:9870/staging' } } }), { file: configFile });
    expect(engineRunner(config, configFile, 'spark-submit').kind).toBe('spark-submit');
    const local = parseConfig(JSON.stringify(base), { file: configFile });
    expect(() => engineRunner(local, configFile, 'spark-submit')).toThrow(/--engine spark-submit needs an engine\.sparkSubmit section in .*config\/courier\.yaml \(gateway, stagingUri\); see docs\/mini-cluster\.md/);
  });
});

describe('spark-submit engine: steps with a Parquet input as spark-sql -f (stand-in gateway: scripts recorded, not run)', () => {
  const job = wordCountJob();
  const writeText = () => writeInput(t!, `text/dt=${DATE}`, linesSchema, LINES.map((text, i) => ({ line_no: i, text })));

  it('stages the bundle, the parameters and the step\'s script, and runs spark-sql -f on the script', async () => {
    await writeText();
    process.env['STAND_IN_SPARK_SQL_EXIT'] = '1';
    const e = await runner().run(job, { date: DATE }, { storageRoot: t!.root }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobError);
    expect((e as Error).message).toMatch(/^job "word-count" step "count": `spark-sql --name courier:word-count:count:\S+ …` on the gateway .* exited with code 1; its last line:\n {2}\| stand-in: spark-sql read \d+ characters of script and did not run them/);
    const recorded = path.join(t!.dir, 'recorded');
    const args = JSON.parse(fs.readFileSync(path.join(recorded, 'spark-sql-0.args.json'), 'utf8')) as string[];
    const [runId] = fs.readdirSync(path.join(t!.dir, '_staging', 'word-count'));
    const staged = joinUri(t!.root, '_staging', 'word-count', runId!);
    expect(args).toEqual(['--name', `courier:word-count:count:${runId}`, '-f', joinUri(staged, 'courier-count.sql')]);
    // The script the gateway read is the staged one, generated by spark-sql-step.ts for this step.
    const script = fs.readFileSync(path.join(recorded, 'spark-sql-0.sql'), 'utf8');
    expect(script).toBe(fs.readFileSync(localPath(joinUri(staged, 'courier-count.sql')), 'utf8'));
    expect(script.split('\n')[0]).toBe('-- Courier job word-count, step count (1): generated by engine/spark-sql-step.ts, see docs/dataproc.md.');
    expect(script).toContain(`ADD FILE '${joinUri(staged, 'word-count.stage.js')}';`);
    expect(script).toContain(`ADD FILE '${joinUri(staged, 'word-count.params.json')}';`);
    expect(script).toContain(`USING parquet OPTIONS (path '${joinUri(t!.root, `text/dt=${DATE}`)}')`);
    expect(script).toContain("'node word-count.stage.js map count lines --reducers 3");
    expect(script).toContain(`INSERT OVERWRITE DIRECTORY '${joinUri(t!.root, '_work', 'word-count', runId!, 'spark', 'count', 'output')}' USING parquet`);
    // What ADD FILE ships is there: the bundle (it runs here) and the parameters as JSON.
    expect(fs.readFileSync(localPath(joinUri(staged, 'word-count.params.json')), 'utf8')).toBe('{"date":"2026-11-23"}\n');
    const describe = spawnSync(process.execPath, [localPath(joinUri(staged, 'word-count.stage.js')), 'describe', '--params', '{"date":"2026-11-23"}'], { encoding: 'utf8' });
    expect(describe.status).toBe(0);
    expect(JSON.parse(describe.stdout)).toMatchObject({ job: 'word-count', steps: [{ name: 'count' }] });
    expect(fs.existsSync(path.join(t!.dir, `word_count/dt=${DATE}/_SUCCESS`))).toBe(false);
  });

  it('a spark-sql that exits 0 without writing the step\'s counts fails the step, committing nothing', async () => {
    await writeText();
    process.env['STAND_IN_SPARK_SQL_EXIT'] = '0';
    const e = await runner().run(job, { date: DATE }, { storageRoot: t!.root }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/^job "word-count" step "count": expected one counts row in \S+\/spark\/count\/counts, found 0: the step's Spark SQL script did not finish; see the driver output$/);
    expect(fs.existsSync(path.join(t!.dir, `word_count/dt=${DATE}/_SUCCESS`))).toBe(false);
  });
});

describe('spark-submit engine: the refresher on the stand-in gateway', () => {
  it("a first day's merge-store (logs only) runs as Hadoop Streaming and writes the store the local runner writes; requests stops at spark-sql", async () => {
    const D1 = '2026-11-22';
    const A = cookieNamed('A');
    const B = cookieNamed('B');
    const partners = [{ id: 17, segmentMap: { '1001': 'auto', '1002': 'travel' }, expiryDays: 30 }];
    const write = async (root: string): Promise<void> => {
      await writeLogDay(root, D1, {
        'hour=10/webapp-web-01.log.gz': [syncLine('2026-11-22T10:00:00.000Z', A, 17, 'PA1'), syncLine('2026-11-22T10:10:00.000Z', B, 17, 'PB'), pageLine('2026-11-22T10:11:00.000Z', B), 'garbage\tline'],
        'hour=11/webapp-web-01.log.gz': [syncLine('2026-11-22T11:00:00.000Z', B, 17, 'PB2'), syncLine('2026-11-22T11:10:00.000Z', A, 17, 'PA0')],
      });
      await writeSegmentDay(root, D1, [{ cookie_id: A, segment_ids: [1001] }, { cookie_id: B, segment_ids: [1001, 1002] }]);
    };
    const localRoot = joinUri(t!.root, 'local');
    const clusterRoot = joinUri(t!.root, 'cluster');
    await write(localRoot);
    await write(clusterRoot);
    await runRefresher(localRunner({ workers: 2 }), { storageRoot: localRoot, date: D1, partners, refreshEveryDays: 3 });
    const e = await runRefresher(runner(), { storageRoot: clusterRoot, date: D1, partners, refreshEveryDays: 3 }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/^job "refresher" step "requests": `spark-sql --name courier:refresher:requests:\S+ …` on the gateway .* exited with code 1/);
    const store = refresherDatasets(D1).outputs.store;
    expect(await readRefresherRows(joinUri(clusterRoot, store))).toEqual(await readRefresherRows(joinUri(localRoot, store)));
    expect((await readRefresherRows(joinUri(clusterRoot, store))).length).toBe(2);
  });
});

describe('spark-submit engine with a webhdfs:// storage root (stand-in WebHDFS cluster to its REST document, stand-in gateway)', () => {
  let server: WebHdfsTestServer;
  beforeAll(async () => {
    server = await startWebHdfsServer({ auth: { security: 'off', anonymous: false } });
    configureWebHdfs({ user: 'courier', retryDelayMs: 5 });
  });
  afterAll(async () => {
    configureWebHdfs({});
    await server?.close();
  });

  it('stages through WebHDFS, hands the cluster hdfs:/// paths, and commits the store the local runner writes', async () => {
    const D1 = '2026-11-22';
    const A = cookieNamed('A');
    const B = cookieNamed('B');
    const partners = [{ id: 17, segmentMap: { '1001': 'auto', '1002': 'travel' }, expiryDays: 30 }];
    const write = async (root: string): Promise<void> => {
      await writeLogDay(root, D1, {
        'hour=10/webapp-web-01.log.gz': [syncLine('2026-11-22T10:00:00.000Z', A, 17, 'PA1'), pageLine('2026-11-22T10:11:00.000Z', B), 'garbage\tline'],
        'hour=11/webapp-web-01.log.gz': [syncLine('2026-11-22T11:00:00.000Z', B, 17, 'PB2')],
      });
      await writeSegmentDay(root, D1, [{ cookie_id: A, segment_ids: [1001] }, { cookie_id: B, segment_ids: [1002] }]);
    };
    server.seedDirectory('/courier', 'courier');
    const root = `webhdfs://${server.authority}/courier/data`;
    const localRoot = joinUri(t!.root, 'local');
    await write(root);
    await write(localRoot);
    // The gateway's Hadoop reaches the same namenode (here through its WebHDFS endpoint) as fs.defaultFS.
    process.env['STAND_IN_HDFS_WEBHDFS'] = `http://${server.authority}`;
    process.env['STAND_IN_HDFS_USER'] = 'courier';
    await runRefresher(localRunner({ workers: 2 }), { storageRoot: localRoot, date: D1, partners, refreshEveryDays: 3 });
    const e = await runRefresher(runner({ stagingUri: `webhdfs://${server.authority}/courier/staging` }), { storageRoot: root, date: D1, partners, refreshEveryDays: 3 }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/^job "refresher" step "requests": `spark-sql --name courier:refresher:requests:\S+ …` on the gateway .* exited with code 1/);
    const store = refresherDatasets(D1).outputs.store;
    expect(await readRefresherRows(joinUri(root, store))).toEqual(await readRefresherRows(joinUri(localRoot, store)));

    const commands = fs.readFileSync(path.join(t!.dir, 'recorded', 'commands.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    const [hadoop, sparkSql] = commands as [string[], string[]];
    const runId = /:(\d{8}T\d{6}Z-[0-9a-f]+)$/.exec(hadoop[hadoop.indexOf('-D') + 1]!)![1]!;
    expect(hadoop.filter((_, i) => hadoop[i - 1] === '-input')).toEqual([
      `hdfs:///courier/data/logs/dt=${D1}/hour=10/webapp-web-01.log.gz`,
      `hdfs:///courier/data/logs/dt=${D1}/hour=11/webapp-web-01.log.gz`,
    ]);
    expect(hadoop[hadoop.indexOf('-files') + 1]).toBe(
      ['refresher.stage.js', 'courier-merge-store.map.sh', 'courier-merge-store.reduce.sh'].map((f) => `hdfs:///courier/staging/refresher/${runId}/${f}`).join(','),
    );
    expect(hadoop[hadoop.indexOf('-output') + 1]).toBe(`hdfs:///courier/data/_work/refresher/${runId}/_cluster/merge-store/streaming-output`);
    expect(sparkSql).toEqual(['spark-sql', '--name', `courier:refresher:requests:${runId}`, '-f', `hdfs:///courier/staging/refresher/${runId}/courier-requests.sql`]);
    // The script spark-sql read over HDFS names the cluster's paths too.
    const script = fs.readFileSync(path.join(t!.dir, 'recorded', 'spark-sql-0.sql'), 'utf8');
    expect(script).toContain(`ADD FILE 'hdfs:///courier/staging/refresher/${runId}/refresher.stage.js';`);
    expect(script).toContain(`USING parquet OPTIONS (path 'hdfs:///courier/data/${store}')`);
    // The failed run's staging stays, written by Courier through the namenode's two-step CREATE (then renamed into place).
    expect(server.walk('/courier/staging')).toContain(`/courier/staging/refresher/${runId}/refresher.stage.js`);
    expect(server.requests.some((r) => r.listener === 'datanode' && r.op === 'CREATE' && r.path.startsWith(`/courier/staging/refresher/${runId}/`))).toBe(true);
  });
});

describe('spark-submit engine: a Spark step over its bad-record rate', () => {
  it('keeps the quarantine the script wrote before it failed (a gateway that writes it, as the script does, then exits 1)', async () => {
    await writeInput(t!, `text/dt=${DATE}`, linesSchema, LINES.map((text, i) => ({ line_no: i, text })));
    const sample = path.join(t!.dir, 'quarantine-sample.parquet');
    const row = { step: 'count', phase: 'map', input: 'lines', file: 'f', row: 1, error: 'Error: x', stack: 'Error: x', reason: null, detail: null, record_json: '{}' };
    await writeParquetFile(sample, QUARANTINE_SCHEMA, [rowsToBatch(QUARANTINE_SCHEMA, [row])]);
    // Reads the script's quarantine directory from its INSERT OVERWRITE DIRECTORY statement, puts a part file there.
    const code = `const fs = require('node:fs'); const { fileURLToPath } = require('node:url');
const args = process.argv.slice(1); const script = fs.readFileSync(fileURLToPath(args[args.indexOf('-f') + 1]), 'utf8');
const dir = fileURLToPath(/INSERT OVERWRITE DIRECTORY '([^']+\\/quarantine)'/.exec(script)[1]);
fs.mkdirSync(dir, { recursive: true }); fs.copyFileSync(${JSON.stringify(sample)}, dir + '/part-00000-q.snappy.parquet');
console.error('org.apache.spark.SparkRuntimeException: job word-count step count: 1 bad records of 8 exceed maxBadRecordRate 0'); process.exit(1);`;
    const e = await runner({ gateway: [process.execPath, '-e', code] }).run(wordCountJob(), { date: DATE }, { storageRoot: t!.root }).catch((x: unknown) => x);
    expect((e as Error).message).toContain('exceed maxBadRecordRate 0');
    const quarantine = joinUri(t!.root, '_work', 'word-count', fs.readdirSync(path.join(t!.dir, '_work', 'word-count'))[0]!, '_quarantine', 'count');
    expect((await readRows(quarantine)).map((r) => [r['phase'], r['row']])).toEqual([['map', 1]]);
  });
});
