/**
 * `courier report`: one run told for an on-call person, as terminal text or as one self-contained HTML file (inline
 * CSS and SVG, no scripts, no links out) that opens from disk with no server.
 */
import { escapeHtml, formatBytes, formatCount, formatDuration } from './html-text.ts';
import type { RunFacts } from './run-facts.ts';
import { runTimelineSvg, STATE_COLOURS } from './run-timeline-svg.ts';

/** The terminal summary of a run. */
export function runReportText(run: RunFacts): string {
  const lines = [`${run.workflow} ${run.period}: ${run.state} in ${formatDuration(run.seconds)} (run ${run.runId}, started ${run.startedAt})`];
  if (run.error) lines.push(`error: ${run.error}`);
  lines.push('', 'stages:');
  const width = Math.max(...run.stages.map((s) => s.name.length), 5);
  lines.push(`  ${'stage'.padEnd(width)}  ${'state'.padEnd(9)}  ${'time'.padStart(9)}  ${'in'.padStart(10)}  ${'out'.padStart(10)}  ${'bad'.padStart(6)}`);
  for (const s of run.stages) {
    lines.push(
      `  ${s.name.padEnd(width)}  ${s.state.padEnd(9)}  ${formatDuration(s.seconds).padStart(9)}  ${formatCount(s.recordsIn).padStart(10)}  ${formatCount(s.recordsOut).padStart(10)}  ${formatCount(s.badRecords).padStart(6)}${s.attempts > 1 ? `  (${s.attempts} attempts)` : ''}`,
    );
    if (s.error) lines.push(`    error: ${s.error}`);
    if (s.reason && (s.state === 'skipped' || s.state === 'blocked')) lines.push(`    ${s.reason}`);
  }
  lines.push('', 'bad records by reason:');
  if (run.badRecords.length === 0) lines.push('  none');
  for (const b of run.badRecords) lines.push(`  ${b.stage}  ${b.reason}  ${formatCount(b.count)}`);
  if (run.quarantines.length) lines.push('  samples quarantined in:', ...run.quarantines.map((q) => `    ${q}`));
  lines.push('', 'requests per partner x priority:');
  if (run.requests.length === 0) lines.push('  none');
  for (const r of run.requests) lines.push(`  partner ${r.partnerId}  ${r.priority.padEnd(6)}  ${formatCount(r.rows)}`);
  lines.push('', 'batch files:');
  if (run.batchFiles.length === 0) lines.push('  none');
  for (const f of run.batchFiles) lines.push(`  ${f.file}  ${formatCount(f.rows)} rows  ${formatBytes(f.bytes)}  ${f.dataset}`);
  lines.push('', 'deliveries (hand-off to the deliverer and the bridge):');
  if (!run.handoff) lines.push('  none');
  else lines.push(`  outbox ${String(run.handoff['outbox'])}: ${formatCount(Number(run.handoff['requestRows'] ?? 0))} request rows for the bridge, ${formatCount(Number(run.handoff['batchFiles'] ?? 0))} batch file(s) for the deliverer`);
  lines.push('', 'counters:');
  for (const c of run.counters) lines.push(`  ${c.stage}  ${c.name}  ${formatCount(c.value)}`);
  return lines.join('\n');
}

/** Styles shared by the report and the status page (inline in both: neither loads anything). */
export const PAGE_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#212529;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin-top:24px}h3{font-size:14px;margin:12px 0 4px}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #e9ecef;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.state{display:inline-block;padding:0 6px;border-radius:3px;color:#fff}
.down{color:#fff;background:#e03131;padding:1px 6px;border-radius:3px}.up{color:#fff;background:#2f9e44;padding:1px 6px;border-radius:3px}
.muted{color:#868e96}.run{border:1px solid #dee2e6;border-radius:6px;padding:8px 12px;margin:10px 0}code{font-size:12px}`;

/** A coloured state badge. */
export function stateBadge(state: string): string {
  return `<span class="state" style="background:${STATE_COLOURS[state] ?? '#868e96'}">${escapeHtml(state)}</span>`;
}

/** A run's stage table (state, duration, records in and out, bad records) under its timeline. */
export function runSectionHtml(run: RunFacts, now?: Date): string {
  const rows = run.stages
    .map(
      (s) =>
        `<tr data-stage="${escapeHtml(s.name)}"><td>${escapeHtml(s.name)}</td><td>${stateBadge(s.state)}</td><td class="n">${formatDuration(s.seconds)}</td><td class="n">${formatCount(s.recordsIn)}</td><td class="n">${formatCount(s.recordsOut)}</td><td class="n">${formatCount(s.badRecords)}</td></tr>`,
    )
    .join('');
  return (
    `<div class="run" data-run="${escapeHtml(run.runId)}"><h3>${escapeHtml(run.workflow)} ${escapeHtml(run.period)} ${stateBadge(run.state)} <span class="muted">${formatDuration(run.seconds)} · run ${escapeHtml(run.runId)} · started ${escapeHtml(run.startedAt)}</span></h3>` +
    (run.error ? `<p>${escapeHtml(run.error)}</p>` : '') +
    runTimelineSvg(run, now) +
    `<table><tr><th>stage</th><th>state</th><th class="n">duration</th><th class="n">records in</th><th class="n">records out</th><th class="n">bad records</th></tr>${rows}</table></div>`
  );
}

/** The whole report as one HTML document with nothing to fetch. */
export function runReportHtml(run: RunFacts): string {
  const table = (head: string[], rows: string[][]) =>
    rows.length === 0 ? '<p class="muted">none</p>' : `<table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>courier report ${escapeHtml(run.workflow)} ${escapeHtml(run.period)} ${escapeHtml(run.runId)}</title>
<style>${PAGE_CSS}</style></head><body>
<h1>Run report: ${escapeHtml(run.workflow)} ${escapeHtml(run.period)}</h1>
${runSectionHtml(run)}
<h2>Bad records by reason</h2>
${table(['stage', 'reason', 'count'], run.badRecords.map((b) => [escapeHtml(b.stage), escapeHtml(b.reason), formatCount(b.count)]))}
${run.quarantines.length ? `<p>Samples quarantined in:</p><ul>${run.quarantines.map((q) => `<li><code>${escapeHtml(q)}</code></li>`).join('')}</ul>` : ''}
<h2>Requests per partner × priority</h2>
${table(['partner', 'priority', 'requests'], run.requests.map((r) => [String(r.partnerId), escapeHtml(r.priority), formatCount(r.rows)]))}
<h2>Batch files</h2>
${table(['file', 'rows', 'bytes', 'dataset'], run.batchFiles.map((f) => [escapeHtml(f.file), formatCount(f.rows), formatBytes(f.bytes), `<code>${escapeHtml(f.dataset)}</code>`]))}
<h2>Deliveries</h2>
${run.handoff ? `<p>Outbox <code>${escapeHtml(run.handoff['outbox'])}</code>: ${formatCount(Number(run.handoff['requestRows'] ?? 0))} request rows for the bridge, ${formatCount(Number(run.handoff['batchFiles'] ?? 0))} batch file(s) for the deliverer.</p>` : '<p class="muted">none</p>'}
<h2>Counters</h2>
${table(['stage', 'counter', 'value'], run.counters.map((c) => [escapeHtml(c.stage), escapeHtml(c.name), formatCount(c.value)]))}
<p class="muted">Written by courier report at ${new Date().toISOString()}.</p>
</body></html>
`;
}
