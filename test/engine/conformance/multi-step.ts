/** Two steps: per (word, document) counts to an intermediate dataset, then per-word ranking of documents. */
import { defineSchema, fileSystemFor } from '../../../storage/index.ts';
import { defineJob, logicalDate, type MapContext } from '../../../engine/index.ts';
import { expect } from 'vitest';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, writeInput } from './fixtures.ts';
import { wordsOf } from './word-count.ts';

export const docsSchema = defineSchema({ doc: 'string', text: 'string' });
const perDocSchema = defineSchema({ word: 'string', doc: 'string', n: 'int32' });
export const rankSchema = defineSchema({ word: 'string', docs: 'int32', total: 'int64', top_doc: 'string', top_n: 'int32' });

function sum(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

export const wordRankJob = defineJob({
  name: 'word-rank',
  source: { module: import.meta.url, export: 'wordRankJob' },
  params: logicalDate,
  steps: (step) => [
    step({
      name: 'per-doc',
      inputs: { docs: { dataset: (p) => `docs/dt=${p.date}`, schema: docsSchema } },
      map: {
        docs: (d: { doc: string; text: string }, ctx: MapContext<[string, string], number>) => {
          for (const w of wordsOf(d.text)) ctx.emit([w, d.doc], 1);
        },
      },
      combine: (key, values, ctx) => ctx.emit(key, sum(values)),
      reduce: (key, values, ctx) => ctx.write({ word: key[0], doc: key[1], n: sum(values) }),
      output: { schema: perDocSchema },
    }),
    step({
      name: 'rank',
      inputs: { counts: { step: 'per-doc' } },
      // Sort each word's documents by count descending, then by name: the first value is the top document.
      map: {
        counts: (r: { word: string; doc: string; n: number }, ctx: MapContext<[string, number, string], { doc: string; n: number }>) =>
          ctx.emit([r.word, -r.n, r.doc], { doc: r.doc, n: r.n }),
      },
      reduce: (key, values, ctx) => {
        let docs = 0;
        let total = 0;
        let top: { doc: string; n: number } | undefined;
        for (const v of values) {
          top ??= v;
          docs++;
          total += v.n;
        }
        ctx.write({ word: key[0], docs, total, top_doc: top!.doc, top_n: top!.n });
      },
      shuffle: { groupFields: 1, reducers: 2 },
      output: { schema: rankSchema, dataset: (p) => `word_rank/dt=${p.date}` },
    }),
  ],
});

export const multiStepCase: ConformanceCase = {
  name: 'multi-step',
  title: 'multi-step: step 2 reads step 1 output; the intermediate dataset is removed after success',
  async run({ runner, t }) {
    await writeInput(t, 'docs/dt=2026-11-23', docsSchema, [
      { doc: 'b.txt', text: 'red green red blue' },
      { doc: 'a.txt', text: 'red green green' },
      { doc: 'c.txt', text: 'blue blue blue red' },
      { doc: 'd.txt', text: 'green red' },
    ]);
    const result = await runner.run(wordRankJob, { date: '2026-11-23' }, { storageRoot: t.root });
    const [perDoc, rank] = result.steps;
    expect(perDoc!.intermediate).toBe(true);
    expect(perDoc!.output.startsWith(result.workDir)).toBe(true);
    expect(rank!.intermediate).toBe(false);
    expect(await fileSystemFor(result.workDir).exists(result.workDir)).toBe(false);
    return { steps: stepFacts(result), output: await readRows(rank!.output) };
  },
};
