/** Partitioned output: Hive-style directories per country and year; partition values come back on read. */
import { datasetFiles, defineSchema } from '../../../storage/index.ts';
import { defineJob, logicalDate, type MapContext } from '../../../engine/index.ts';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, writeInput } from './fixtures.ts';

const salesSchema = defineSchema({ country: 'string', year: 'int32', product: 'string', amount: 'float64' });
const totalsSchema = defineSchema({ country: 'string', year: 'int32', product: 'string', total: 'float64', sales: 'int32' });

export const salesTotalsJob = defineJob({
  name: 'sales-totals',
  source: { module: import.meta.url, export: 'salesTotalsJob' },
  params: logicalDate,
  steps: (step) => [
    step({
      name: 'totals',
      inputs: { sales: { dataset: (p) => `sales/dt=${p.date}`, schema: salesSchema } },
      map: {
        sales: (s: { country: string; year: number; product: string; amount: number }, ctx: MapContext<[string, number, string], number>) =>
          ctx.emit([s.country, s.year, s.product], s.amount),
      },
      reduce: (key, values, ctx) => {
        let total = 0;
        let sales = 0;
        for (const a of values) {
          total += a;
          sales++;
        }
        ctx.write({ country: key[0], year: key[1], product: key[2], total, sales });
      },
      shuffle: { reducers: 3 },
      output: { schema: totalsSchema, dataset: (p) => `sales_totals/dt=${p.date}`, partitionBy: ['country', { column: 'year', as: 'y' }] },
    }),
  ],
});

export const partitionedOutputCase: ConformanceCase = {
  name: 'partitioned-output',
  title: 'partitioned output: one directory per country and year',
  async run({ runner, t }) {
    const rows = [];
    const countries = ['DE', 'FR', 'US', 'São Tomé'];
    for (let i = 0; i < 40; i++) {
      rows.push({ country: countries[i % 4]!, year: 2024 + (i % 3), product: ['tea', 'coffee'][i % 2]!, amount: i * 1.25 });
    }
    await writeInput(t, 'sales/dt=2026-11-23', salesSchema, rows, { rowsPerFile: 16 });
    const result = await runner.run(salesTotalsJob, { date: '2026-11-23' }, { storageRoot: t.root });
    const { files } = await datasetFiles(result.steps[0]!.output);
    const dirs = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf('/'))))].sort();
    return { steps: stepFacts(result), partitions: dirs, output: await readRows(result.steps[0]!.output) };
  },
};
