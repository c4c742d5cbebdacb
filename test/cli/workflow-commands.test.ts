import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticData } from '../../jobs/synthetic/index.ts';
import { toStorageUri } from '../../storage/index.ts';
import { runCourier } from './run-courier.ts';
import { MAPPED_SEGMENT_IDS, STREAMING_AND_BATCH_PARTNERS } from '../support/workflow-config.ts';

const D1 = '2026-11-22';
const D2 = '2026-11-23';

const partners = STREAMING_AND_BATCH_PARTNERS;

let dir: string;
let data: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-workflow-cli-'));
  data = path.join(dir, 'data');
  await fs.writeFile(path.join(dir, 'pw.txt'), 'secret\n');
  await fs.writeFile(path.join(dir, 'courier.yaml'), `storage:\n  root: ./data\nengine:\n  kind: inline\n${partners}`);
  await fs.writeFile(path.join(dir, 'dataproc.yaml'), `engine:\n  kind: dataproc\n  dataproc: { projectId: p, region: europe-west1, clusterName: c, stagingUri: "gs://b/s" }\n${partners}`);
  await generateSyntheticData({ out: toStorageUri(data), logs: 20_000, segments: 2_000, partners: 2, configuredPartnerIds: [17, 42], configuredSegmentIds: MAPPED_SEGMENT_IDS, days: 2, date: D2, seed: 5 });
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

const courier = (args: string[]) => runCourier(args, { cwd: dir });
const tree = async (): Promise<string[]> => (await fs.readdir(data, { recursive: true })).sort();

