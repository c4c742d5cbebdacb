/**
 * Dataset inputs beyond one Parquet dataset: several datasets read as one input (files in list order),
 * optional inputs that may be absent (`null` or `[]`), partition filters, and the errors at step start when
 * an input is absent but not optional, of the wrong kind, or disagrees with the step's schema.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { defineSchema } from '../../../storage/index.ts';
import { defineJob, JobError, logicalDate, type MapContext } from '../../../engine/index.ts';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, withoutRoot, writeFilesInput, writeInput } from './fixtures.ts';

const eventsSchema = defineSchema({ user: 'string', n: 'int32' });
const requestsSchema = defineSchema({ request_id: 'string', partner_id: 'int32', priority: 'string' });
const sourcedSchema = defineSchema({ source: 'string', id: 'string', n: 'int64' });

const params = z.object({ month: z.string(), days: z.array(z.string()), previous: z.string().nullable(), partners: z.array(z.number()) });

/** Tags every record with its input; reduce sums per (input, id) and writes the sum. */
export const datasetInputsJob = defineJob({
  name: 'dataset-inputs',
  source: { module: import.meta.url, export: 'datasetInputsJob' },
  params,
  steps: (step) => [
    step({
      name: 'gather',
      inputs: {
        days: { dataset: (p) => p.days.map((d) => `events/dt=${d}`), schema: eventsSchema, optional: true },
        previous: { dataset: (p) => p.previous, schema: eventsSchema, optional: true },
        requests: { dataset: (p) => `requests/dt=${p.month}-01`, schema: requestsSchema, columns: ['request_id', 'partner_id'], partitions: (p) => ({ partner_id: p.partners }) },
      },
      map: {
        days: (r: { user: string; n: number }, ctx: MapContext<[string, string], number>) => ctx.emit(['days', r.user], r.n),
        previous: (r: { user: string; n: number }, ctx: MapContext<[string, string], number>) => ctx.emit(['previous', r.user], r.n),
        requests: (r: { request_id: string; partner_id: number }, ctx: MapContext<[string, string], number>) => ctx.emit([`requests-${r.partner_id}`, r.request_id], 1),
      },
      reduce: (key, values, ctx) => {
        let n = 0;
        for (const v of values) n += v;
        ctx.write({ source: key[0], id: key[1], n });
      },
      shuffle: { reducers: 2 },
      output: { schema: sourcedSchema, dataset: (p) => `gathered/m=${p.month}` },
    }),
  ],
});

/** The order records reach the mapper: each days dataset in list order. */
export const recordOrderJob = defineJob({
  name: 'record-order',
  source: { module: import.meta.url, export: 'recordOrderJob' },
  params: logicalDate,
  steps: (step) => [
    step({
      name: 'order',
      inputs: { days: { dataset: () => ['events/dt=2026-11-02', 'events/dt=2026-11-01'], schema: eventsSchema } },
      // One key: the values reach the reducer in map order (one reducer, no combiner, one map task per file in order).
      map: { days: (r: { user: string; n: number }, ctx: MapContext<[number], string>) => ctx.emit([0], `${r.user}:${r.n}`) },
      reduce: (_key, values, ctx) => {
        ctx.write({ source: 'order', id: Array.from(values).join(' '), n: 0 });
      },
      shuffle: { reducers: 1 },
      output: { schema: sourcedSchema, dataset: (p) => `order/dt=${p.date}` },
    }),
  ],
});

