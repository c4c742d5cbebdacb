/** Secondary sort: group on the user, values arrive ordered by the remaining key parts (time, then page). */
import { defineSchema } from '../../../storage/index.ts';
import { defineJob, logicalDate, type MapContext } from '../../../engine/index.ts';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, writeInput } from './fixtures.ts';

export const eventsSchema = defineSchema({ user: 'string', ts: 'timestamp_ms', page: 'string' });
export const pathsSchema = defineSchema({ user: 'string', first_ts: 'timestamp_ms', last_ts: 'timestamp_ms', pages: 'list<string>' });

/** Each user's pages in (ts, page) order. */
export function clickPathJob(options: { reducers?: number } = {}) {
  return defineJob({
    name: 'click-paths',
    source: { module: import.meta.url, export: 'clickPathJob', args: [options] },
    params: logicalDate,
    steps: (step) => [
      step({
        name: 'paths',
        inputs: { events: { dataset: (p) => `events/dt=${p.date}`, schema: eventsSchema } },
        map: {
          events: (e: { user: string; ts: number; page: string }, ctx: MapContext<[string, number, string], { ts: number; page: string }>) =>
            ctx.emit([e.user, e.ts, e.page], { ts: e.ts, page: e.page }),
        },
        reduce: (key, values, ctx) => {
          const pages: string[] = [];
          let last = key[1];
          for (const v of values) {
            pages.push(v.page);
            last = v.ts;
          }
          ctx.write({ user: key[0], first_ts: key[1], last_ts: last, pages });
        },
        shuffle: { groupFields: 1, reducers: options.reducers ?? 2 },
        output: { schema: pathsSchema, dataset: (p) => `click_paths/dt=${p.date}` },
      }),
    ],
  });
}

export const secondarySortCase: ConformanceCase = {
  name: 'secondary-sort',
  title: 'secondary sort: numbers numerically, strings by UTF-16 code units',
  async run({ runner, t }) {
    // Written out of order across two files; ts 9 < 10 < 100 numerically (not as text); ties on ts sort by page:
    // 'Z' < 'a' < 'é' < '😀' (D83D…) < '｡' (FF61) in UTF-16 code units.
    const events = [
      { user: 'u2', ts: 100, page: '/c' },
      { user: 'u1', ts: 10, page: '/b' },
      { user: 'u1', ts: 100, page: '/c' },
      { user: 'u1', ts: 9, page: '/a' },
      { user: 'u2', ts: -5, page: '/before-1970' },
      { user: 'u3', ts: 7, page: '｡' },
      { user: 'u3', ts: 7, page: '😀' },
      { user: 'u3', ts: 7, page: 'é' },
      { user: 'u3', ts: 7, page: 'a' },
      { user: 'u3', ts: 7, page: 'Z' },
      { user: 'u2', ts: 1_795_000_000_000, page: '/late' },
    ];
    await writeInput(t, 'events/dt=2026-11-23', eventsSchema, events, { rowsPerFile: 6 });
    const result = await runner.run(clickPathJob(), { date: '2026-11-23' }, { storageRoot: t.root });
    return { steps: stepFacts(result), output: await readRows(result.steps[0]!.output) };
  },
};
