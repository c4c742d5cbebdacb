/**
 * Prometheus metrics of the file deliverer, per partner: files and bytes delivered, failures by kind, retries,
 * upload time, datasets pending and the time of the last delivery (alert when it grows old). One registry per
 * deliverer (not prom-client's global one), served on its own port in watch mode.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeliveryErrorKind } from './delivery-error.ts';

export class DelivererMetrics {
  readonly registry = new Registry();
  readonly filesDelivered = new Counter({
    name: 'courier_deliver_files_total',
    help: 'Files delivered, by role (data, manifest) and how (uploaded, reconciled after a crash, found on the remote).',
    labelNames: ['partner', 'role', 'how'] as const,
    registers: [this.registry],
  });
  readonly bytesDelivered = new Counter({
    name: 'courier_deliver_bytes_total',
    help: 'Bytes uploaded and renamed into place.',
    labelNames: ['partner'] as const,
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'courier_deliver_failures_total',
    help: 'Failed delivery attempts, by kind (connection, host-key, auth, remote-storage, conflict, local).',
    labelNames: ['partner', 'kind'] as const,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'courier_deliver_retries_total',
    help: 'Uploads restarted from the first byte after a dropped connection.',
    labelNames: ['partner'] as const,
    registers: [this.registry],
  });
  readonly uploadSeconds = new Histogram({
    name: 'courier_deliver_upload_seconds',
    help: 'Time to upload, verify and rename one file.',
    labelNames: ['partner'] as const,
    buckets: [0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  readonly pendingDatasets = new Gauge({
    name: 'courier_deliver_pending_datasets',
    help: 'Complete batch datasets not yet delivered after the last pass.',
    labelNames: ['partner'] as const,
    registers: [this.registry],
  });
  readonly lastDelivery = new Gauge({
    name: 'courier_deliver_last_delivery_timestamp_seconds',
    help: 'Unix time of the last dataset delivered to the partner.',
    labelNames: ['partner'] as const,
    registers: [this.registry],
  });
  readonly passes = new Counter({
    name: 'courier_deliver_passes_total',
    help: 'Passes over the store (one per courier deliver, one per interval in watch mode).',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'courier_deliver_' });
  }

  failed(partner: string, kind: DeliveryErrorKind): void {
    this.failures.labels(partner, kind).inc();
  }
}
