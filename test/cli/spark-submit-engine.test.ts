// `courier run daily-refresh --engine spark-submit` as users run it (the real executable), with the config's
// gateway pointing at the stand-in gateway (test/support/cluster-gateway-stand-in.ts: Hadoop Streaming carried
// out to its document, spark-sql scripts recorded but not run; no cluster runs here). On a first day the
// refresher's merge-store reads only logs, so it runs as a Hadoop Streaming job and commits the store the local
// engine writes; its requests step reads Parquet, so it goes to spark-sql, which the stand-in cannot run.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isComplete, fileSystemFor, toStorageUri } from '../../storage/index.ts';
import { readRows } from '../engine/conformance/fixtures.ts';
import { cookieNamed, pageLine, syncLine, writeLogDay, writeSegmentDay } from '../jobs/refresher/refresher-fixtures.ts';
import { STREAMING_AND_BATCH_PARTNERS } from '../support/workflow-config.ts';
import { repoRoot, runCourier } from './run-courier.ts';

const D = '2026-11-23';
const [A, B, C] = ['A', 'B', 'C'].map((n) => cookieNamed(n)) as [string, string, string];
let dir: string;
const gateway = [process.execPath, '--import', pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href, path.join(repoRoot, 'test/support/cluster-gateway-stand-in.ts')];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-spark-submit-cli-'));
  for (const name of ['local', 'cluster']) {
    await fs.mkdir(path.join(dir, name));
    const engine = `engine:\n  kind: local\n  local: { workers: 2 }\n  sparkSubmit:\n    gateway: ${JSON.stringify(gateway)}\n    stagingUri: ${toStorageUri(path.join(dir, name, 'staging'))}\n`;
    await fs.writeFile(path.join(dir, name, 'courier.yaml'), `storage:\n  root: ./data\n${engine}${STREAMING_AND_BATCH_PARTNERS}`);
    await fs.writeFile(path.join(dir, name, 'pw.txt'), 'secret\n');
    // Two hourly log files (each a map task on the stand-in) and a segment snapshot.
    const root = toStorageUri(path.join(dir, name, 'data'));
    await writeLogDay(root, D, {
      'hour=09/webapp-web-01.log.gz': [syncLine(`${D}T09:00:00.000Z`, A, 17, 'PA1'), syncLine(`${D}T09:05:00.000Z`, B, 42, 'PB42'), pageLine(`${D}T09:06:00.000Z`, B), 'garbage\tline'],
      'hour=10/webapp-web-02.log.gz': [syncLine(`${D}T10:00:00.000Z`, A, 17, 'PA2'), syncLine(`${D}T10:01:00.000Z`, C, 17, 'PC')],
    });
    await writeSegmentDay(root, D, [{ cookie_id: A, segment_ids: [1001] }, { cookie_id: B, segment_ids: [1001, 1004] }, { cookie_id: C, segment_ids: [1003] }]);
  }
}, 120_000);
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

describe('courier run --engine spark-submit (stand-in gateway)', () => {
  it('runs merge-store through hadoop jar hadoop-streaming.jar on the configured gateway, then stops at spark-sql naming the step', async () => {
    const local = await runCourier(['run', 'daily-refresh', '--date', D], { cwd: path.join(dir, 'local') });
    expect(local.code, local.stderr).toBe(0);
    const record = path.join(dir, 'recorded');
    const r = await runCourier(['run', 'daily-refresh', '--date', D, '--engine', 'spark-submit'], { cwd: path.join(dir, 'cluster'), env: { STAND_IN_WORK: dir, STAND_IN_RECORD: record } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/job "refresher" step "requests": `spark-sql --name courier:refresher:requests:\S+ …` on the gateway .* exited with code 1/);
    // Each attempt the workflow makes at the stage runs the refresher's two steps: hadoop jar, then spark-sql.
    const commands = (await fs.readFile(path.join(record, 'commands.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as string[]);
    const attempts = commands.length / 2;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(commands.map((c) => c.slice(0, 2).join(' '))).toEqual(Array.from({ length: attempts }, () => ['hadoop jar', 'spark-sql --name']).flat());
    if (attempts > 1) expect(r.stderr).toContain(`after ${attempts} attempts`);
    const store = `cookie-sync-store/dt=${D}`;
    const uri = toStorageUri(path.join(dir, 'cluster', 'data', store));
    expect(await isComplete(fileSystemFor(uri), uri)).toBe(true);
    expect(await readRows(uri)).toEqual(await readRows(toStorageUri(path.join(dir, 'local', 'data', store))));
  }, 180_000);
});
