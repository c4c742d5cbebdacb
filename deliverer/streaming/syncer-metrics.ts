/**
 * Prometheus metrics of the syncer, per partner: attempts sent by outcome class, delivered, retried, dead-lettered,
 * latency and requests in flight. One registry per syncer (not prom-client's global one), served on its own port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How an attempt ended, as a metric label: the status class, 429 on its own, or why there was no answer. */
export type OutcomeClass = '2xx' | '3xx' | '4xx' | '429' | '5xx' | 'timeout' | 'network' | 'error';

/** The label of an HTTP status. */
export function statusClass(status: number): OutcomeClass {
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

/** One partner's metric children, resolved once (label lookups per request would cost more than the request). */
export interface PartnerMetrics {
  sent(outcome: OutcomeClass): void;
  delivered(): void;
  retried(outcome: OutcomeClass): void;
  deadLettered(outcome: OutcomeClass): void;
  observeSeconds(seconds: number): void;
  inFlight(delta: number): void;
}

export class SyncerMetrics {
  readonly registry = new Registry();
  private readonly sentTotal = new Counter({
    name: 'courier_sync_requests_sent_total',
    help: 'HTTP attempts sent to partners, by how they ended (status class, 429, timeout, network, error).',
    labelNames: ['partner', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly deliveredTotal = new Counter({
    name: 'courier_sync_requests_delivered_total',
    help: 'Data sync requests a partner answered 2xx.',
    labelNames: ['partner'] as const,
    registers: [this.registry],
  });
  private readonly retriedTotal = new Counter({
    name: 'courier_sync_requests_retried_total',
    help: 'Attempts that failed and were retried, by the failure that caused the retry.',
    labelNames: ['partner', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly deadLetteredTotal = new Counter({
    name: 'courier_sync_requests_dead_lettered_total',
    help: 'Data sync requests given up on and written to the dead-letter dataset, by their last failure.',
    labelNames: ['partner', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'courier_sync_request_duration_seconds',
    help: 'Time from sending an attempt to its answer (or failure).',
    labelNames: ['partner'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly inFlightGauge = new Gauge({
    name: 'courier_sync_requests_in_flight',
    help: 'HTTP attempts awaiting an answer.',
    labelNames: ['partner'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'courier_sync_' });
  }

  /** Metric children of one partner. */
  forPartner(partner: string): PartnerMetrics {
    const byOutcome = (counter: Counter<'partner' | 'outcome'>) => {
      const children = new Map<OutcomeClass, Counter.Internal>();
      return (outcome: OutcomeClass) => {
        let c = children.get(outcome);
        if (!c) children.set(outcome, (c = counter.labels(partner, outcome)));
        return c;
      };
    };
    const sent = byOutcome(this.sentTotal);
    const retried = byOutcome(this.retriedTotal);
    const deadLettered = byOutcome(this.deadLetteredTotal);
    const delivered = this.deliveredTotal.labels(partner);
    const latency = this.latency.labels(partner);
    const inFlight = this.inFlightGauge.labels(partner);
    return {
      sent: (outcome) => sent(outcome).inc(),
      delivered: () => delivered.inc(),
      retried: (outcome) => retried(outcome).inc(),
      deadLettered: (outcome) => deadLettered(outcome).inc(),
      observeSeconds: (seconds) => latency.observe(seconds),
      inFlight: (delta) => inFlight.inc(delta),
    };
  }
}

/** A running /metrics endpoint. */
export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the registry at GET /metrics on `host:port` (port 0 picks one). */
export async function serveMetrics(registry: Registry, port: number, host: string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
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
