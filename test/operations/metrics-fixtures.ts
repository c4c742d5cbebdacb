/**
 * Each courier process's real metrics class (bridge, syncer, file deliverer, listener) with some traffic recorded,
 * for tests that scrape and parse them. Run as a script (`tsx metrics-fixtures.ts <process> <port>`), it serves one
 * of them on 127.0.0.1:<port>/metrics as a separate process the test can kill.
 */
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { DelivererMetrics } from '../../deliverer/file/index.ts';
import { SyncerMetrics } from '../../deliverer/index.ts';
import { ListenerMetrics } from '../../listener/index.ts';
import { BridgeMetrics, serveMetrics } from '../../queue-bridge/index.ts';

export const METRICS_PROCESSES = ['bridge', 'sync', 'deliver', 'listen'] as const;
export type MetricsProcess = (typeof METRICS_PROCESSES)[number];

/** A registry of `process`'s metrics class with a little recorded traffic; `step` adds more (for rates). */
export function metricsFixture(process: MetricsProcess): { registry: Registry; step: () => void } {
  let n = 0;
  switch (process) {
    case 'bridge': {
      const m = new BridgeMetrics();
      const step = () => {
        n++;
        m.update({
          windowItems: 1000,
          queued: 300,
          datasets: [{ id: 'requests/dt=2026-11-23', done: false }],
          queues: [
            { queue: 'requests.17.high', partnerId: 17, priority: 'high', share: 0.5, depth: 200, inFlight: 20, enqueued: 400 + 50 * n, acked: 200 + 40 * n, remaining: 100 },
            { queue: 'requests.17.normal', partnerId: 17, priority: 'normal', share: 0.5, depth: 100, inFlight: 0, enqueued: 100, acked: 0, remaining: 50 },
          ],
        });
      };
      step();
      return { registry: m.registry, step };
    }
    case 'sync': {
      const m = new SyncerMetrics();
      const acme = m.forPartner('acme-dsp');
      const step = () => {
        for (let i = 0; i < 95; i++) {
          acme.sent('2xx');
          acme.delivered();
          acme.observeSeconds(0.004);
        }
        for (let i = 0; i < 5; i++) acme.sent('5xx');
        acme.retried('5xx');
        acme.deadLettered('4xx');
      };
      step();
      return { registry: m.registry, step };
    }
    case 'deliver': {
      const m = new DelivererMetrics();
      const step = () => {
        m.filesDelivered.labels('globex-dmp', 'data', 'uploaded').inc();
        m.filesDelivered.labels('globex-dmp', 'manifest', 'uploaded').inc();
        m.bytesDelivered.labels('globex-dmp').inc(1968);
        m.uploadSeconds.labels('globex-dmp').observe(0.2);
        m.failed('globex-dmp', 'connection');
        m.retries.labels('globex-dmp').inc();
        m.pendingDatasets.labels('globex-dmp').set(1);
        m.lastDelivery.labels('globex-dmp').set(Date.now() / 1000);
        m.passes.inc();
      };
      step();
      return { registry: m.registry, step };
    }
    case 'listen': {
      const m = new ListenerMetrics({
        ready: () => true,
        snapshotUsers: () => 50_000,
        snapshotBytes: () => 600_000,
        snapshotDay: () => '2026-11-23',
        connections: () => 12,
        logDropped: () => 0,
        logWritten: () => 1000,
        logPendingBytes: () => 0,
      });
      const step = () => {
        m.requests.hit += 900;
        m.requests.miss += 100;
        m.readyChecks.yes++;
        m.rejected.labels('bad-user-id').inc();
        m.clientError('HPE_INVALID_METHOD');
        m.snapshotLoads.labels('loaded').inc();
        for (let i = 0; i < 1000; i++) m.answerSeconds.observe(i === 0 ? 0.009 : 0.0003);
      };
      step();
      return { registry: m.registry, step };
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [kind, port] = process.argv.slice(2);
  const fixture = metricsFixture(kind as MetricsProcess);
  const endpoint = await serveMetrics(fixture.registry, Number(port));
  setInterval(fixture.step, 200);
  process.stdout.write(`metrics of ${kind} on ${endpoint.port}\n`);
}
