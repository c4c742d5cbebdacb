import * as fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineRunner } from '../../engine/index.ts';
import { dataSyncRequestSchema } from '../../jobs/refresher/index.ts';
import { generateSyntheticData } from '../../jobs/synthetic/index.ts';
import { joinUri, readMarker, fileSystemFor, rowsToBatch, writeDataset, type Row } from '../../storage/index.ts';
import {
  backfill,
  courierWorkflow,
  courierWorkflows,
  listRuns,
  runWorkflow,
  WORKFLOW_NAMES,
  type CourierWorkflowSettings,
  type OutboxReady,
} from '../../workflows/index.ts';
import { makeTempRoot, removeTempRoot, type TempRoot } from './workflow-fixtures.ts';

const D1 = '2026-11-22';
const D2 = '2026-11-23';
const template = { fields: ['partner_user_id', 'segments'] as ('partner_user_id' | 'segments')[], header: ['#rows=${ROWS}'] };
const settings: CourierWorkflowSettings = {
  refresherPartners: [
    { id: 17, segmentMap: { '1001': 'acme-auto', '1002': 'acme-travel', '1003': '55012' }, expiryDays: 30 },
    { id: 42, segmentMap: { '1001': 'GX-AUTO', '1004': 'GX-SPORTS' }, expiryDays: 60 },
    { id: 43, segmentMap: { '1002': 'IN-TRAVEL' }, expiryDays: 60 },
  ],
  storeMaxAgeDays: 90,
  refreshEveryDays: 7,
  batchPartners: [
    { id: 42, name: 'globex-dmp', schedule: 'daily', template },
    { id: 43, name: 'initech', schedule: 'monthly', template },
  ],
};

let t: TempRoot;
beforeAll(async () => {
  t = await makeTempRoot();
  await generateSyntheticData({ out: t.root, logs: 20_000, segments: 2_000, partners: 3, configuredPartnerIds: [17, 42, 43], configuredSegmentIds: [1001, 1002, 1003, 1004], days: 2, date: D2, seed: 7 });
});
afterAll(async () => removeTempRoot(t));

const runner = inlineRunner();
const readJson = async <T>(relative: string): Promise<T> => JSON.parse(await fsp.readFile(fileURLToPath(joinUri(t.root, relative)), 'utf8')) as T;