describe('courier workflow verbs', () => {
  it('workflows lists names, schedules and next fire times', async () => {
    const r = await courier(['--json', 'workflows']);
    expect(r.code, r.stderr).toBe(0);
    const { workflows } = JSON.parse(r.stdout) as { workflows: { name: string; schedule: unknown; nextFire: string; nextFireLocal: string; stages: { name: string }[] }[] };
    expect(workflows.map((w) => [w.name, w.schedule, w.stages.map((s) => s.name)])).toEqual([
      ['daily-refresh', { cron: '30 2 * * *', timezone: 'Europe/Madrid' }, ['refresher', 'format-globex-dmp', 'handoff']],
      ['monthly-batch', { cron: '0 4 1 * *', timezone: 'Europe/Madrid' }, ['handoff']],
    ]);
    expect(Date.parse(workflows[0]!.nextFire)).toBeGreaterThan(Date.now());
    expect(workflows[0]!.nextFireLocal).toMatch(/^\d{4}-\d{2}-\d{2} 02:30 Europe\/Madrid$/);
  });

  it('run --dry-run prints the plan with resolved paths and touches nothing', async () => {
    const before = await tree();
    const r = await courier(['run', 'daily-refresh', '--date', D1, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`daily-refresh ${D1}: dry run, nothing submitted`);
    expect(r.stdout).toContain(`1. refresher  RUN: 2 of 2 outputs not complete`);
    expect(r.stdout).toContain(`in   ${toStorageUri(data)}/logs/dt=${D1}  complete`);
    expect(r.stdout).toContain(`in   ${toStorageUri(data)}/requests/dt=${D1}  not yet (made by refresher)`);
    expect(await tree()).toEqual(before);
  });

  it('run executes the workflow, prints stages and counters, and a second run skips everything', async () => {
    const r = await courier(['run', 'daily-refresh', '--date', D1]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^daily-refresh ${D1}: succeeded in .*\\n  refresher +succeeded`));
    expect(r.stdout).toMatch(/\ncounters:\n(  .*\n)*  refresher  merge-store\.extract\.sync-lines  [\d,]+\n/);
    expect(r.stdout).toMatch(/format-globex-dmp  batch\.rows  [\d,]+/);
    // Not a terminal: progress comes as log lines on stderr.
    expect(r.stderr).toMatch(/refresher merge-store: [\d,]+\/[\d,]+ records in, [\d,]+ out, [\d.]+ MB\/s/);
    expect(JSON.parse(await fs.readFile(path.join(data, 'outbox', `dt=${D1}`, 'ready.json'), 'utf8'))).toMatchObject({ period: D1, batches: [{ partner: 'globex-dmp' }] });

    const again = await courier(['--json', 'run', 'daily-refresh', '--date', D1]);
    expect(again.code, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as { state: string; stages: { state: string }[] };
    expect(result.state).toBe('skipped');
    expect(result.stages.map((s) => s.state)).toEqual(['skipped', 'skipped', 'skipped']);
  });

  it('a failed workflow exits 1 naming the failed stage and every missing input; runs shows it', async () => {
    const r = await courier(['run', 'daily-refresh', '--date', '2026-11-20']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('courier: error: workflow daily-refresh 2026-11-20 failed: stage "refresher" failed: stage "refresher": 2 inputs incomplete (no _SUCCESS marker):');
    expect(r.stderr).toContain(`${toStorageUri(data)}/logs/dt=2026-11-20`);
    expect(r.stderr).toContain(`${toStorageUri(data)}/segments/dt=2026-11-20`);
    expect(r.stdout).toMatch(/format-globex-dmp +blocked .*\(not run: stage "refresher" failed\)/);

    const runs = await courier(['runs', 'daily-refresh', '--date', '2026-11-20']);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/^daily-refresh +2026-11-20 +failed +started /);
    expect(runs.stdout).toContain(`${toStorageUri(data)}/segments/dt=2026-11-20`);

    const json = await courier(['--json', 'runs']);
    const { runs: all } = JSON.parse(json.stdout) as { runs: { period: string; state: string; shownState: string }[] };
    expect(all.map((x) => [x.period, x.state]), json.stdout).toEqual([
      ['2026-11-20', 'failed'],
      [D1, 'skipped'],
      [D1, 'succeeded'],
    ]);
  });

  it('schedule --once runs what is due at --now, catching up, and exits 1 naming what failed', async () => {
    const now = '2026-11-24T01:31:00Z';
    const r = await courier(['--json', 'schedule', '--once', '--now', now, '--wait', '0']);
    expect(r.code).toBe(1);
    const { cycles } = JSON.parse(r.stdout) as { cycles: { workflows: { due: { workflow: string; due: string[] }; results: { period: string; state: string }[] }[] }[] };
    expect(cycles[0]!.workflows.map((w) => [w.due.workflow, w.results.map((x) => [x.period, x.state])])).toEqual([
      // The catch-up window (3 days) starts at the first recorded day, the 20th, which failed; the 21st has no
      // input either; the 22nd is done.
      ['daily-refresh', [['2026-11-21', 'failed'], [D2, 'succeeded']]],
      ['monthly-batch', [['2026-10', 'succeeded']]],
    ]);
    expect(r.stderr).toContain('courier: error: schedule: 1 run(s) failed: daily-refresh 2026-11-21: stage "refresher" failed');

    const again = await courier(['--json', 'schedule', '--once', '--now', now, '--wait', '0', '--catch-up', '1']);
    expect(again.code, again.stderr).toBe(0);
    const next = JSON.parse(again.stdout) as { cycles: { workflows: { due: { due: string[] } }[] }[] };
    expect(next.cycles[0]!.workflows.map((w) => w.due.due)).toEqual([[], []]);
  });

  it('backfill runs a range and reports each day', async () => {
    const r = await courier(['--json', 'backfill', 'daily-refresh', '--from', D1, '--to', D2, '--concurrency', '2', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ workflow: 'daily-refresh', from: D1, to: D2, succeeded: 2, failed: 0, periods: [{ period: D1, state: 'succeeded' }, { period: D2, state: 'succeeded' }] });
  });

  it('refuses bad invocations with exit 2', async () => {
    const unknown = await courier(['run', 'nightly']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('courier: unknown workflow "nightly"; known: daily-refresh, monthly-batch');
    const badDate = await courier(['run', 'daily-refresh', '--date', '2026-11']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--date: expected a day as YYYY-MM-DD, got "2026-11" (daily-refresh is daily)');
    const badWait = await courier(['run', 'daily-refresh', '--wait', 'soon']);
    expect(badWait.code).toBe(2);
    expect(badWait.stderr).toContain('expected a duration such as 0, 90s, 15m, 2h or 1h30m, got "soon"');
    const cluster = await courier(['--config', 'dataproc.yaml', 'run', 'daily-refresh', '--date', D1]);
    expect(cluster.code).toBe(2);
    // The dataproc section lacks storageUri: a usage error saying what to set.
    expect(cluster.stderr).toContain('engine.dataproc.storageUri is missing in');
    expect(cluster.stderr).toContain('set it to storage.root as the cluster sees it');
  });
});
