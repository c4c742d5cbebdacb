/** A reduce-side join of two inputs, tagged in the key so each user arrives before their orders. */
import { defineSchema } from '../../../storage/index.ts';
import { defineJob, logicalDate, type MapContext } from '../../../engine/index.ts';
import type { ConformanceCase } from './conformance-case.ts';
import { readRows, stepFacts, writeInput } from './fixtures.ts';

export const usersSchema = defineSchema({ user_id: 'int32', name: 'string', country: { type: 'string', nullable: true } });
export const ordersSchema = defineSchema({ order_id: 'string', user_id: 'int32', amount: 'float64', items: 'list<int32>' });
export const joinedSchema = defineSchema({
  order_id: 'string',
  user_id: 'int32',
  name: 'string',
  country: { type: 'string', nullable: true },
  amount: 'float64',
  items: 'list<int32>',
});

/** Map output: a user (tag 0) or an order (tag 1, then its id as the secondary key). */
type Tagged = { t: 'user'; name: string; country: string | null } | { t: 'order'; order_id: string; amount: number; items: number[] };
type JoinKey = [userId: number, tag: 0] | [userId: number, tag: 1, orderId: string];

/** Users joined with their orders (inner join), orphans counted. */
export function joinJob(options: { reducers?: number } = {}) {
  return defineJob({
    name: 'user-orders',
    source: { module: import.meta.url, export: 'joinJob', args: [options] },
    params: logicalDate,
    steps: (step) => [
      step({
        name: 'join',
        inputs: {
          users: { dataset: () => 'users/latest', schema: usersSchema },
          orders: { dataset: (p) => `orders/dt=${p.date}`, schema: ordersSchema },
        },
        map: {
          users: (u: { user_id: number; name: string; country: string | null }, ctx: MapContext<JoinKey, Tagged>) =>
            ctx.emit([u.user_id, 0], { t: 'user', name: u.name, country: u.country }),
          orders: (o: { order_id: string; user_id: number; amount: number; items: Int32Array }, ctx) =>
            ctx.emit([o.user_id, 1, o.order_id], { t: 'order', order_id: o.order_id, amount: o.amount, items: Array.from(o.items) }),
        },
        reduce: (key, values, ctx) => {
          let user: Extract<Tagged, { t: 'user' }> | undefined;
          let orders = 0;
          for (const v of values) {
            if (v.t === 'user') {
              if (user) ctx.count('join', 'duplicate users');
              user = v;
              continue;
            }
            orders++;
            if (!user) {
              ctx.count('join', 'orders without user');
              continue;
            }
            ctx.write({ order_id: v.order_id, user_id: key[0], name: user.name, country: user.country, amount: v.amount, items: v.items });
          }
          if (user && orders === 0) ctx.count('join', 'users without orders');
        },
        shuffle: { partitionFields: 1, groupFields: 1, reducers: options.reducers ?? 2 },
        output: { schema: joinedSchema, dataset: (p) => `user_orders/dt=${p.date}` },
      }),
    ],
  });
}

export const joinCase: ConformanceCase = {
  name: 'join',
  title: 'reduce-side join of users and orders tagged by input',
  async run({ runner, t }) {
    await writeInput(t, 'users/latest', usersSchema, [
      { user_id: 1, name: 'Ada', country: 'GB' },
      { user_id: 2, name: 'Grace', country: 'US' },
      { user_id: 3, name: 'Linus', country: null },
      { user_id: 4, name: 'Edsger', country: 'NL' },
      { user_id: 10, name: 'Barbara', country: 'US' },
    ]);
    await writeInput(
      t,
      'orders/dt=2026-11-23',
      ordersSchema,
      [
        { order_id: 'o-9', user_id: 1, amount: 12.5, items: Int32Array.of(1, 2) },
        { order_id: 'o-10', user_id: 1, amount: 3, items: Int32Array.of() },
        { order_id: 'o-2', user_id: 2, amount: 99.99, items: Int32Array.of(7) },
        { order_id: 'o-3', user_id: 3, amount: 0.5, items: Int32Array.of(-1, 2147483647) },
        { order_id: 'o-4', user_id: 7, amount: 5, items: Int32Array.of(3) },
        { order_id: 'o-5', user_id: 10, amount: 1e-3, items: Int32Array.of(4) },
        { order_id: 'o-1', user_id: 10, amount: 8, items: Int32Array.of(5, 6) },
      ],
      { rowsPerFile: 4 },
    );
    const result = await runner.run(joinJob(), { date: '2026-11-23' }, { storageRoot: t.root });
    return { steps: stepFacts(result), output: await readRows(result.steps[0]!.output) };
  },
};
