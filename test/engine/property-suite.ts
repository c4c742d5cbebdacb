/**
 * Property tests every runner must pass: on seeded random inputs, word count, join and secondary sort
 * produce exactly what a naive in-memory computation in this file produces. Call it from a runner's test
 * file (the local runner adds a spill-forcing memory cap).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom, type SeededRandom } from '../../udfs/index.ts';
import type { JobRunner } from '../../engine/index.ts';
import { canonicalRows, makeTempRoot, readRows, removeTempRoot, writeInput, type TempRoot } from './conformance/fixtures.ts';
import { linesSchema, wordCountJob, wordsOf } from './conformance/word-count.ts';
import { joinJob, ordersSchema, usersSchema } from './conformance/join.ts';
import { clickPathJob, eventsSchema } from './conformance/secondary-sort.ts';

const SEEDS = [1, 2, 3, 4, 5, 6];
const VOCAB = ['fox', 'Fox', 'dog', 'the', 'a', 'über', 'ÜBER', 'naïve', '42', "don't", 'zebra', 'x', '😀', 'ｅ', 'é', 'e\u0301'];
const PAGES = ['/', '/a', '/b', '/B', '/é', '/😀', '/｡', '/a/b', ''];

function line(rnd: SeededRandom): string | null {
  if (rnd.chance(0.05)) return null;
  const n = rnd.int(9);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(rnd.pick(VOCAB), rnd.pick([' ', '  ', ', ', '. ', ' — ', '!']));
  return parts.join('');
}

/** Registers the property tests for a runner. */
export function runPropertySuite(makeRunner: () => JobRunner, label = makeRunner().kind): void {
  describe(`engine properties (${label} runner)`, () => {
    let t: TempRoot | undefined;
    beforeEach(async () => {
      t = await makeTempRoot('courier-engine-prop-');
    });
    afterEach(async () => {
      await removeTempRoot(t);
      t = undefined;
    });

    it('word count equals a naive count', async () => {
      for (const seed of SEEDS) {
        const rnd = seededRandom(seed);
        const date = `2026-11-${String(10 + seed).padStart(2, '0')}`;
        const lines = Array.from({ length: 50 + rnd.int(300) }, (_, i) => ({ line_no: i, text: line(rnd) }));
        await writeInput(t!, `text/dt=${date}`, linesSchema, lines, { rowsPerFile: 1 + rnd.int(120) });
        const job = wordCountJob({ reducers: 1 + rnd.int(4), combine: rnd.chance(0.5) });
        const result = await makeRunner().run(job, { date }, { storageRoot: t!.root });

        const expected = new Map<string, number>();
        for (const l of lines) for (const w of wordsOf(l.text ?? '')) expected.set(w, (expected.get(w) ?? 0) + 1);
        const reference = canonicalRows([...expected].map(([word, count]) => ({ word, count })));
        expect(await readRows(result.steps[0]!.output), `seed ${seed}`).toEqual(reference);
        expect(result.steps[0]!.recordsIn).toBe(lines.length);
      }
    });

    it('join equals a naive nested-loop join', async () => {
      for (const seed of SEEDS) {
        const rnd = seededRandom(100 + seed);
        const date = `2026-11-${String(10 + seed).padStart(2, '0')}`;
        const userIds = [...new Set(Array.from({ length: 5 + rnd.int(40) }, () => rnd.int(60) - 10))];
        const users = userIds.map((user_id) => ({ user_id, name: `n${rnd.int(1000)}`, country: rnd.chance(0.2) ? null : rnd.pick(['DE', 'FR', 'US']) }));
        const orders = Array.from({ length: rnd.int(200) }, (_, i) => ({
          order_id: `o${rnd.int(50)}-${i}`,
          user_id: rnd.int(60) - 10,
          amount: rnd.int(100000) / 100,
          items: Int32Array.from({ length: rnd.int(4) }, () => rnd.int(2000) - 1000),
        }));
        await writeInput(t!, 'users/latest', usersSchema, users, { rowsPerFile: 1 + rnd.int(30), overwrite: true });
        await writeInput(t!, `orders/dt=${date}`, ordersSchema, orders, { rowsPerFile: 1 + rnd.int(80) });
        const result = await makeRunner().run(joinJob({ reducers: 1 + rnd.int(5) }), { date }, { storageRoot: t!.root, overwrite: true });

        const joined = [];
        for (const o of orders) {
          for (const u of users) {
            if (u.user_id === o.user_id) joined.push({ order_id: o.order_id, user_id: o.user_id, name: u.name, country: u.country, amount: o.amount, items: Array.from(o.items) });
          }
        }
        expect(await readRows(result.steps[0]!.output), `seed ${seed}`).toEqual(canonicalRows(joined));
        const orphans = orders.filter((o) => !userIds.includes(o.user_id)).length;
        const lonely = users.filter((u) => !orders.some((o) => o.user_id === u.user_id)).length;
        const join: Record<string, number> = {};
        if (orphans) join['orders without user'] = orphans;
        if (lonely) join['users without orders'] = lonely;
        expect(result.steps[0]!.counters, `seed ${seed}`).toEqual(Object.keys(join).length ? { join } : {});
      }
    });

    it('secondary sort delivers each group in (number, UTF-16 string) order', async () => {
      for (const seed of SEEDS) {
        const rnd = seededRandom(200 + seed);
        const date = `2026-11-${String(10 + seed).padStart(2, '0')}`;
        const users = Array.from({ length: 1 + rnd.int(12) }, (_, i) => `u${i}${rnd.pick(['', 'é', '😀'])}`);
        const events = Array.from({ length: rnd.int(250) }, () => ({
          user: rnd.pick(users),
          ts: rnd.int(4000) - 2000 + (rnd.chance(0.1) ? 1_795_000_000_000 : 0),
          page: rnd.pick(PAGES),
        }));
        await writeInput(t!, `events/dt=${date}`, eventsSchema, events, { rowsPerFile: 1 + rnd.int(100) });
        const result = await makeRunner().run(clickPathJob({ reducers: 1 + rnd.int(4) }), { date }, { storageRoot: t!.root });

        const byUser = new Map<string, { ts: number; page: string }[]>();
        for (const e of events) {
          let list = byUser.get(e.user);
          if (!list) byUser.set(e.user, (list = []));
          list.push({ ts: e.ts, page: e.page });
        }
        const reference = [...byUser].map(([user, list]) => {
          list.sort((a, b) => a.ts - b.ts || (a.page < b.page ? -1 : a.page > b.page ? 1 : 0));
          return { user, first_ts: list[0]!.ts, last_ts: list.at(-1)!.ts, pages: list.map((e) => e.page) };
        });
        expect(await readRows(result.steps[0]!.output), `seed ${seed}`).toEqual(canonicalRows(reference));
      }
    });
  });
}
