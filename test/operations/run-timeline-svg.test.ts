import { describe, expect, it } from 'vitest';
import { axisTicks, runTimelineSvg } from '../../operations/run-timeline-svg.ts';
import type { RunFacts } from '../../operations/run-facts.ts';

describe('run timeline axis', () => {
  it('marks round steps from 0 within the span', () => {
    expect(axisTicks(2.03)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(axisTicks(0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(axisTicks(95)).toEqual([0, 20, 40, 60, 80]);
    expect(axisTicks(1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    for (const span of [0.001, 0.7, 3.3, 17, 420, 5000, 86_400]) {
      const ticks = axisTicks(span);
      expect(ticks[0]).toBe(0);
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      expect(ticks.length).toBeLessThanOrEqual(6);
      expect(ticks.at(-1)!).toBeLessThanOrEqual(span * (1 + 1e-9));
    }
  });

  it('labels the chart with those marks, not fractions of the span', () => {
    const run = {
      runId: 'r1',
      startedAt: '2026-12-07T00:00:00.000Z',
      finishedAt: '2026-12-07T00:00:02.030Z',
      stages: [{ name: 'refresher', state: 'succeeded', startedAt: '2026-12-07T00:00:00.000Z', finishedAt: '2026-12-07T00:00:02.030Z', seconds: 2.03 }],
    } as unknown as RunFacts;
    const svg = runTimelineSvg(run);
    const labels = [...svg.matchAll(/class="tick">([^<]*)</g)].map((m) => m[1]);
    expect(labels).toEqual(['0 ms', '500 ms', '1.0 s', '1.5 s', '2.0 s']);
  });
});
