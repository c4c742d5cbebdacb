/** Courier's workflows by name, built for the settings the CLI maps from the config. */
import type { CourierWorkflowSettings } from './courier-settings.ts';
import { DAILY_REFRESH, dailyRefreshWorkflow } from './daily-refresh.ts';
import { MONTHLY_BATCH, monthlyBatchWorkflow } from './monthly-batch.ts';
import type { Workflow } from './workflow-definition.ts';

/** Builds each workflow: the batch formatter stages depend on which partners the settings list. */
export const WORKFLOW_BUILDERS: Readonly<Record<string, (settings: CourierWorkflowSettings) => Workflow<CourierWorkflowSettings>>> = {
  [DAILY_REFRESH]: dailyRefreshWorkflow,
  [MONTHLY_BATCH]: monthlyBatchWorkflow,
};

/** The names `courier run` accepts. */
export const WORKFLOW_NAMES: readonly string[] = Object.keys(WORKFLOW_BUILDERS);

/** The workflow called `name`, built for `settings`; throws naming the known workflows. */
export function courierWorkflow(name: string, settings: CourierWorkflowSettings): Workflow<CourierWorkflowSettings> {
  const build = WORKFLOW_BUILDERS[name];
  if (!build) throw new UnknownWorkflowError(`unknown workflow "${name}"; known: ${WORKFLOW_NAMES.join(', ')} (courier workflows lists them)`);
  return build(settings);
}

/** Every workflow, built for `settings`. */
export function courierWorkflows(settings: CourierWorkflowSettings): Workflow<CourierWorkflowSettings>[] {
  return WORKFLOW_NAMES.map((name) => courierWorkflow(name, settings));
}

/** A workflow name that is not registered. */
export class UnknownWorkflowError extends Error {
  override readonly name = 'UnknownWorkflowError';
}
