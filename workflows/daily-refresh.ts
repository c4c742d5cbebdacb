/**
 * daily-refresh: the day's webapp sync logs and segment data → the refresher (cookie-sync store and data sync
 * requests) → one batch formatter stage per daily batch partner → the hand-off (`outbox/dt=D/ready.json`) that
 * the queue-bridge and the file deliverer pick up. Fires at 02:30 Madrid time for the day before.
 */
import { batchFormatterDatasets, batchFormatterJobRequest, runBatchFormatter, type BatchFormatterRunOptions, type BatchPartnerInput } from '../jobs/batch-formatter/index.ts';
import { refresherDatasets, refresherJobRequest, runRefresher, type RefresherRunOptions } from '../jobs/refresher/index.ts';
import type { CourierWorkflowSettings } from './courier-settings.ts';
import { defineWorkflow, type StageContext, type StageDefinition, type Workflow } from './workflow-definition.ts';
import { outboxPath, writeOutbox } from './outbox-handoff.ts';

export const DAILY_REFRESH = 'daily-refresh';

type Ctx = StageContext<CourierWorkflowSettings>;

/** The stage name of a partner's batch formatter. */
export function formatStageName(partner: { name: string }): string {
  return `format-${partner.name}`;
}

/** A batch formatter stage for one partner and the workflow's period (a day or a month). */
export function batchFormatterStage(partner: BatchPartnerInput, dependsOn: readonly string[]): StageDefinition<CourierWorkflowSettings> {
  const schedule = partner.schedule ?? 'daily';
  const datasets = (period: string) => batchFormatterDatasets({ name: partner.name, schedule }, period);
  const options = (ctx: Ctx): BatchFormatterRunOptions => ({
    storageRoot: ctx.storageRoot,
    partner,
    period: ctx.period,
    overwrite: ctx.overwrite,
    onProgress: ctx.onProgress,
    ...(ctx.settings.maxBadRecordRate !== undefined ? { maxBadRecordRate: ctx.settings.maxBadRecordRate } : {}),
  });
  return {
    name: formatStageName(partner),
    description: `batch file of ${partner.name} (${schedule})`,
    dependsOn,
    inputs: (ctx) => datasets(ctx.period).inputs,
    outputs: (ctx) => [datasets(ctx.period).output],
    clusterJobs: async (ctx: Ctx) => [await batchFormatterJobRequest(options(ctx))],
    run: async (ctx: Ctx) => {
      const r = await runBatchFormatter(ctx.runner, options(ctx));
      return { counters: r.counters, summary: { dataset: r.dataset, file: r.files[0].path, rows: r.manifest.rows, bytes: r.manifest.bytes } };
    },
  };
}

/** The daily-refresh workflow for these settings (one formatter stage per daily batch partner). */
export function dailyRefreshWorkflow(settings: CourierWorkflowSettings): Workflow<CourierWorkflowSettings> {
  const daily = settings.batchPartners.filter((p) => (p.schedule ?? 'daily') === 'daily');
  const formatStages = daily.map((p) => batchFormatterStage(p, ['refresher']));
  const refresherOptions = (ctx: Ctx): RefresherRunOptions => ({
    storageRoot: ctx.storageRoot,
    date: ctx.date,
    partners: ctx.settings.refresherPartners,
    storeMaxAgeDays: ctx.settings.storeMaxAgeDays,
    refreshEveryDays: ctx.settings.refreshEveryDays,
    overwrite: ctx.overwrite,
    onProgress: ctx.onProgress,
    ...(ctx.settings.maxBadRecordRate !== undefined ? { maxBadRecordRate: ctx.settings.maxBadRecordRate } : {}),
  });
  return defineWorkflow<CourierWorkflowSettings>({
    name: DAILY_REFRESH,
    description: 'refresher → batch files of daily partners → outbox hand-off for the queue-bridge and file deliverer',
    schedule: { cron: '30 2 * * *', timezone: 'Europe/Madrid' },
    period: 'daily',
    stages: [
      {
        name: 'refresher',
        description: 'sync logs + segment data → cookie-sync store and data sync requests',
        // The store of day D is merged into the store of the latest earlier day: in a backfill, wait for it.
        dependsOnPreviousPeriod: true,
        inputs: (ctx) => Object.values(refresherDatasets(ctx.date).inputs),
        outputs: (ctx) => Object.values(refresherDatasets(ctx.date).outputs),
        clusterJobs: async (ctx: Ctx) => [await refresherJobRequest(refresherOptions(ctx))],
        run: async (ctx: Ctx) => {
          const { summary } = await runRefresher(ctx.runner, refresherOptions(ctx));
          const { counters, ...facts } = summary;
          return { counters: Object.fromEntries(Object.entries(counters).flatMap(([step, c]) => Object.entries(c).map(([g, v]) => [`${step}.${g}`, v]))), summary: facts };
        },
      },
      ...formatStages,
      {
        name: 'handoff',
        description: 'outbox/dt=D/ready.json: the requests for the queue-bridge, the batch files for the file deliverer',
        dependsOn: ['refresher', ...formatStages.map((s) => s.name)],
        inputs: (ctx) => [refresherDatasets(ctx.date).outputs.requests, ...daily.map((p) => batchFormatterDatasets({ name: p.name, schedule: 'daily' }, ctx.date).output)],
        outputs: (ctx) => [outboxPath(ctx.date)],
        run: async (ctx: Ctx) => {
          const ready = await writeOutbox(
            ctx.storageRoot,
            {
              workflow: DAILY_REFRESH,
              period: ctx.period,
              requests: refresherDatasets(ctx.date).outputs.requests,
              batches: daily.map((p) => ({ partner: p.name, dataset: batchFormatterDatasets({ name: p.name, schedule: 'daily' }, ctx.date).output })),
            },
            { overwrite: ctx.overwrite },
          );
          return { summary: { outbox: outboxPath(ctx.date), requestRows: ready.requests?.rows ?? 0, batchFiles: ready.batches.length } };
        },
      },
    ],
  });
}
