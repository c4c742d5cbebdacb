// `courier runs` and `courier workflows`: what ran (for on-call: states, durations, failures) and what is
// scheduled (cron, time zone, next fire).
import { Option } from 'commander';
import { listRuns, nextFireAfter, toLocalTime, type RunRecord } from '../../workflows/index.ts';
import type { RegisterCommands } from '../cli-context.ts';
import { namedWorkflow, wholeNumber, workflowEnvironment } from '../workflow-environment.ts';
import { runsText, shownState } from '../workflow-text.ts';

interface RunsOptions {
  date?: string;
  limit: number;
}

/** Registers `courier runs` and `courier workflows`. */
export const registerWorkflowHistoryCommands: RegisterCommands = (program, context) => {
  program
    .command('runs')
    .description('run history from the store, newest first: state, duration, failed stages and their errors (all stages with --date)')
    .argument('[workflow]', 'only this workflow')
    .option('--date <period>', 'only runs for this day (or month, YYYY-MM)')
    .addOption(new Option('--limit <n>', 'runs shown at most').argParser(wholeNumber(1)).default(20))
    .action(async (name: string | undefined, options: RunsOptions) => {
      const ctx = context();
      const env = await workflowEnvironment(ctx);
      if (name !== undefined) namedWorkflow(ctx, env, name);
      if (options.date !== undefined && !/^\d{4}-\d{2}(-\d{2})?$/.test(options.date)) ctx.usageError(`--date: expected YYYY-MM-DD or YYYY-MM, got "${options.date}"`);
      const { runs, problems } = await listRuns(env.storageRoot, name !== undefined ? { workflow: name } : {});
      const date = options.date;
      const shown = runs.filter((r: RunRecord) => date === undefined || r.period === date || r.period === date.slice(0, 7)).slice(0, options.limit);
      for (const p of problems) ctx.logger.warn({ uri: p.uri }, p.problem);
      ctx.print({ runs: shown.map((r) => ({ ...r, shownState: shownState(r) })), problems }, () => runsText(shown, date !== undefined));
    });

  program
    .command('workflows')
    .description('list the workflows: period, schedule (cron and time zone), next fire time, stages')
    .action(async () => {
      const ctx = context();
      const env = await workflowEnvironment(ctx);
      const now = new Date();
      const list = env.workflows.map((w) => {
        const next = w.schedule ? nextFireAfter(w.schedule, now) : undefined;
        return {
          name: w.name,
          description: w.description,
          period: w.period,
          schedule: w.schedule ?? null,
          nextFire: next?.toISOString() ?? null,
          nextFireLocal: next && w.schedule ? toLocalTime(next, w.schedule.timezone) : null,
          stages: w.stages.map((s) => ({ name: s.name, dependsOn: s.dependsOn })),
        };
      });
      ctx.print({ workflows: list }, () =>
        list
          .map((w) =>
            [
              `${w.name} (${w.period}): ${w.description}`,
              `  schedule  ${w.schedule ? `${w.schedule.cron} ${w.schedule.timezone}; next fire ${w.nextFireLocal} (${w.nextFire})` : 'none: run it with courier run'}`,
              `  stages    ${w.stages.map((s) => (s.dependsOn.length ? `${s.name} (after ${s.dependsOn.join(', ')})` : s.name)).join(', ')}`,
            ].join('\n'),
          )
          .join('\n'),
      );
    });
};
