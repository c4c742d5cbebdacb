// The request path's plain counts reach Prometheus at scrape time: each scrape adds only what is new.
import { describe, expect, it } from 'vitest';
import { ListenerMetrics } from '../../listener/index.ts';

const state = {
  ready: () => true,
  snapshotUsers: () => 0,
  snapshotBytes: () => 0,
  snapshotDay: () => undefined,
  connections: () => 0,
  logDropped: () => 0,
  logWritten: () => 0,
  logPendingBytes: () => 0,
};

describe('listener metrics', () => {
  it('exports the request and ready-check counts as counters, scrape after scrape', async () => {
    const metrics = new ListenerMetrics(state);
    metrics.requests.hit += 3;
    metrics.requests.miss += 1;
    metrics.readyChecks.yes += 2;
    let text = await metrics.registry.metrics();
    expect(text).toMatch(/listener_requests_total\{outcome="hit"\} 3\n/);
    expect(text).toMatch(/listener_requests_total\{outcome="miss"\} 1\n/);
    expect(text).toMatch(/listener_requests_total\{outcome="not-ready"\} 0\n/);
    expect(text).toMatch(/listener_ready_checks_total\{answer="1"\} 2\n/);
    expect(text).toMatch(/listener_ready_checks_total\{answer="0"\} 0\n/);
    metrics.requests.hit += 2;
    metrics.readyChecks.no += 1;
    text = await metrics.registry.metrics();
    expect(text).toMatch(/listener_requests_total\{outcome="hit"\} 5\n/);
    expect(text).toMatch(/listener_requests_total\{outcome="miss"\} 1\n/);
    expect(text).toMatch(/listener_ready_checks_total\{answer="1"\} 2\n/);
    expect(text).toMatch(/listener_ready_checks_total\{answer="0"\} 1\n/);
  });
});
