/**
 * Resolving a workflow for one period: each stage's input and output datasets as URIs, which are complete now,
 * and what a run would do. `planWorkflow` is the dry run: it reads markers and nothing else, and writes nothing.
 */
import { fileSystemFor, isComplete, joinUri, toStorageUri } from '../storage/index.ts';
import type { PeriodContext, Stage, Workflow } from './workflow-definition.ts';
import { periodOf, type Period } from './workflow-period.ts';

/** A stage's inputs and outputs for one period. */
export interface ResolvedStage<S> {
  readonly stage: Stage<S>;
  readonly inputs: readonly ResolvedDataset[];
  readonly outputs: readonly ResolvedDataset[];
}

/** A dataset path as the stage wrote it and as a URI; `producedBy` names the upstream stage that outputs it. */
export interface ResolvedDataset {
  readonly path: string;
  readonly uri: string;
  readonly producedBy?: string;
}

/** A dataset of the plan, with whether it is complete (has `_SUCCESS`) now. */
export interface PlannedDataset extends ResolvedDataset {
  readonly complete: boolean;
}

/** What a run would do with one stage. */
export interface PlannedStage {
  readonly name: string;
  readonly description?: string;
  readonly dependsOn: readonly string[];
  readonly dependsOnPreviousPeriod: boolean;
  readonly inputs: readonly PlannedDataset[];
  readonly outputs: readonly PlannedDataset[];
  readonly action: 'run' | 'skip';
  readonly reason: string;
}

/** The dry run's answer: stages in the order they would run. */
export interface WorkflowPlan {
  readonly kind: 'plan';
  readonly workflow: string;
  readonly period: string;
  readonly date: string;
  readonly storageRoot: string;
  readonly force: boolean;
  readonly stages: readonly PlannedStage[];
}

/** The period context stages see in `inputs` and `outputs`. */
export function periodContext<S>(workflow: Workflow<S>, period: Period, settings: S): PeriodContext<S> {
  return { workflow: workflow.name, period: period.key, date: period.date, month: period.month, days: period.days, settings };
}

/** A stage's dataset path as a URI under the storage root; absolute local paths and `..` are refused. */
export function datasetUri(storageRoot: string, path: string, where: string): string {
  if (typeof path !== 'string' || path.trim() === '') throw new Error(`${where}: expected a dataset path, got ${JSON.stringify(path)}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return toStorageUri(path);
  if (path.startsWith('/') || path.split('/').includes('..')) {
    throw new Error(`${where}: dataset path ${JSON.stringify(path)} must be relative to the storage root (no leading /, no ..) or a full URI`);
  }
  return joinUri(storageRoot, path);
}

/** Resolves every stage's inputs and outputs for `period`; an inputs/outputs function that throws is named. */
export function resolveStages<S>(workflow: Workflow<S>, period: Period, settings: S, storageRoot: string): ResolvedStage<S>[] {
  const ctx = periodContext(workflow, period, settings);
  const producers = new Map<string, string>();
  const call = (stage: Stage<S>, what: 'inputs' | 'outputs'): string[] => {
    const where = `workflow "${workflow.name}" stage "${stage.name}" ${what} for ${period.key}`;
    let paths: readonly string[];
    try {
      paths = what === 'inputs' ? (stage.inputs?.(ctx) ?? []) : stage.outputs(ctx);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
    }
    if (!Array.isArray(paths)) throw new Error(`${where}: expected an array of dataset paths, got ${typeof paths}`);
    return paths.map((p) => datasetUri(storageRoot, p, where));
  };
  const resolved = workflow.stages.map((stage) => {
    const outputs = call(stage, 'outputs');
    const inputs = call(stage, 'inputs');
    return { stage, inputUris: inputs, outputUris: outputs };
  });
  for (const r of resolved) for (const uri of r.outputUris) producers.set(uri, r.stage.name);
  return resolved.map(({ stage, inputUris, outputUris }) => ({
    stage,
    inputs: inputUris.map((uri) => {
      const producer = producers.get(uri);
      const dataset = { path: relativePath(storageRoot, uri), uri };
      return producer !== undefined && producer !== stage.name ? { ...dataset, producedBy: producer } : dataset;
    }),
    outputs: outputUris.map((uri) => ({ path: relativePath(storageRoot, uri), uri })),
  }));
}

function relativePath(storageRoot: string, uri: string): string {
  return uri.startsWith(`${storageRoot}/`) ? uri.slice(storageRoot.length + 1) : uri;
}

/** Whether every dataset has its `_SUCCESS` marker. */
export async function completeness(uris: readonly string[]): Promise<boolean[]> {
  return Promise.all(uris.map((uri) => isComplete(fileSystemFor(uri), uri)));
}

/** The dry run: resolved paths, what is complete now, and which stages would run or be skipped. Writes nothing. */
export async function planWorkflow<S>(
  workflow: Workflow<S>,
  options: { date: string; storageRoot: string; settings: S; force?: boolean },
): Promise<WorkflowPlan> {
  const storageRoot = toStorageUri(options.storageRoot);
  const period = periodOf(workflow.period, options.date);
  const force = options.force ?? false;
  const willRun = new Set<string>();
  const stages: PlannedStage[] = [];
  for (const r of resolveStages(workflow, period, options.settings, storageRoot)) {
    const inputsComplete = await completeness(r.inputs.map((d) => d.uri));
    const outputsComplete = await completeness(r.outputs.map((d) => d.uri));
    const upstreamRuns = r.stage.dependsOn.filter((d) => willRun.has(d));
    const decision = skipDecision(force, outputsComplete, upstreamRuns);
    if (decision.action === 'run') willRun.add(r.stage.name);
    stages.push({
      name: r.stage.name,
      ...(r.stage.description !== undefined ? { description: r.stage.description } : {}),
      dependsOn: r.stage.dependsOn,
      dependsOnPreviousPeriod: r.stage.dependsOnPreviousPeriod,
      inputs: r.inputs.map((d, i) => ({ ...d, complete: inputsComplete[i]! })),
      outputs: r.outputs.map((d, i) => ({ ...d, complete: outputsComplete[i]! })),
      ...decision,
    });
  }
  return { kind: 'plan', workflow: workflow.name, period: period.key, date: period.date, storageRoot, force, stages };
}

/**
 * Whether a stage runs: when forced, when any output lacks `_SUCCESS`, when it has no outputs, or when a stage it
 * depends on ran in this run (its inputs were just rewritten, so its outputs may be stale). Otherwise it is skipped.
 */
export function skipDecision(force: boolean, outputsComplete: readonly boolean[], upstreamRan: readonly string[]): { action: 'run' | 'skip'; reason: string } {
  if (force) return { action: 'run', reason: 'forced (--force)' };
  if (outputsComplete.length === 0) return { action: 'run', reason: 'it declares no outputs, so nothing marks it done' };
  const missing = outputsComplete.filter((c) => !c).length;
  if (missing > 0) return { action: 'run', reason: `${missing} of ${outputsComplete.length} outputs not complete` };
  if (upstreamRan.length > 0) return { action: 'run', reason: `outputs complete, but ${upstreamRan.map((s) => `"${s}"`).join(', ')} ran before it in this run` };
  return { action: 'skip', reason: 'every output is already complete (_SUCCESS)' };
}
