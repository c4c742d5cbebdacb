/**
 * Prometheus metrics of the file deliverer, per partner: files and bytes delivered, failures by kind, retries,
 * upload time, datasets pending and the time of the last delivery (alert when it grows old). One registry per
 * deliverer (not prom-client's global one), served on its own port in watch mode.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** A running /metrics endpoint. */
export interface MetricsEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the registry at GET /metrics on `host:port` (port 0 picks one). */
export async function serveDelivererMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<MetricsEndpoint> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot serve metrics on ${host}:${port}: ${e.message}; choose another --metrics-port`)));
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
