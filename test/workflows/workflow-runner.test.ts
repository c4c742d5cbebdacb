import * as fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineJob, inlineRunner, logicalDate, type MapContext } from '../../engine/index.ts';
import { joinUri } from '../../storage/index.ts';
import {
  defineWorkflow,
  InputsNotReadyError,
  NonRetryableError,
  runWorkflow,
  type RunRecord,
  type StageDefinition,
  type WorkflowEvent,
  type WorkflowRunResult,
} from '../../workflows/index.ts';
import { eventually, listTree, makeTempRoot, numbers, readNumbers, removeTempRoot, StageLog, writeNumbers, type TempRoot } from './workflow-fixtures.ts';

const DATE = '2026-11-23';
let t: TempRoot;
beforeEach(async () => (t = await makeTempRoot()));
afterEach(async () => removeTempRoot(t));

const runner = inlineRunner();
const fast = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

/** A stage copying `from` (rows + 0) into its own dataset `<name>/dt=D`, logged. */
function copyStage(log: StageLog, name: string, dependsOn: string[], from: string[], extra: Partial<StageDefinition<unknown>> = {}): StageDefinition<unknown> {
  return {
    name,
    dependsOn,
    retries: fast,
    inputs: (ctx) => from.map((f) => `${f}/dt=${ctx.date}`),
    outputs: (ctx) => [`${name}/dt=${ctx.date}`],
    run: (ctx) =>
      log.around(name, ctx.period, async () => {
        let rows = 0;
        for (const f of from) rows += (await readNumbers(ctx.storageRoot, `${f}/dt=${ctx.date}`)).length;
        await writeNumbers(ctx.storageRoot, `${name}/dt=${ctx.date}`, rows, name, { overwrite: ctx.overwrite });
        return { counters: { rows: { written: rows } }, summary: { rows } };
      }),
    ...extra,
  };
}

/** src → a → (b, c) → d. */
function diamond(log: StageLog, overrides: Record<string, Partial<StageDefinition<unknown>>> = {}) {
  return defineWorkflow<unknown>({
    name: 'diamond',
    description: 'a diamond of copies',
    period: 'daily',
    stages: [
      copyStage(log, 'd', ['b', 'c'], ['b', 'c'], overrides['d']),
      copyStage(log, 'b', ['a'], ['a'], overrides['b']),
      copyStage(log, 'c', ['a'], ['a'], overrides['c']),
      copyStage(log, 'a', [], ['src'], overrides['a']),
    ],
  });
}

const states = (r: WorkflowRunResult) => Object.fromEntries(r.stages.map((s) => [s.name, s.state]));
const readHistory = async (r: WorkflowRunResult) => JSON.parse(await fsp.readFile(fileURLToPath(r.historyUri), 'utf8')) as RunRecord;

