/**
 * Prometheus metrics of the bridge, per queue: items enqueued and acknowledged, depth, in flight, share, and the
 * window's fill. One registry per bridge (not prom-client's global one), served on its own port.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { BridgeSnapshot } from './queue-bridge.ts';

export class BridgeMetrics {
  readonly registry = new Registry();
  private readonly enqueued = new Counter({
    name: 'courier_bridge_items_enqueued_total',
    help: 'Requests handed to the broker by this bridge process.',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  private readonly acked = new Counter({
    name: 'courier_bridge_items_acked_total',
    help: 'Requests whose acknowledgement this bridge process recorded in its checkpoint.',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  private readonly depth = new Gauge({
    name: 'courier_bridge_queue_depth',
    help: 'Requests in the queue not yet acknowledged (waiting plus in flight).',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  private readonly inFlight = new Gauge({
    name: 'courier_bridge_queue_in_flight',
    help: 'Requests received by consumers and not yet acknowledged.',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  private readonly share = new Gauge({
    name: 'courier_bridge_queue_share',
    help: "The queue's share of the window (0 when it has nothing left to hand over).",
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  private readonly remaining = new Gauge({
    name: 'courier_bridge_queue_remaining',
    help: 'Rows of discovered datasets not yet handed to this queue.',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  private readonly windowFill = new Gauge({
    name: 'courier_bridge_window_fill_ratio',
    help: 'Queued requests over the window size.',
    registers: [this.registry],
  });
  private readonly datasetsDone = new Gauge({
    name: 'courier_bridge_datasets_done',
    help: 'Request datasets fully handed over and acknowledged, per the checkpoint.',
    registers: [this.registry],
  });
  private readonly seen = new Map<string, { enqueued: number; acked: number }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'courier_bridge_' });
  }

  /** Brings the metrics up to a bridge snapshot (counters grow by the difference since the last one). */
  update(s: BridgeSnapshot): void {
    for (const q of s.queues) {
      const before = this.seen.get(q.queue) ?? { enqueued: 0, acked: 0 };
      this.enqueued.labels(q.queue).inc(q.enqueued - before.enqueued);
      this.acked.labels(q.queue).inc(q.acked - before.acked);
      this.seen.set(q.queue, { enqueued: q.enqueued, acked: q.acked });
      this.depth.labels(q.queue).set(q.depth);
      this.inFlight.labels(q.queue).set(q.inFlight);
      this.share.labels(q.queue).set(q.share);
      this.remaining.labels(q.queue).set(q.remaining);
    }
    this.windowFill.set(s.queued / s.windowItems);
    this.datasetsDone.set(s.datasets.filter((d) => d.done).length);
  }
}