/** Jobs whose inputs fail at step start; `kind` picks the failing input. */
export function badInputJob(kind: 'required-null' | 'required-empty' | 'lines-on-parquet' | 'parquet-on-files' | 'schemas-disagree' | 'not-a-partition') {
  const datasets = {
    'required-null': () => null,
    'required-empty': () => [],
    'lines-on-parquet': () => 'events/dt=2026-11-01',
    'parquet-on-files': () => 'logs/dt=2026-11-01',
    'schemas-disagree': () => ['events/dt=2026-11-01', 'events-v0/dt=2026-11-01'],
    'not-a-partition': () => 'events/dt=2026-11-01',
  }[kind];
  const input =
    kind === 'lines-on-parquet'
      ? { dataset: datasets, format: 'lines' as const }
      : { dataset: datasets, schema: eventsSchema, ...(kind === 'not-a-partition' ? { partitions: () => ({ user: ['a'] }) } : {}) };
  return defineJob({
    name: 'bad-input',
    source: { module: import.meta.url, export: 'badInputJob', args: [kind] },
    params: logicalDate,
    steps: [
      {
        name: 'read',
        inputs: { events: input },
        map: { events: (_r, ctx: MapContext<[string], number>) => ctx.emit(['x'], 1) },
        reduce: (key, _values, ctx) => ctx.write({ source: 'x', id: String(key[0]), n: 0 }),
        output: { schema: sourcedSchema, dataset: () => 'bad/out' },
      },
    ],
  });
}

export const datasetInputsCase: ConformanceCase = {
  name: 'dataset-inputs',
  title: 'dataset inputs: several datasets as one input, optional inputs absent or present, partition filters, input errors',
  async run({ runner, t }) {
    await writeInput(t, 'events/dt=2026-11-01', eventsSchema, [
      { user: 'a', n: 1 },
      { user: 'b', n: 2 },
      { user: 'c', n: 3 },
    ], { rowsPerFile: 2 });
    await writeInput(t, 'events/dt=2026-11-02', eventsSchema, [
      { user: 'a', n: 10 },
      { user: 'd', n: 40 },
    ]);
    await writeInput(t, 'store/v1', eventsSchema, [
      { user: 'a', n: 100 },
      { user: 'z', n: 900 },
    ]);
    await writeInput(t, 'requests/dt=2026-11-01', requestsSchema, [
      { request_id: 'r1', partner_id: 17, priority: 'high' },
      { request_id: 'r2', partner_id: 42, priority: 'high' },
      { request_id: 'r3', partner_id: 42, priority: 'low' },
      { request_id: 'r4', partner_id: 99, priority: 'low' },
    ], { partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'] });

    const run = async (p: z.input<typeof params>) => {
      const result = await runner.run(datasetInputsJob, p, { storageRoot: t.root, overwrite: true });
      return { steps: stepFacts(result), output: await readRows(result.steps[0]!.output) };
    };
    // The first run of a store: no previous version; the month so far has two days; one partner's requests.
    const firstRun = await run({ month: '2026-11', days: ['2026-11-01', '2026-11-02'], previous: null, partners: [42] });
    // The next run: the previous version is read; an empty list of days is an absent optional input.
    const nextRun = await run({ month: '2026-11', days: [], previous: 'store/v1', partners: [17, 99] });

    const order = await runner.run(recordOrderJob, { date: '2026-11-23' }, { storageRoot: t.root });
    const recordOrder = (await readRows(order.steps[0]!.output))[0]!.id;
    expect(recordOrder).toBe('a:10 d:40 a:1 b:2 c:3');

    await writeFilesInput(t, 'logs/dt=2026-11-01', [{ path: 'hour=00/webapp-a.log', data: 'a\n', rows: 1 }]);
    await writeInput(t, 'events-v0/dt=2026-11-01', defineSchema({ user: 'string', n: 'string' }), [{ user: 'a', n: '1' }]);
    const errors: Record<string, string> = {};
    for (const kind of ['required-null', 'required-empty', 'lines-on-parquet', 'parquet-on-files', 'schemas-disagree', 'not-a-partition'] as const) {
      const e = await runner.run(badInputJob(kind), { date: '2026-11-23' }, { storageRoot: t.root }).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(JobError);
      errors[kind] = withoutRoot((e as Error).message, t);
    }
    return { firstRun, nextRun, recordOrder, errors };
  },
};