describe('runWorkflow', () => {
  it('runs stages in dependency order, independent ones concurrently', async () => {
    await writeNumbers(t.root, `src/dt=${DATE}`, 3, 'src');
    const log = new StageLog();
    // b and c each wait until both have started: only a concurrent run gets past this.
    let started = 0;
    const meet = async () => {
      started++;
      await eventually(() => started === 2, 'b and c to run at the same time', 5000);
    };
    const wf = diamond(log, {
      b: { run: (ctx) => log.around('b', ctx.period, async () => { await meet(); await writeNumbers(ctx.storageRoot, `b/dt=${ctx.date}`, 3, 'b'); }) },
      c: { run: (ctx) => log.around('c', ctx.period, async () => { await meet(); await writeNumbers(ctx.storageRoot, `c/dt=${ctx.date}`, 3, 'c'); }) },
    });
    const r = await runWorkflow(wf, { date: DATE, storageRoot: t.root, settings: {}, runner });
    expect(r.state).toBe('succeeded');
    expect(states(r)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded' });
    expect(log.index(`end:a@${DATE}`)).toBeLessThan(log.index(`start:b@${DATE}`));
    expect(log.index(`end:a@${DATE}`)).toBeLessThan(log.index(`start:c@${DATE}`));
    expect(log.index(`end:b@${DATE}`)).toBeLessThan(log.index(`start:d@${DATE}`));
    expect(log.index(`end:c@${DATE}`)).toBeLessThan(log.index(`start:d@${DATE}`));
    expect(log.maxActive).toBe(2);
    expect(await readNumbers(t.root, `d/dt=${DATE}`)).toHaveLength(6);
  });

  it('skips stages whose outputs are marked, re-runs what is missing and what depends on it, and --force runs all', async () => {
    await writeNumbers(t.root, `src/dt=${DATE}`, 2, 'src');
    const first = new StageLog();
    expect((await runWorkflow(diamond(first), { date: DATE, storageRoot: t.root, settings: {}, runner })).state).toBe('succeeded');

    const again = new StageLog();
    const second = await runWorkflow(diamond(again), { date: DATE, storageRoot: t.root, settings: {}, runner });
    expect(second.state).toBe('skipped');
    expect(again.entries).toEqual([]);
    expect(second.stages.find((s) => s.name === 'a')!.reason).toBe('every output is already complete (_SUCCESS)');

    await fsp.rm(fileURLToPath(joinUri(t.root, `c/dt=${DATE}`)), { recursive: true });
    const partial = new StageLog();
    const third = await runWorkflow(diamond(partial), { date: DATE, storageRoot: t.root, settings: {}, runner });
    expect(states(third)).toEqual({ a: 'skipped', b: 'skipped', c: 'succeeded', d: 'succeeded' });
    expect(third.stages.find((s) => s.name === 'd')!.reason).toBe('outputs complete, but "c" ran before it in this run');

    const forced = new StageLog();
    const events: WorkflowEvent[] = [];
    const fourth = await runWorkflow(diamond(forced), { date: DATE, storageRoot: t.root, settings: {}, runner, force: true, onEvent: (e) => events.push(e) });
    expect(states(fourth)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded' });
    expect(events.filter((e) => e.type === 'stage-started').map((e) => e.type === 'stage-started' && e.overwrite)).toEqual([true, true, true, true]);
  });

  it('waits for input markers, then fails naming every missing path; dependents are blocked', async () => {
    const log = new StageLog();
    const wf = defineWorkflow<unknown>({
      name: 'two-inputs',
      description: 'needs logs and segments',
      period: 'daily',
      stages: [copyStage(log, 'a', [], ['logs', 'segments']), copyStage(log, 'b', ['a'], ['a'])],
    });
    const events: WorkflowEvent[] = [];
    const started = Date.now();
    const r = await runWorkflow(wf, { date: DATE, storageRoot: t.root, settings: {}, runner, waitTimeoutMs: 300, pollMs: 50, onEvent: (e) => events.push(e) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(r.state).toBe('failed');
    expect(states(r)).toEqual({ a: 'failed', b: 'blocked' });
    const a = r.stages[0]!;
    expect(a.error!.name).toBe('InputsNotReadyError');
    expect(a.error!.retryable).toBe(false);
    expect(a.error!.message).toContain(`${joinUri(t.root, `logs/dt=${DATE}`)}\n  ${joinUri(t.root, `segments/dt=${DATE}`)}`);
    expect(a.attempts).toBe(0);
    expect(r.error).toMatch(/^stage "a" failed: stage "a": 2 inputs incomplete \(no _SUCCESS marker\) after waiting 300 ms:\n/);
    expect(r.stages[1]!.reason).toBe('not run: stage "a" failed');
    expect(events.find((e) => e.type === 'stage-waiting')).toMatchObject({ stage: 'a', waitingFor: [joinUri(t.root, `logs/dt=${DATE}`), joinUri(t.root, `segments/dt=${DATE}`)] });
    expect(log.entries).toEqual([]);
    expect(new InputsNotReadyError('x', ['u'], 1500).message).toContain('after waiting 1.5 s');
    expect(new InputsNotReadyError('x', ['u'], 0).message).toBe('stage "x": 1 input incomplete (no _SUCCESS marker):\n  u\nProduce the missing datasets (or re-run the stage that writes them), or wait for them with --wait (e.g. --wait 2h).');
  });

  it('starts a stage once its inputs arrive during the wait', async () => {
    const log = new StageLog();
    const wf = defineWorkflow<unknown>({ name: 'late-input', description: 'logs arrive late', period: 'daily', stages: [copyStage(log, 'a', [], ['logs'])] });
    const arrival = new Promise((r) => setTimeout(r, 200)).then(() => writeNumbers(t.root, `logs/dt=${DATE}`, 4, 'logs'));
    const r = await runWorkflow(wf, { date: DATE, storageRoot: t.root, settings: {}, runner, waitTimeoutMs: 10_000, pollMs: 25 });
    await arrival;
    expect(r.state).toBe('succeeded');
    expect(r.stages[0]!.waitedSeconds).toBeGreaterThanOrEqual(0.15);
    expect(await readNumbers(t.root, `a/dt=${DATE}`)).toHaveLength(4);
  });

  it('retries a failing stage with exponential backoff, then succeeds', async () => {
    await writeNumbers(t.root, `src/dt=${DATE}`, 1, 'src');
    const log = new StageLog();
    let calls = 0;
    const flaky = copyStage(log, 'a', [], ['src'], { retries: { maxAttempts: 4, baseDelayMs: 80, maxDelayMs: 10_000 } });
    const wf = defineWorkflow<unknown>({
      name: 'flaky',
      description: 'fails twice',
      period: 'daily',
      stages: [{ ...flaky, run: async (ctx) => { if (++calls < 3) throw new Error(`storage hiccup ${calls}`); return flaky.run(ctx); } }],
    });
    const retries: number[] = [];
    const started = Date.now();
    // random() = 0 gives the lower half of each delay: 40 ms, then 80 ms.
    const r = await runWorkflow(wf, { date: DATE, storageRoot: t.root, settings: {}, runner, random: () => 0, onEvent: (e) => e.type === 'stage-retry' && retries.push(e.delayMs) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(120);
    expect(r.state).toBe('succeeded');
    expect(retries).toEqual([40, 80]);
    const a = r.stages[0]!;
    expect(a.attempts).toBe(3);
    expect(a.attemptErrors!.map((e) => [e.attempt, e.message, e.retryable])).toEqual([
      [1, 'storage hiccup 1', true],
      [2, 'storage hiccup 2', true],
    ]);
    expect(a.error).toBeUndefined();
  });

  it('gives up after maxAttempts', async () => {
    const wf = defineWorkflow<unknown>({
      name: 'always-fails',
      description: 'never works',
      period: 'daily',
      stages: [{ name: 'a', retries: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, outputs: () => ['a/dt=x'], run: async () => { throw new Error('disk full'); } }],
    });
    const r = await runWorkflow(wf, { date: DATE, storageRoot: t.root, settings: {}, runner });
    expect(r.stages[0]).toMatchObject({ state: 'failed', attempts: 3, error: { message: 'disk full', retryable: true } });
    expect(r.error).toBe('stage "a" failed after 3 attempts: disk full');
  });

  it('does not retry what cannot succeed: too many bad records from a real job, or a NonRetryableError', async () => {
    await writeNumbers(t.root, `src/dt=${DATE}`, 10, 'src');
    const strictJob = defineJob({
      name: 'strict',
      params: logicalDate,
      steps: (step) => [
        step({
          name: 'check',
          inputs: { src: { dataset: (p) => `src/dt=${p.date}`, schema: numbers } },
          map: {
            src: (r: { n: number; label: string }, ctx: MapContext<[number], string>) => {
              if (r.n % 2 === 1) throw new Error(`odd row ${r.n}`);
              ctx.emit([r.n], r.label);
            },
          },
          reduce: (key, values, ctx) => { for (const v of values) ctx.write({ n: key[0], label: v }); },
          output: { schema: numbers, dataset: (p) => `checked/dt=${p.date}` },
        }),
      ],
    });
    let jobCalls = 0;
    let refusals = 0;
    const wf = defineWorkflow<unknown>({
      name: 'non-retryable',
      description: 'bad data',
      period: 'daily',
      stages: [
        {
          name: 'bad-records',
          retries: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1 },
          inputs: () => [`src/dt=${DATE}`],
          outputs: () => [`checked/dt=${DATE}`],
          run: async (ctx) => {
            jobCalls++;
            await ctx.runner.run(strictJob, { date: ctx.date }, { storageRoot: ctx.storageRoot, maxBadRecordRate: 0.1 });
          },
        },
        {
          name: 'refuses',
          retries: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1 },
          outputs: () => ['never/dt=x'],
          run: async () => {
            refusals++;
            throw new NonRetryableError('partner 42 has no template: fix the config');
          },
        },
      ],
    });
    const r = await runWorkflow(wf, { date: DATE, storageRoot: t.root, settings: {}, runner });
    expect(jobCalls).toBe(1);
    expect(refusals).toBe(1);
    expect(r.stages[0]).toMatchObject({ state: 'failed', attempts: 1, error: { name: 'BadRecordRateError', retryable: false } });
    expect(r.stages[0]!.error!.message).toMatch(/job "strict" step "check": \d bad records of 10 records in .* exceed maxBadRecordRate 0.1/);
    expect(r.stages[1]).toMatchObject({ state: 'failed', attempts: 1, error: { name: 'NonRetryableError', retryable: false } });
    expect(r.failedStages).toEqual(['bad-records', 'refuses']);
  });

  it('stops the dependents of a failed stage and lets independent stages finish', async () => {
    await writeNumbers(t.root, `src/dt=${DATE}`, 2, 'src');
    const log = new StageLog();
    const wf = diamond(log, { b: { run: async () => { throw new NonRetryableError('b is broken'); } } });
    const r = await runWorkflow(wf, { date: DATE, storageRoot: t.root, settings: {}, runner });
    expect(r.state).toBe('failed');
    expect(states(r)).toEqual({ a: 'succeeded', b: 'failed', c: 'succeeded', d: 'blocked' });
    expect(r.failedStages).toEqual(['b']);
    expect(log.started('d', DATE)).toBe(false);
    expect(r.stages.find((s) => s.name === 'd')).toMatchObject({ reason: 'not run: stage "b" failed', error: { name: 'StageBlockedError' } });
  });

  it('records run history in the store on every state change', async () => {
    await writeNumbers(t.root, `src/dt=${DATE}`, 5, 'src');
    const log = new StageLog();
    let seenWhileRunning: RunRecord | undefined;
    let historyUri = '';
    const wf = diamond(log, {
      c: {
        run: async (ctx) => {
          // The history on disk says c is running while it runs.
          await eventually(async () => {
            seenWhileRunning = JSON.parse(await fsp.readFile(fileURLToPath(historyUri), 'utf8')) as RunRecord;
            return seenWhileRunning.stages.find((s) => s.name === 'c')!.state === 'running';
          }, 'the history to show c running');
          await writeNumbers(ctx.storageRoot, `c/dt=${ctx.date}`, 1, 'c');
          return { counters: { rows: { written: 1 } } };
        },
      },
    });
    const r = await runWorkflow(wf, {
      date: DATE,
      storageRoot: t.root,
      settings: { partners: [17, 42] },
      runner,
      onEvent: (e) => e.type === 'run-started' && (historyUri = e.historyUri),
    });
    expect(seenWhileRunning!.state).toBe('running');
    expect(seenWhileRunning!.stages.find((s) => s.name === 'a')!.state).toBe('succeeded');
    expect(r.historyUri).toBe(joinUri(t.root, `_runs/diamond/${DATE}/${r.runId}.json`));
    expect(r.runId).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{8}$/);
    const h = await readHistory(r);
    expect(h).toMatchObject({
      format: 'courier-run/1',
      workflow: 'diamond',
      period: DATE,
      runId: r.runId,
      state: 'succeeded',
      pid: process.pid,
      params: { period: DATE, date: DATE, storageRoot: t.root, runner: 'inline', force: false, waitTimeoutMs: 0, settings: { partners: [17, 42] } },
    });
    expect(h.stages.map((s) => [s.name, s.state, s.attempts])).toEqual([
      ['a', 'succeeded', 1],
      ['b', 'succeeded', 1],
      ['c', 'succeeded', 1],
      ['d', 'succeeded', 1],
    ]);
    const a = h.stages[0]!;
    expect(a.inputs).toEqual([joinUri(t.root, `src/dt=${DATE}`)]);
    expect(a.outputs).toEqual([joinUri(t.root, `a/dt=${DATE}`)]);
    expect(a.counters).toEqual({ rows: { written: 5 } });
    expect(a.summary).toEqual({ rows: 5 });
    expect(a.reason).toBe('1 of 1 outputs not complete');
    expect(Date.parse(a.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(a.startedAt!));
    expect(a.seconds).toBeGreaterThanOrEqual(0);
    expect(h.seconds).toBeGreaterThanOrEqual(a.seconds!);
    expect(Date.parse(h.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(h.startedAt));
  });

  it('dry run resolves the plan and touches nothing', async () => {
    await writeNumbers(t.root, `src/dt=${DATE}`, 2, 'src');
    await writeNumbers(t.root, `b/dt=${DATE}`, 2, 'b');
    const before = await listTree(t.dir);
    const log = new StageLog();
    const plan = await runWorkflow(diamond(log), { date: DATE, storageRoot: t.root, settings: {}, runner, dryRun: true });
    expect(await listTree(t.dir)).toEqual(before);
    expect(log.entries).toEqual([]);
    expect(plan.kind).toBe('plan');
    expect(plan.stages.map((s) => [s.name, s.action])).toEqual([
      ['a', 'run'],
      ['b', 'run'],
      ['c', 'run'],
      ['d', 'run'],
    ]);
    expect(plan.stages[0]!.inputs).toEqual([{ path: `src/dt=${DATE}`, uri: joinUri(t.root, `src/dt=${DATE}`), complete: true }]);
    expect(plan.stages[1]).toMatchObject({
      inputs: [{ path: `a/dt=${DATE}`, complete: false, producedBy: 'a' }],
      outputs: [{ path: `b/dt=${DATE}`, complete: true }],
      reason: 'outputs complete, but "a" ran before it in this run',
    });
    // Once a and c are done, only a forced run would touch b.
    await writeNumbers(t.root, `a/dt=${DATE}`, 2, 'a');
    const later = await runWorkflow(diamond(log), { date: DATE, storageRoot: t.root, settings: {}, runner, dryRun: true });
    expect(later.stages.map((s) => [s.name, s.action])).toEqual([
      ['a', 'skip'],
      ['b', 'skip'],
      ['c', 'run'],
      ['d', 'run'],
    ]);
  });

  it('refuses a period that is not a day, and dataset paths that escape the root', async () => {
    const log = new StageLog();
    await expect(runWorkflow(diamond(log), { date: '2026-02-30', storageRoot: t.root, settings: {}, runner })).rejects.toThrow('expected a day as YYYY-MM-DD, got "2026-02-30"');
    const escaping = defineWorkflow<unknown>({ name: 'escape', description: 'bad paths', period: 'daily', stages: [{ name: 'a', outputs: () => ['../elsewhere'], run: async () => {} }] });
    await expect(runWorkflow(escaping, { date: DATE, storageRoot: t.root, settings: {}, runner })).rejects.toThrow(
      'workflow "escape" stage "a" outputs for 2026-11-23: dataset path "../elsewhere" must be relative to the storage root (no leading /, no ..) or a full URI',
    );
    expect(await listTree(t.dir)).toEqual([]);
  });
});
