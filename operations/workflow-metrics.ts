/**
 * Metrics of the workflow runs, read from the run history: a workflow run is a short process with no endpoint of
 * its own, so the status server exposes what alerts need (the last successful run, per workflow) at its /metrics.
 */
import { Gauge, Registry } from 'prom-client';
import type { RunRecord } from '../workflows/index.ts';

/** A registry whose gauges are set from the runs each time it is scraped. */
export function workflowRegistry(readRuns: () => Promise<readonly RunRecord[]>): Registry {
  const registry = new Registry();
  let runs: readonly RunRecord[] = [];
  // One read per scrape, shared by the gauges (prom-client collects them in turn).
  let reading: Promise<void> | undefined;
  const refresh = async () => {
    reading ??= readRuns().then((r) => {
      runs = r;
      setTimeout(() => (reading = undefined), 500).unref();
    });
    await reading;
  };
  const latest = (pick: (r: RunRecord) => boolean) => {
    const out = new Map<string, RunRecord>();
    for (const r of runs) if (pick(r) && !out.has(r.workflow)) out.set(r.workflow, r); // runs are newest first
    return out;
  };
  new Gauge({
    name: 'courier_workflow_last_success_timestamp_seconds',
    help: 'Unix time the last successful (or all-skipped) run of the workflow finished',
    labelNames: ['workflow'],
    registers: [registry],
    async collect() {
      await refresh();
      for (const [workflow, r] of latest((x) => x.state === 'succeeded' || x.state === 'skipped')) this.set({ workflow }, Date.parse(r.finishedAt ?? r.updatedAt) / 1000);
    },
  });
  new Gauge({
    name: 'courier_workflow_last_run_failed',
    help: '1 when the latest run of the workflow failed',
    labelNames: ['workflow'],
    registers: [registry],
    async collect() {
      await refresh();
      for (const [workflow, r] of latest(() => true)) this.set({ workflow }, r.state === 'failed' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'courier_workflow_last_run_seconds',
    help: 'Duration of the latest finished run of the workflow',
    labelNames: ['workflow'],
    registers: [registry],
    async collect() {
      await refresh();
      for (const [workflow, r] of latest((x) => x.seconds !== undefined)) this.set({ workflow }, r.seconds ?? 0);
    },
  });
  return registry;
}
