// `courier run`, `courier backfill`, `courier schedule`: run workflows for one period, a range, or on their
// schedules. A failed workflow exits 1 naming the failed stage and its error; the run history is in the store.
import { Option } from 'commander';
import {
  backfill,
  DEFAULT_CATCH_UP,
  runSchedule,
  planWorkflowSubmission,
  runWorkflow,
  WORKFLOW_NAMES,
  type BackfillPeriodResult,
  type ScheduleCycle,
} from '../../workflows/index.ts';
import { ENGINE_KINDS, type EngineKind } from '../../config/index.ts';
import { isWorkflowSubmitter } from '../../engine/index.ts';
import type { RegisterCommands } from '../cli-context.ts';
import { duration, interruptSignal, namedWorkflow, periodArgument, pollFor, wholeNumber, workflowEnvironment } from '../workflow-environment.ts';
import { workflowProgress } from '../workflow-progress.ts';
import { backfillText, planText, runResultText } from '../workflow-text.ts';

interface RunOptions {
  date?: string;
  force: boolean;
  dryRun: boolean;
  wait: number;
  engine?: EngineKind;
}

interface BackfillCommandOptions {
  engine?: EngineKind;
  from: string;
  to: string;
  concurrency: number;
  force: boolean;
  wait: number;
}

interface ScheduleCommandOptions {
  once: boolean;
  catchUp: number;
  wait: number;
  now?: string;
}

/** `--engine`: run on another engine than the config's engine.kind (its section must be in the config). */
const engineOption = () => new Option('--engine <kind>', "the engine to run on instead of the config's engine.kind").choices(ENGINE_KINDS);

const waitOption = (defaultText: string, defaultMs: number) =>
  new Option('--wait <duration>', 'how long a stage waits for its input markers before failing (0, 90s, 15m, 2h)').argParser(duration).default(defaultMs, defaultText);

