import { describe, expect, it } from 'vitest';
import { BridgeMetrics, serveMetrics, type BridgeSnapshot } from '../../queue-bridge/index.ts';

const snapshot = (enqueued: number, acked: number, depth: number): BridgeSnapshot => ({
  windowItems: 1000,
  queued: depth,
  queues: [{ partnerId: 17, priority: 'high', queue: 'requests.17.high', share: 500, depth, inFlight: 3, enqueued, acked, remaining: 42 }],
  datasets: [
    { id: 'requests/dt=2026-11-22', done: true },
    { id: 'requests/dt=2026-11-23', done: false },
  ],
});

describe('bridge metrics', () => {
  it('serves counters grown by the snapshots\' differences and the latest gauges', async () => {
    const metrics = new BridgeMetrics();
    metrics.update(snapshot(100, 10, 90));
    metrics.update(snapshot(250, 200, 50));
    const endpoint = await serveMetrics(metrics.registry, 0);
    try {
      const text = await (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`)).text();
      expect(text).toContain('courier_bridge_items_enqueued_total{queue="requests.17.high"} 250');
      expect(text).toContain('courier_bridge_items_acked_total{queue="requests.17.high"} 200');
      expect(text).toContain('courier_bridge_queue_depth{queue="requests.17.high"} 50');
      expect(text).toContain('courier_bridge_queue_share{queue="requests.17.high"} 500');
      expect(text).toContain('courier_bridge_window_fill_ratio 0.05');
      expect(text).toContain('courier_bridge_datasets_done 1');
      expect((await fetch(`http://127.0.0.1:${endpoint.port}/other`)).status).toBe(404);
    } finally {
      await endpoint.close();
    }
  });
});
