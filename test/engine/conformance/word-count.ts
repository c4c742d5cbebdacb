/** Word count: one input, a combiner, three reducers. */
import { defineSchema } from '../../../storage/index.ts';
import { defineJob, logicalDate, type MapContext } from '../../../engine/index.ts';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, writeInput } from './fixtures.ts';

export const linesSchema = defineSchema({ line_no: 'int32', text: { type: 'string', nullable: true } });
export const countsSchema = defineSchema({ word: 'string', count: 'int64' });

/** Lowercased words of a line: letters, digits and apostrophes. */
export function wordsOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}']+/u)
    .filter((w) => w !== '');
}

function sum(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** The word count job; `reducers` and `combine` vary in the property suite. */
export function wordCountJob(options: { reducers?: number; combine?: boolean } = {}) {
  return defineJob({
    name: 'word-count',
    source: { module: import.meta.url, export: 'wordCountJob', args: [options] },
    params: logicalDate,
    steps: (step) => [
      step({
        name: 'count',
        inputs: { lines: { dataset: (p) => `text/dt=${p.date}`, schema: linesSchema } },
        map: {
          lines: (r: { text: string | null }, ctx: MapContext<[string], number>) => {
            for (const w of wordsOf(r.text ?? '')) ctx.emit([w], 1);
          },
        },
        combine: options.combine === false ? undefined : (key, values, ctx) => ctx.emit(key, sum(values)),
        reduce: (key, values, ctx) => ctx.write({ word: key[0], count: sum(values) }),
        shuffle: { reducers: options.reducers ?? 3 },
        output: { schema: countsSchema, dataset: (p) => `word_count/dt=${p.date}` },
      }),
    ],
  });
}

export const LINES = [
  'The quick brown fox jumps over the lazy dog.',
  'The dog sleeps; the fox does not.',
  '',
  "Don't panic: it's only a fox.",
  'Über naïve café — ÜBER Café',
  'fox fox FOX',
  '42 is the answer, 42!',
  '   leading and trailing spaces   ',
];

export const wordCountCase: ConformanceCase = {
  name: 'word-count',
  title: 'word count: map, combine, three reducers',
  async run({ runner, t }) {
    await writeInput(t, 'text/dt=2026-11-23', linesSchema, LINES.map((text, i) => ({ line_no: i, text })), { rowsPerFile: 3 });
    const result = await runner.run(wordCountJob(), { date: '2026-11-23' }, { storageRoot: t.root });
    return { steps: stepFacts(result), output: await readRows(result.steps[0]!.output) };
  },
};