/** Registers `courier run`, `courier backfill` and `courier schedule`. */
export const registerWorkflowCommands: RegisterCommands = (program, context) => {
  program
    .command('run')
    .description('run a workflow for one day (or month): stages in order, done ones skipped, with retries and run history')
    .argument('<workflow>', `workflow name: ${WORKFLOW_NAMES.join(', ')}`)
    .option('--date <period>', "the day YYYY-MM-DD (monthly workflows: YYYY-MM or a day in it); default: the period the workflow's last scheduled fire processes (yesterday for daily-refresh)")
    .option('--force', 'run every stage, replacing outputs that are already complete', false)
    .option('--dry-run', 'print the plan (stages, resolved inputs and outputs, what is complete, what would run) and submit nothing', false)
    .addOption(waitOption('0: look once', 0))
    .addOption(engineOption())
    .action(async (name: string, options: RunOptions) => {
      const ctx = context();
      const env = await workflowEnvironment(ctx, options.engine);
      const workflow = namedWorkflow(ctx, env, name);
      const date = periodArgument(ctx, workflow, options.date);
      const common = { date, storageRoot: env.storageRoot, settings: env.settings, runner: env.runner, force: options.force };
      if (options.dryRun && isWorkflowSubmitter(env.runner)) {
        // A cluster engine's dry run is the exact request it would send, as JSON.
        const request = await env.runner.describeSubmission(await planWorkflowSubmission(workflow, common));
        ctx.print(request, () => JSON.stringify(request, null, 2));
        return;
      }
      if (options.dryRun) {
        const plan = await runWorkflow(workflow, { ...common, dryRun: true });
        ctx.print(plan, () => planText(plan));
        return;
      }
      const progress = workflowProgress(ctx);
      const interrupt = interruptSignal(ctx);
      let result;
      try {
        result = await runWorkflow(workflow, { ...common, dryRun: false, waitTimeoutMs: options.wait, pollMs: pollFor(options.wait), signal: interrupt.signal, onEvent: progress.onEvent });
      } finally {
        progress.stop();
        interrupt.dispose();
      }
      ctx.print(result, () => runResultText(result));
      if (result.state === 'failed') throw new Error(`workflow ${result.workflow} ${result.period} failed: ${result.error ?? 'see the stages above'}`);
    });

  program
    .command('backfill')
    .description('run a workflow for every day (or month) of a range, several at once; stages that build on the previous period wait for it')
    .argument('<workflow>', `workflow name: ${WORKFLOW_NAMES.join(', ')}`)
    .requiredOption('--from <period>', 'first day YYYY-MM-DD (monthly: YYYY-MM), included')
    .requiredOption('--to <period>', 'last day, included')
    .addOption(new Option('--concurrency <n>', 'periods running at once').argParser(wholeNumber(1)).default(1))
    .option('--force', 'run every stage, replacing outputs that are already complete', false)
    .addOption(waitOption('0: look once', 0))
    .addOption(engineOption())
    .action(async (name: string, options: BackfillCommandOptions) => {
      const ctx = context();
      const env = await workflowEnvironment(ctx, options.engine);
      const workflow = namedWorkflow(ctx, env, name);
      const from = periodArgument(ctx, workflow, options.from, '--from');
      const to = periodArgument(ctx, workflow, options.to, '--to');
      if (from > to) ctx.usageError(`--from ${from} is after --to ${to}`);
      const progress = workflowProgress(ctx);
      const interrupt = interruptSignal(ctx);
      let result;
      try {
        result = await backfill(workflow, {
          from,
          to,
          concurrency: options.concurrency,
          storageRoot: env.storageRoot,
          settings: env.settings,
          runner: env.runner,
          force: options.force,
          waitTimeoutMs: options.wait,
          pollMs: pollFor(options.wait),
          signal: interrupt.signal,
          onEvent: progress.onEvent,
        });
      } finally {
        progress.stop();
        interrupt.dispose();
      }
      ctx.print(result, () => backfillText(result));
      if (result.failed > 0) throw new Error(`backfill of ${workflow.name}: ${result.failed} of ${result.periods.length} periods failed: ${failedList(result.periods)}`);
    });

  program
    .command('schedule')
    .description('run workflows when their cron schedules say (catching up missed periods), sleeping in between; --once runs what is due now and exits')
    .option('--once', 'run what is due now and exit (for cron-driven hosts)', false)
    .addOption(new Option('--catch-up <n>', 'periods per workflow run when the scheduler was down (older ones are reported: backfill them)').argParser(wholeNumber(1)).default(DEFAULT_CATCH_UP))
    .addOption(waitOption('2h', 2 * 3_600_000))
    .option('--now <iso-time>', 'with --once: pretend the clock says this (rehearsals and tests), e.g. 2026-11-24T02:00:00Z')
    .action(async (options: ScheduleCommandOptions) => {
      const ctx = context();
      if (options.now !== undefined && !options.once) ctx.usageError('--now needs --once: a scheduler whose clock stands still would never see its next fire');
      const env = await workflowEnvironment(ctx);
      const now = options.now !== undefined ? fixedClock(options.now, ctx.usageError.bind(ctx)) : undefined;
      const progress = workflowProgress(ctx);
      const interrupt = interruptSignal(ctx);
      let cycles: ScheduleCycle[];
      try {
        cycles = await runSchedule(
          env.workflows.map((workflow) => ({ workflow, settings: env.settings })),
          {
            storageRoot: env.storageRoot,
            runner: env.runner,
            once: options.once,
            catchUp: options.catchUp,
            waitTimeoutMs: options.wait,
            pollMs: pollFor(options.wait),
            signal: interrupt.signal,
            onEvent: progress.onEvent,
            ...(now ? { now } : {}),
            onSchedule: (e) => {
              if (e.type === 'due') {
                const d = e.due;
                ctx.logger.info({ workflow: d.workflow, due: d.due, inProgress: d.inProgress, nextFire: d.nextFire }, `${d.workflow}: ${d.due.length ? `due ${d.due.join(', ')}` : 'nothing due'}; next fire ${d.nextFire}`);
                if (d.missed) ctx.logger.warn({ workflow: d.workflow, missed: d.missed }, `${d.workflow}: ${d.missed.count} periods missed beyond --catch-up (${d.missed.from} .. ${d.missed.to}); run courier backfill ${d.workflow} --from ${d.missed.from} --to ${d.missed.to}`);
              } else if (e.type === 'sleeping') {
                ctx.logger.info({ until: e.until }, `sleeping until ${e.until}`);
              }
            },
          },
        );
      } finally {
        progress.stop();
        interrupt.dispose();
      }
      const ran = cycles.flatMap((c) => c.workflows.flatMap((w) => w.results.map((r) => ({ workflow: w.due.workflow, ...r }))));
      ctx.print({ cycles }, () =>
        cycles
          .map((c) =>
            [
              `schedule at ${c.at}:`,
              ...c.workflows.map((w) =>
                [`  ${w.due.workflow}: ${w.due.due.length ? `ran ${w.due.due.join(', ')}` : 'nothing due'}; next fire ${w.due.nextFire}`, ...w.results.map((r) => `    ${r.period}  ${r.state}${r.error ? `  ${r.error.split('\n')[0]}` : ''}`)].join('\n'),
              ),
            ].join('\n'),
          )
          .join('\n'),
      );
      const failed = ran.filter((r) => r.state === 'failed');
      if (failed.length > 0) throw new Error(`schedule: ${failed.length} run(s) failed: ${failed.map((r) => `${r.workflow} ${r.period}: ${(r.error ?? '').split('\n')[0]}`).join('; ')}`);
    });
};

function failedList(periods: readonly BackfillPeriodResult[]): string {
  return periods
    .filter((p) => p.state === 'failed')
    .map((p) => `${p.period} (${(p.error ?? '').split('\n')[0]})`)
    .join(', ');
}

/** A clock stuck at `iso`, for --now. */
function fixedClock(iso: string, usageError: (message: string) => never): () => Date {
  const t = Date.parse(iso);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(iso) || Number.isNaN(t)) usageError(`--now: expected an ISO time such as 2026-11-24T02:00:00Z, got "${iso}"`);
  return () => new Date(t);
}
