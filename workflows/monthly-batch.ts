/**
 * monthly-batch: for each partner whose batch schedule is monthly, one file from every day's data sync requests
 * of the month, then the hand-off `outbox/month=M/ready.json` for the file deliverer. Fires on the 1st at 04:00
 * Madrid time for the month before.
 */
import { batchFormatterDatasets } from '../jobs/batch-formatter/index.ts';
import type { CourierWorkflowSettings } from './courier-settings.ts';
import { batchFormatterStage } from './daily-refresh.ts';
import { defineWorkflow, type Workflow } from './workflow-definition.ts';
import { outboxPath, writeOutbox } from './outbox-handoff.ts';

export const MONTHLY_BATCH = 'monthly-batch';

/** The monthly-batch workflow for these settings (one formatter stage per monthly batch partner). */
export function monthlyBatchWorkflow(settings: CourierWorkflowSettings): Workflow<CourierWorkflowSettings> {
  const monthly = settings.batchPartners.filter((p) => p.schedule === 'monthly');
  const formatStages = monthly.map((p) => batchFormatterStage(p, []));
  const output = (p: { name: string }, month: string) => batchFormatterDatasets({ name: p.name, schedule: 'monthly' }, month).output;
  return defineWorkflow<CourierWorkflowSettings>({
    name: MONTHLY_BATCH,
    description: 'batch files of monthly partners from the month of data sync requests → outbox hand-off for the file deliverer',
    schedule: { cron: '0 4 1 * *', timezone: 'Europe/Madrid' },
    period: 'monthly',
    stages: [
      ...formatStages,
      {
        name: 'handoff',
        description: 'outbox/month=M/ready.json: the batch files for the file deliverer',
        dependsOn: formatStages.map((s) => s.name),
        inputs: (ctx) => monthly.map((p) => output(p, ctx.month)),
        outputs: (ctx) => [outboxPath(ctx.month)],
        run: async (ctx) => {
          const ready = await writeOutbox(
            ctx.storageRoot,
            { workflow: MONTHLY_BATCH, period: ctx.month, batches: monthly.map((p) => ({ partner: p.name, dataset: output(p, ctx.month) })) },
            { overwrite: ctx.overwrite },
          );
          return { summary: { outbox: outboxPath(ctx.month), batchFiles: ready.batches.length } };
        },
      },
    ],
  });
}
