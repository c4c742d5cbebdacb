// What the workflow verbs share: the config mapped onto a storage root, workflow settings and an engine runner,
// the workflow named on the command line, and option parsers for periods and durations.
import { InvalidArgumentError } from 'commander';
import type { EngineKind } from '../config/index.ts';
import type { JobRunner } from '../engine/index.ts';
import {
  courierWorkflow,
  courierWorkflows,
  periodOf,
  periodOfFire,
  PeriodError,
  UnknownWorkflowError,
  type CourierWorkflowSettings,
  type Workflow,
} from '../workflows/index.ts';
import type { CliContext } from './cli-context.ts';
import { engineRunner } from './engine-runner.ts';
import { workflowSettings } from './workflow-settings.ts';

/** Where and with what workflows run, from the config. */
export interface WorkflowEnvironment {
  readonly storageRoot: string;
  readonly settings: CourierWorkflowSettings;
  readonly runner: JobRunner;
  readonly workflows: readonly Workflow<CourierWorkflowSettings>[];
}

/** Loads the config and builds what the workflow verbs need. */
export async function workflowEnvironment(ctx: CliContext, engine?: EngineKind): Promise<WorkflowEnvironment> {
  const { file, config } = await ctx.loadConfig();
  const settings = workflowSettings(config);
  return { storageRoot: config.storage.root, settings, runner: engineRunner(config, file, engine), workflows: courierWorkflows(settings) };
}

/** The workflow called `name`; an unknown name is a usage error listing the known ones. */
export function namedWorkflow(ctx: CliContext, env: WorkflowEnvironment, name: string): Workflow<CourierWorkflowSettings> {
  try {
    return courierWorkflow(name, env.settings);
  } catch (e) {
    if (e instanceof UnknownWorkflowError) ctx.usageError(e.message);
    throw e;
  }
}

/** The period `value` names for `workflow` (default: the one its last fire would process); a bad value is a usage error. */
export function periodArgument<S>(ctx: CliContext, workflow: Workflow<S>, value: string | undefined, option = '--date'): string {
  if (value === undefined) return periodOfFire(workflow.period, new Date(), workflow.schedule?.timezone ?? 'UTC').key;
  try {
    return periodOf(workflow.period, value).key;
  } catch (e) {
    if (e instanceof PeriodError) ctx.usageError(`${option}: ${e.message} (${workflow.name} is ${workflow.period})`);
    throw e;
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A commander parser of durations: `0`, `500ms`, `90s`, `15m`, `2h`, `1h30m`, `1d`. */
export function duration(value: string): number {
  const text = value.trim();
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new InvalidArgumentError(`expected a duration such as 0, 90s, 15m, 2h or 1h30m, got "${value}".`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

/** A commander parser of whole numbers from `min`. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || !/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number from ${min}, got "${value}".`);
    return n;
  };
}

/** How often markers are polled during a wait: a twentieth of it, between 100 ms and 30 s. */
export function pollFor(waitMs: number): number {
  return Math.min(30_000, Math.max(100, Math.round(waitMs / 20)));
}

/** An AbortSignal tripped by the first SIGINT or SIGTERM; a second one exits at once (130). `dispose` unhooks. */
export function interruptSignal(ctx: CliContext): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    ctx.logger.warn({ signal: name }, `${name}: no new stages or retries start; running stages finish (press Ctrl-C again to quit now)`);
    controller.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
