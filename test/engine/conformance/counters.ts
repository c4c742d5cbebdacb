/** Counters from map and reduce, summed per step; a call that throws keeps none of its counts. */
import { defineSchema } from '../../../storage/index.ts';
import { defineJob, logicalDate, type MapContext } from '../../../engine/index.ts';
import { expect } from 'vitest';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, writeInput } from './fixtures.ts';

const hitsSchema = defineSchema({ partner_id: 'int32', status: 'int32', bytes: 'int64' });
const statsSchema = defineSchema({ partner_id: 'int32', hits: 'int64', bytes: 'int64' });

export const partnerStatsJob = defineJob({
  name: 'partner-stats',
  source: { module: import.meta.url, export: 'partnerStatsJob' },
  params: logicalDate,
  steps: (step) => [
    step({
      name: 'stats',
      inputs: { hits: { dataset: (p) => `hits/dt=${p.date}`, schema: hitsSchema } },
      map: {
        hits: (h: { partner_id: number; status: number; bytes: number }, ctx: MapContext<[number], number>) => {
          ctx.count('status', String(h.status));
          ctx.count('bytes', 'all', h.bytes);
          // Counted, then thrown: the count must not survive (the record is bad, not counted).
          if (h.status === 599) throw new Error(`status ${h.status} is not a real HTTP status`);
          if (h.status !== 200) return;
          ctx.emit([h.partner_id], h.bytes);
        },
      },
      reduce: (key, values, ctx) => {
        let hits = 0;
        let bytes = 0;
        for (const b of values) {
          hits++;
          bytes += b;
        }
        ctx.count('partners', 'seen');
        if (hits >= 3) ctx.count('partners', 'busy');
        ctx.count('bytes', 'ok', bytes);
        ctx.write({ partner_id: key[0], hits, bytes });
      },
      output: { schema: statsSchema, dataset: (p) => `partner_stats/dt=${p.date}` },
    }),
  ],
});

export const countersCase: ConformanceCase = {
  name: 'counters',
  title: 'counters: summed per step from map and reduce; a throwing call keeps no counts',
  async run({ runner, t }) {
    const statuses = [200, 200, 404, 200, 500, 200, 200, 599, 200, 301];
    await writeInput(
      t,
      'hits/dt=2026-11-23',
      hitsSchema,
      statuses.map((status, i) => ({ partner_id: [17, 42, 7][i % 3]!, status, bytes: 100 * (i + 1) })),
      { rowsPerFile: 4 },
    );
    const result = await runner.run(partnerStatsJob, { date: '2026-11-23' }, { storageRoot: t.root, maxBadRecordRate: 0.1 });
    // The marker of the output records the step's figures too.
    expect(result.steps[0]!.marker.extra).toMatchObject({ job: 'partner-stats', step: 'stats', recordsIn: 10, recordsOut: 3, badRecords: 1, counters: result.steps[0]!.counters });
    return { steps: stepFacts(result), output: await readRows(result.steps[0]!.output) };
  },
};
