// The job config mapped onto what Courier's workflows run with: the refresher's partners and store settings, the
// batch partners with their templates and schedules. Kept here so workflows never read the config.
import type { CourierConfig } from '../config/index.ts';
import type { CourierWorkflowSettings } from '../workflows/index.ts';

/** The workflow settings of a loaded config. */
export function workflowSettings(config: CourierConfig): CourierWorkflowSettings {
  return {
    // Realtime partners (the impression bus) read the listener's snapshot of the cookie-sync store, which keeps
    // every partner's syncs; data sync requests for them would never be sent.
    refresherPartners: config.partners.filter((p) => p.delivery !== 'realtime').map((p) => ({
      id: p.id,
      segmentMap: { ...p.segmentMap },
      expiryDays: p.expiryDays,
      priority: { ...p.priority },
      deltas: p.deltas,
    })),
    storeMaxAgeDays: config.refresher.storeMaxAgeDays,
    refreshEveryDays: config.refresher.refreshEveryDays,
    batchPartners: config.partners.flatMap((p) =>
      p.batch ? [{ id: p.id, name: p.name, schedule: p.batch.schedule, template: structuredClone(p.batch.template) }] : [],
    ),
    maxBadRecordRate: config.engine.local.maxBadRecordRate,
  };
}
