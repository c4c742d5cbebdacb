import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineRunner } from '../../engine/index.ts';
import { defineWorkflow, duePeriods, listRuns, nextFireAfter, NonRetryableError, runSchedule, type ScheduleEvent } from '../../workflows/index.ts';
import { makeTempRoot, removeTempRoot, writeNumbers, type TempRoot } from './workflow-fixtures.ts';

let t: TempRoot;
beforeEach(async () => (t = await makeTempRoot()));
afterEach(async () => removeTempRoot(t));

const runner = inlineRunner();

/** A daily workflow writing out/dt=D, at 02:30 in `timezone`; `failing` lists days whose stage fails. */
function nightly(timezone = 'Europe/Madrid', failing: Set<string> = new Set()) {
  return defineWorkflow<unknown>({
    name: 'nightly',
    description: 'writes one dataset a day',
    period: 'daily',
    schedule: { cron: '30 2 * * *', timezone },
    stages: [
      {
        name: 'mark',
        retries: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
        outputs: (ctx) => [`out/dt=${ctx.date}`],
        run: async (ctx) => {
          if (failing.has(ctx.date)) throw new NonRetryableError(`no data for ${ctx.date}`);
          await writeNumbers(ctx.storageRoot, `out/dt=${ctx.date}`, 1, 'out', { overwrite: ctx.overwrite });
        },
      },
    ],
  });
}

const at = (iso: string) => new Date(iso);
const due = async (wf: ReturnType<typeof nightly>, now: string, catchUp?: number) =>
  (await duePeriods(wf, { storageRoot: t.root, now: at(now), ...(catchUp !== undefined ? { catchUp } : {}) })).due;

