/**
 * Rules that keep a job portable between runners, enforced by every runner alike: keys are tuples of
 * strings and finite numbers, values are JSON-like, values stream once, combiners keep their key, output
 * records match the output schema, user code is synchronous. Breaking one is a bad record with a clear message.
 */
import { defineSchema } from '../../../storage/index.ts';
import { defineJob, logicalDate, type Key, type MapContext } from '../../../engine/index.ts';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, writeInput } from './fixtures.ts';

const casesSchema = defineSchema({ id: 'int32', kind: 'string' });
const outSchema = defineSchema({ kind: 'string', n: 'int32' });

export const shippingRulesJob = defineJob({
  name: 'shipping-rules',
  source: { module: import.meta.url, export: 'shippingRulesJob' },
  params: logicalDate,
  steps: (step) => [
    step({
      name: 'rules',
      inputs: { cases: { dataset: (p) => `cases/dt=${p.date}`, schema: casesSchema } },
      map: {
        cases: (c: { id: number; kind: string }, ctx: MapContext<Key, unknown>) => {
          switch (c.kind) {
            case 'string-key':
              ctx.emit('oops' as unknown as Key, 1);
              break;
            case 'nan-key':
              ctx.emit([c.kind, NaN], 1);
              break;
            case 'typed-array-value':
              ctx.emit([c.kind], { segments: Int32Array.of(1, 2) });
              break;
            case 'date-value':
              ctx.emit([c.kind], new Date(0));
              break;
            case 'async-map':
              return Promise.resolve() as unknown as void;
            default: {
              // Mutating a value after emitting it must not change what was emitted.
              const v = { kind: c.kind, n: 1 };
              ctx.emit([c.kind], v);
              v.n = 1000;
            }
          }
        },
      },
      combine: (key, values, ctx) => {
        let n = 0;
        for (const v of values) n += (v as { n: number }).n;
        ctx.emit(key[0] === 'combine-changes-key' ? ['elsewhere'] : key, { kind: key[0], n });
      },
      reduce: (key, values, ctx) => {
        const all = [...values] as { kind: string; n: number }[];
        const n = all.reduce((s, v) => s + v.n, 0);
        if (key[0] === 'iterate-twice') for (const _ of values) break;
        if (key[0] === 'bad-output') ctx.write({ kind: key[0], n: 'one' });
        if (key[0] === 'unknown-field') ctx.write({ kind: key[0], n, extra: 1 });
        ctx.write({ kind: String(key[0]), n });
      },
      output: { schema: outSchema, dataset: (p) => `rules/dt=${p.date}` },
    }),
  ],
});

export const shippingRulesCase: ConformanceCase = {
  name: 'shipping-rules',
  title: 'portability rules: bad keys, values, second passes, key changes, bad output are bad records with clear messages',
  async run({ runner, t }) {
    const kinds = [
      'ok',
      'ok',
      'string-key',
      'nan-key',
      'typed-array-value',
      'date-value',
      'async-map',
      'combine-changes-key',
      'iterate-twice',
      'bad-output',
      'unknown-field',
    ];
    await writeInput(t, 'cases/dt=2026-11-23', casesSchema, kinds.map((kind, id) => ({ id, kind })));
    const result = await runner.run(shippingRulesJob, { date: '2026-11-23' }, { storageRoot: t.root, maxBadRecordRate: 1 });
    const quarantine = await readRows(result.steps[0]!.quarantine!);
    return {
      steps: stepFacts(result),
      output: await readRows(result.steps[0]!.output),
      errors: quarantine
        .map((q) => ({ phase: q.phase as string, row: q.row as number | null, error: q.error as string }))
        .sort((a, b) => (a.phase < b.phase ? -1 : a.phase > b.phase ? 1 : (a.row ?? -1) - (b.row ?? -1) || (a.error < b.error ? -1 : 1))),
    };
  },
};