describe('the daily-refresh and monthly-batch workflows', () => {
  it('are registered by name and built for the settings: one formatter stage per batch partner of their schedule', () => {
    expect(WORKFLOW_NAMES).toEqual(['daily-refresh', 'monthly-batch']);
    expect(courierWorkflow('daily-refresh', settings).stages.map((s) => [s.name, s.dependsOn])).toEqual([
      ['refresher', []],
      ['format-globex-dmp', ['refresher']],
      ['handoff', ['refresher', 'format-globex-dmp']],
    ]);
    expect(courierWorkflow('monthly-batch', settings).stages.map((s) => s.name)).toEqual(['format-initech', 'handoff']);
    expect(courierWorkflows(settings).map((w) => [w.name, w.period, w.schedule])).toEqual([
      ['daily-refresh', 'daily', { cron: '30 2 * * *', timezone: 'Europe/Madrid' }],
      ['monthly-batch', 'monthly', { cron: '0 4 1 * *', timezone: 'Europe/Madrid' }],
    ]);
    expect(() => courierWorkflow('nightly', settings)).toThrow('unknown workflow "nightly"; known: daily-refresh, monthly-batch');
  });

  it('plans a day with resolved paths before anything exists downstream', async () => {
    const plan = await runWorkflow(courierWorkflow('daily-refresh', settings), { date: D2, storageRoot: t.root, settings, runner, dryRun: true });
    expect(plan.stages.map((s) => [s.name, s.action, s.inputs.map((d) => [d.path, d.complete]), s.outputs.map((d) => d.path)])).toEqual([
      ['refresher', 'run', [[`logs/dt=${D2}`, true], [`segments/dt=${D2}`, true]], [`cookie-sync-store/dt=${D2}`, `requests/dt=${D2}`]],
      ['format-globex-dmp', 'run', [[`requests/dt=${D2}`, false]], [`batch/globex-dmp/dt=${D2}`]],
      ['handoff', 'run', [[`requests/dt=${D2}`, false], [`batch/globex-dmp/dt=${D2}`, false]], [`outbox/dt=${D2}`]],
    ]);
  });

  it('backfills two days: refresher after the previous day\'s, batch file, and an outbox naming what is ready', async () => {
    const r = await backfill(courierWorkflow('daily-refresh', settings), { from: D1, to: D2, concurrency: 2, storageRoot: t.root, settings, runner });
    expect(r.periods.map((p) => [p.period, p.state, p.error])).toEqual([
      [D1, 'succeeded', undefined],
      [D2, 'succeeded', undefined],
    ]);
    const { runs } = await listRuns(t.root, { workflow: 'daily-refresh' });
    const refresher = (d: string) => runs.find((h) => h.period === d)!.stages.find((s) => s.name === 'refresher')!;
    expect(Date.parse(refresher(D2).startedAt!)).toBeGreaterThanOrEqual(Date.parse(refresher(D1).finishedAt!));
    expect(refresher(D2).summary).toMatchObject({ date: D2, previousStoreDate: D1 });

    const ready = await readJson<OutboxReady>(`outbox/dt=${D2}/ready.json`);
    const requests = await readMarker(fileSystemFor(t.root), joinUri(t.root, `requests/dt=${D2}`));
    const batch = await readMarker(fileSystemFor(t.root), joinUri(t.root, `batch/globex-dmp/dt=${D2}`));
    const batchFile = batch.files.find((f) => f.path === `globex-dmp_${D2}.tsv.gz`)!;
    expect(ready).toEqual({
      format: 'courier-outbox/1',
      workflow: 'daily-refresh',
      period: D2,
      requests: { dataset: `requests/dt=${D2}`, rows: requests.rows, partitions: expect.any(Array) },
      batches: [
        {
          partner: 'globex-dmp',
          dataset: `batch/globex-dmp/dt=${D2}`,
          file: `globex-dmp_${D2}.tsv.gz`,
          manifest: `globex-dmp_${D2}.tsv.gz.manifest.json`,
          rows: batchFile.rows,
          bytes: batchFile.bytes,
          sha256: batchFile.sha256,
        },
      ],
    });
    expect(requests.rows).toBeGreaterThan(0);
    expect(batchFile.rows).toBeGreaterThan(0);
    expect(ready.requests!.partitions.reduce((s, p) => s + p.rows, 0)).toBe(requests.rows);
    expect(new Set(ready.requests!.partitions.map((p) => p.partnerId))).toEqual(new Set([17, 42, 43]));
    expect((await readMarker(fileSystemFor(t.root), joinUri(t.root, `outbox/dt=${D2}`))).files.map((f) => f.path)).toEqual(['ready.json']);

    const again = await runWorkflow(courierWorkflow('daily-refresh', settings), { date: D2, storageRoot: t.root, settings, runner });
    expect(again.state).toBe('skipped');
  });

  it('monthly-batch writes one file from every day of the month and hands it off', async () => {
    const days = Array.from({ length: 28 }, (_, i) => `2026-02-${String(i + 1).padStart(2, '0')}`);
    for (const [i, d] of days.entries()) {
      const row: Row = {
        request_id: `r-${d}`,
        partner_id: 43,
        priority: 'normal',
        cookie_id: `cookie-${i % 5}`,
        partner_user_id: `U${i % 5}`,
        segments: ['IN-TRAVEL'],
        removed_segments: [],
        synced_at: Date.parse(`${d}T12:00:00Z`),
        expires_at: Date.parse(`${d}T12:00:00Z`) + 60 * 86_400_000,
      };
      await writeDataset(joinUri(t.root, `requests/dt=${d}`), dataSyncRequestSchema, [rowsToBatch(dataSyncRequestSchema, [row])], {
        partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'],
      });
    }
    const r = await runWorkflow(courierWorkflow('monthly-batch', settings), { date: '2026-02', storageRoot: t.root, settings, runner });
    expect(r.error).toBeUndefined();
    expect(r.stages.map((s) => [s.name, s.state])).toEqual([
      ['format-initech', 'succeeded'],
      ['handoff', 'succeeded'],
    ]);
    expect(r.stages[0]!.inputs).toHaveLength(28);
    const ready = await readJson<OutboxReady>('outbox/month=2026-02/ready.json');
    expect(ready.requests).toBeUndefined();
    // Five cookies, each keeping its latest request of the month.
    expect(ready.batches).toMatchObject([{ partner: 'initech', dataset: 'batch/initech/month=2026-02', file: 'initech_2026-02.tsv.gz', rows: 5 }]);
  });
});
