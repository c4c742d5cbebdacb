import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineRunner } from '../../engine/index.ts';
import { fileSystemFor, isComplete, joinUri } from '../../storage/index.ts';
import { backfill, defineWorkflow, listRuns, NonRetryableError, type WorkflowEvent } from '../../workflows/index.ts';
import { makeTempRoot, readNumbers, removeTempRoot, StageLog, writeNumbers, type TempRoot } from './workflow-fixtures.ts';

let t: TempRoot;
beforeEach(async () => (t = await makeTempRoot()));
afterEach(async () => removeTempRoot(t));

const DAYS = ['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23'];
const runner = inlineRunner();
const once = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

/**
 * store (incremental: day D = store of D-1 + the day's src rows) → report; side is independent. `fail.store` and
 * `fail.side` name days on which those stages fail.
 */
function chain(log: StageLog, fail: { store?: string; side?: string } = {}) {
  return defineWorkflow<unknown>({
    name: 'chain',
    description: 'an incremental store, a report, a side stage',
    period: 'daily',
    stages: [
      {
        name: 'store',
        dependsOnPreviousPeriod: true,
        retries: once,
        inputs: (ctx) => [`src/dt=${ctx.date}`],
        outputs: (ctx) => [`store/dt=${ctx.date}`],
        run: (ctx) =>
          log.around('store', ctx.period, async () => {
            if (ctx.period === fail.store) throw new NonRetryableError(`store of ${ctx.period} is broken`);
            await new Promise((r) => setTimeout(r, 30));
            const prevUri = joinUri(ctx.storageRoot, `store/dt=${DAYS[DAYS.indexOf(ctx.date) - 1]}`);
            const previous = DAYS.indexOf(ctx.date) > 0 && (await isComplete(fileSystemFor(prevUri), prevUri)) ? (await readNumbers(ctx.storageRoot, `store/dt=${DAYS[DAYS.indexOf(ctx.date) - 1]}`)).length : 0;
            const today = (await readNumbers(ctx.storageRoot, `src/dt=${ctx.date}`)).length;
            await writeNumbers(ctx.storageRoot, `store/dt=${ctx.date}`, previous + today, 'store', { overwrite: ctx.overwrite });
          }),
      },
      {
        name: 'report',
        dependsOn: ['store'],
        retries: once,
        outputs: (ctx) => [`report/dt=${ctx.date}`],
        run: (ctx) => log.around('report', ctx.period, () => writeNumbers(ctx.storageRoot, `report/dt=${ctx.date}`, 1, 'report', { overwrite: ctx.overwrite })),
      },
      {
        name: 'side',
        retries: once,
        inputs: (ctx) => [`src/dt=${ctx.date}`],
        outputs: (ctx) => [`side/dt=${ctx.date}`],
        run: (ctx) =>
          log.around('side', ctx.period, async () => {
            if (ctx.period === fail.side) throw new NonRetryableError(`side of ${ctx.period} is broken`);
            await writeNumbers(ctx.storageRoot, `side/dt=${ctx.date}`, 1, 'side', { overwrite: ctx.overwrite });
          }),
      },
    ],
  });
}

async function writeSources(): Promise<void> {
  for (const [i, d] of DAYS.entries()) await writeNumbers(t.root, `src/dt=${d}`, i + 1, 'src');
}

describe('backfill', () => {
  it('runs every day with at most `concurrency` at once, each store after the previous day\'s', async () => {
    await writeSources();
    const log = new StageLog();
    let active = 0;
    let maxActive = 0;
    const onEvent = (e: WorkflowEvent) => {
      if (e.type === 'run-started') maxActive = Math.max(maxActive, ++active);
      if (e.type === 'run-finished') active--;
    };
    const r = await backfill(chain(log), { from: DAYS[0]!, to: DAYS[3]!, concurrency: 2, storageRoot: t.root, settings: {}, runner, onEvent });
    expect(r.periods.map((p) => [p.period, p.state])).toEqual(DAYS.map((d) => [d, 'succeeded']));
    expect([r.succeeded, r.skipped, r.failed]).toEqual([4, 0, 0]);
    expect(maxActive).toBe(2);
    for (let i = 1; i < DAYS.length; i++) expect(log.index(`end:store@${DAYS[i - 1]}`)).toBeLessThan(log.index(`start:store@${DAYS[i]}`));
    // Each day's store holds every earlier day's rows: 1, 1+2, 1+2+3, 1+2+3+4.
    for (const [i, d] of DAYS.entries()) expect(await readNumbers(t.root, `store/dt=${d}`)).toHaveLength(((i + 1) * (i + 2)) / 2);
    const { runs } = await listRuns(t.root, { workflow: 'chain' });
    expect(runs.map((h) => h.params.backfill)).toEqual(DAYS.map(() => ({ from: DAYS[0], to: DAYS[3] })));

    const again = await backfill(chain(new StageLog()), { from: DAYS[0]!, to: DAYS[3]!, concurrency: 3, storageRoot: t.root, settings: {}, runner });
    expect(again.periods.map((p) => p.state)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
  });

  it('blocks the later days\' stages that build on a failed one, and runs the rest', async () => {
    await writeSources();
    const log = new StageLog();
    const r = await backfill(chain(log, { store: DAYS[1] }), { from: DAYS[0]!, to: DAYS[3]!, concurrency: 2, storageRoot: t.root, settings: {}, runner });
    expect(r.periods.map((p) => [p.period, p.state, p.failedStages])).toEqual([
      [DAYS[0], 'succeeded', []],
      [DAYS[1], 'failed', ['store']],
      [DAYS[2], 'failed', []],
      [DAYS[3], 'failed', []],
    ]);
    expect(r.periods[2]!.error).toBe(`stage "store" blocked: not run: stage "store" of the previous period ${DAYS[1]} failed, and this one builds on it`);
    expect(r.periods[3]!.error).toBe(`stage "store" blocked: not run: stage "store" of the previous period ${DAYS[2]} blocked, and this one builds on it`);
    for (const d of DAYS) expect(log.started('side', d)).toBe(true);
    expect(log.started('store', DAYS[2]!)).toBe(false);
    expect(log.started('report', DAYS[3]!)).toBe(false);
  });

  it('goes past a failed day when the later days do not build on what failed', async () => {
    await writeSources();
    const r = await backfill(chain(new StageLog(), { side: DAYS[1] }), { from: DAYS[0]!, to: DAYS[3]!, concurrency: 1, storageRoot: t.root, settings: {}, runner });
    expect(r.periods.map((p) => p.state)).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded']);
    expect(r.periods[1]!.error).toBe(`stage "side" failed: side of ${DAYS[1]} is broken`);
  });

  it('refuses an empty or malformed range', async () => {
    const wf = chain(new StageLog());
    await expect(backfill(wf, { from: DAYS[3]!, to: DAYS[0]!, storageRoot: t.root, settings: {}, runner })).rejects.toThrow(
      'the range 2026-11-23 .. 2026-11-20 is empty: --from must not be after --to',
    );
    await expect(backfill(wf, { from: '2026-11', to: DAYS[0]!, storageRoot: t.root, settings: {}, runner })).rejects.toThrow('expected a day as YYYY-MM-DD, got "2026-11"');
  });
});