describe('duePeriods', () => {
  it('reads the cron in its time zone: a fire processes the day before its local day', async () => {
    // 02:30 in Madrid (CET, UTC+1) is 01:30 UTC.
    expect(await due(nightly(), '2026-11-24T01:29:00Z')).toEqual(['2026-11-22']);
    expect(await due(nightly(), '2026-11-24T01:30:00Z')).toEqual(['2026-11-23']);
    expect(await due(nightly(), '2026-11-24T01:31:00Z')).toEqual(['2026-11-23']);
    // The same cron in UTC has not fired yet at 01:31 UTC.
    expect(await due(nightly('UTC'), '2026-11-24T01:31:00Z')).toEqual(['2026-11-22']);
    expect((await duePeriods(nightly(), { storageRoot: t.root, now: at('2026-11-24T01:31:00Z') })).nextFire).toBe('2026-11-25T01:30:00.000Z');
  });

  it('spring forward: the 02:30 that does not exist fires at 03:30, and its day is not lost', async () => {
    // 29 March 2026 in Madrid: 02:00 CET jumps to 03:00 CEST (UTC+2); 03:30 CEST is 01:30 UTC.
    expect(nextFireAfter(nightly().schedule!, at('2026-03-28T12:00:00Z')).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(await due(nightly(), '2026-03-29T01:29:00Z')).toEqual(['2026-03-27']);
    expect(await due(nightly(), '2026-03-29T01:31:00Z')).toEqual(['2026-03-28']);
    // The next day's 02:30 CEST is 00:30 UTC.
    expect(await due(nightly(), '2026-03-30T00:31:00Z')).toEqual(['2026-03-29']);
  });

  it('fall back: the 02:30 that happens twice runs its day once', async () => {
    // 25 October 2026 in Madrid: 03:00 CEST falls back to 02:00 CET, so 02:30 comes at 00:30 and 01:30 UTC.
    const wf = nightly();
    expect(await due(wf, '2026-10-25T00:31:00Z')).toEqual(['2026-10-24']);
    await runSchedule([{ workflow: wf, settings: {} }], { storageRoot: t.root, runner, once: true, now: () => at('2026-10-25T00:31:00Z') });
    expect(await due(wf, '2026-10-25T01:31:00Z')).toEqual([]);
    expect(nextFireAfter(wf.schedule!, at('2026-10-25T00:31:00Z')).toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });

  it('monthly: the fire on the 1st processes the month before', async () => {
    const monthly = defineWorkflow<unknown>({
      name: 'monthly',
      description: 'a month at a time',
      period: 'monthly',
      schedule: { cron: '0 4 1 * *', timezone: 'Europe/Madrid' },
      stages: [{ name: 'm', outputs: (ctx) => [`m/month=${ctx.month}`], run: async () => {} }],
    });
    expect((await duePeriods(monthly, { storageRoot: t.root, now: at('2026-12-01T02:59:00Z') })).due).toEqual(['2026-10']);
    expect((await duePeriods(monthly, { storageRoot: t.root, now: at('2026-12-01T03:01:00Z') })).due).toEqual(['2026-11']);
  });
});

describe('runSchedule', () => {
  it('--once catches up at most --catch-up missed days since the last recorded run, reports the rest, then has nothing due', async () => {
    const wf = nightly();
    const now = () => at('2026-11-24T01:31:00Z');
    // A run on the 19th is the last one recorded.
    await runSchedule([{ workflow: wf, settings: {} }], { storageRoot: t.root, runner, once: true, now: () => at('2026-11-20T01:31:00Z') });
    const events: ScheduleEvent[] = [];
    const cycles = await runSchedule([{ workflow: wf, settings: {} }], { storageRoot: t.root, runner, once: true, catchUp: 2, now, onSchedule: (e) => events.push(e) });
    expect(cycles).toHaveLength(1);
    const first = cycles[0]!.workflows[0]!;
    expect(first.due).toMatchObject({ workflow: 'nightly', due: ['2026-11-22', '2026-11-23'], missed: { from: '2026-11-20', to: '2026-11-21', count: 2 } });
    expect(first.results.map((r) => [r.period, r.state])).toEqual([
      ['2026-11-22', 'succeeded'],
      ['2026-11-23', 'succeeded'],
    ]);
    expect(events.map((e) => e.type)).toEqual(['due', 'ran']);
    const { runs } = await listRuns(t.root, { workflow: 'nightly' });
    expect(runs.map((r) => [r.period, r.state]).sort()).toEqual([
      ['2026-11-19', 'succeeded'],
      ['2026-11-22', 'succeeded'],
      ['2026-11-23', 'succeeded'],
    ]);
    const again = await runSchedule([{ workflow: wf, settings: {} }], { storageRoot: t.root, runner, once: true, catchUp: 2, now });
    expect(again[0]!.workflows[0]!.due.due).toEqual([]);
    expect(again[0]!.workflows[0]!.results).toEqual([]);
  });

  it('retries a failed day at the next cycle while it is in the catch-up window', async () => {
    const failing = new Set(['2026-11-23']);
    const wf = nightly('Europe/Madrid', failing);
    const now = () => at('2026-11-24T01:31:00Z');
    const first = await runSchedule([{ workflow: wf, settings: {} }], { storageRoot: t.root, runner, once: true, now });
    expect(first[0]!.workflows[0]!.results.map((r) => [r.period, r.state])).toEqual([['2026-11-23', 'failed']]);
    failing.clear();
    const second = await runSchedule([{ workflow: wf, settings: {} }], { storageRoot: t.root, runner, once: true, now });
    expect(second[0]!.workflows[0]!.results.map((r) => [r.period, r.state])).toEqual([['2026-11-23', 'succeeded']]);
  });

  it('sleeps until the next fire time and runs the next day when it comes (fake clock)', async () => {
    const wf = nightly();
    let clock = at('2026-11-24T01:31:00Z').getTime();
    const stop = new AbortController();
    const sleeps: number[] = [];
    const events: ScheduleEvent[] = [];
    const cycles = await runSchedule([{ workflow: wf, settings: {} }], {
      storageRoot: t.root,
      runner,
      now: () => new Date(clock),
      signal: stop.signal,
      onSchedule: (e) => events.push(e),
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
        if (sleeps.length === 2) stop.abort('test done');
      },
    });
    expect(cycles.map((c) => c.workflows[0]!.results.map((r) => r.period))).toEqual([['2026-11-23'], ['2026-11-24']]);
    expect(events.filter((e) => e.type === 'sleeping').map((e) => e.type === 'sleeping' && e.until)).toEqual(['2026-11-25T01:30:00.000Z', '2026-11-26T01:30:00.000Z']);
    expect(sleeps[1]).toBe(86_400_000);
  });

  it('refuses to run without a scheduled workflow', async () => {
    const unscheduled = defineWorkflow<unknown>({ name: 'manual', description: 'on demand', period: 'daily', stages: [{ name: 'a', outputs: () => ['a/dt=x'], run: async () => {} }] });
    await expect(runSchedule([{ workflow: unscheduled, settings: {} }], { storageRoot: t.root, runner, once: true })).rejects.toThrow('no workflow has a schedule');
  });
});
