// Plain-text renderings of workflow plans, results and history, for people at a terminal (--json prints the
// objects themselves).
import {
  formatDuration,
  runLiveness,
  type BackfillResult,
  type RunRecord,
  type StageRecord,
  type WorkflowPlan,
  type WorkflowRunResult,
} from '../workflows/index.ts';

const firstLine = (text: string | undefined): string => (text ?? '').split('\n')[0] ?? '';
const seconds = (s: number | undefined): string => (s === undefined ? '' : formatDuration(s * 1000));

/** The dry run: stages in order, what each would do, and every resolved input and output. */
export function planText(plan: WorkflowPlan): string {
  const lines = [`${plan.workflow} ${plan.period}: dry run, nothing submitted (storage ${plan.storageRoot}${plan.force ? ', --force' : ''})`];
  plan.stages.forEach((s, i) => {
    lines.push(`${i + 1}. ${s.name}  ${s.action === 'run' ? 'RUN' : 'SKIP'}: ${s.reason}${s.dependsOn.length ? `  (after ${s.dependsOn.join(', ')})` : ''}`);
    for (const d of s.inputs) lines.push(`     in   ${d.uri}  ${d.complete ? 'complete' : d.producedBy ? `not yet (made by ${d.producedBy})` : 'MISSING'}`);
    for (const d of s.outputs) lines.push(`     out  ${d.uri}  ${d.complete ? 'complete' : 'not complete'}`);
  });
  return lines.join('\n');
}

/** A stage's line; a failed stage's error follows, indented, up to eight lines (missing paths, top errors). */
function stageLine(s: StageRecord, width: number): string {
  const attempts = s.attempts > 1 ? `  ${s.attempts} attempts` : '';
  const detail = s.state === 'skipped' || s.state === 'blocked' ? `  (${s.reason ?? ''})` : s.state === 'waiting' ? `  (${(s.waitingFor ?? []).join(', ')})` : '';
  const line = `  ${s.name.padEnd(width)}  ${s.state.padEnd(9)}  ${seconds(s.seconds).padStart(10)}${attempts}${detail}`;
  if (s.state !== 'failed' || !s.error) return line;
  const lines = s.error.message.split('\n');
  const shown = lines.slice(0, 8).map((l) => `      ${l}`);
  if (lines.length > 8) shown.push(`      … (${lines.length - 8} more lines in the run history)`);
  return [line, ...shown].join('\n');
}

/** Counters of every stage, one line per counter: `stage  group.name  n`. */
function countersText(stages: readonly StageRecord[]): string[] {
  const lines: string[] = [];
  for (const s of stages) {
    for (const [group, names] of Object.entries(s.counters ?? {})) {
      for (const [name, n] of Object.entries(names)) lines.push(`  ${s.name}  ${group}.${name}  ${n.toLocaleString('en-US')}`);
    }
  }
  return lines.length ? ['counters:', ...lines] : [];
}

const factText = (v: unknown): string => (typeof v === 'number' ? v.toLocaleString('en-US') : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * What each stage produced, from its summary: scalar facts on one line, lists of records (requests per partner
 * and priority, files) one per line. Generic, so a new stage's summary shows without changes here.
 */
function producedText(stages: readonly StageRecord[]): string[] {
  const lines: string[] = [];
  for (const s of stages) {
    if (!s.summary || s.state !== 'succeeded') continue;
    const facts: string[] = [];
    const lists: string[] = [];
    for (const [key, value] of Object.entries(s.summary)) {
      if (Array.isArray(value)) {
        if (value.length === 0) continue;
        lists.push(`    ${key}:`);
        for (const item of value) {
          const shown = item !== null && typeof item === 'object' ? Object.entries(item).map(([k, v]) => `${k} ${factText(v)}`).join('  ') : factText(item);
          lists.push(`      ${shown}`);
        }
      } else if (value !== null && value !== false && typeof value !== 'object') {
        facts.push(`${key} ${factText(value)}`);
      }
    }
    lines.push(`  ${s.name}: ${facts.join(', ')}`, ...lists);
  }
  return lines.length ? ['produced:', ...lines] : [];
}

/** A run's outcome: one line per stage, what the stages produced, then the counters. */
export function runResultText(r: WorkflowRunResult): string {
  const width = Math.max(...r.stages.map((s) => s.name.length));
  return [
    `${r.workflow} ${r.period}: ${r.state} in ${formatDuration(r.seconds * 1000)} (run ${r.runId})`,
    ...r.stages.map((s) => stageLine(s, width)),
    ...producedText(r.stages),
    ...countersText(r.stages),
    `history: ${r.historyUri}`,
  ].join('\n');
}

/** A backfill's outcome, period by period. */
export function backfillText(r: BackfillResult): string {
  return [
    `${r.workflow} ${r.from} .. ${r.to}: ${r.succeeded} succeeded, ${r.skipped} skipped (already done), ${r.failed} failed`,
    ...r.periods.map((p) => `  ${p.period}  ${p.state.padEnd(9)}  ${seconds(p.seconds).padStart(10)}${p.error ? `  ${firstLine(p.error)}` : ''}`),
  ].join('\n');
}

/** The state to show: a run recorded as running whose process is gone on this host was killed. */
export function shownState(r: RunRecord): string {
  return r.state === 'running' && runLiveness(r) === 'dead' ? 'killed' : r.state;
}

/** Run history for on-call: newest first, with the stages that did not succeed (all stages with `detail`). */
export function runsText(runs: readonly RunRecord[], detail: boolean): string {
  if (runs.length === 0) return 'no runs recorded';
  const lines: string[] = [];
  for (const r of runs) {
    const state = shownState(r);
    const took = r.seconds !== undefined ? formatDuration(r.seconds * 1000) : `running for ${formatDuration(Date.now() - Date.parse(r.startedAt))}`;
    lines.push(`${r.workflow.padEnd(14)} ${r.period.padEnd(10)}  ${state.padEnd(9)}  started ${r.startedAt}  ${took}  run ${r.runId}${state === 'killed' ? `  (process ${r.pid} on ${r.host} is gone; run again to resume)` : ''}`);
    const width = Math.max(...r.stages.map((s) => s.name.length));
    for (const s of r.stages) if (detail || (s.state !== 'succeeded' && s.state !== 'skipped')) lines.push(`  ${stageLine(s, width)}`);
    if (detail) lines.push(...countersText(r.stages).map((l) => `  ${l}`));
  }
  return lines.join('\n');
}
