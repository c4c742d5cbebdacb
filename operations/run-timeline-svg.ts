/**
 * A run's stages as a timeline chart in plain SVG: one row per stage, a bar from its start to its end coloured by
 * state, the time spent waiting for inputs drawn before it, and an axis in seconds from the run's start. Plain SVG
 * (no charting library) so the same markup works on the status page, in the self-contained HTML report opened
 * from file://, and offline (see docs/operations.md for the choice).
 */
import { escapeHtml, formatDuration } from './html-text.ts';
import type { RunFacts } from './run-facts.ts';

/** Colours by stage state, shared with the page's legend. */
export const STATE_COLOURS: Record<string, string> = {
  succeeded: '#2f9e44',
  skipped: '#adb5bd',
  running: '#1c7ed6',
  failed: '#e03131',
  blocked: '#f08c00',
  waiting: '#fab005',
  pending: '#dee2e6',
};

const ROW = 26;
const LABEL = 170;
const WIDTH = 760;
const AXIS = 22;

/** The SVG timeline of one run (`now` ends the bars of stages still running). */
export function runTimelineSvg(run: RunFacts, now: Date = new Date()): string {
  const t0 = Date.parse(run.startedAt);
  const ends = run.stages.map((s) => (s.finishedAt ? Date.parse(s.finishedAt) : s.startedAt ? now.getTime() : t0));
  const t1 = Math.max(t0 + 1, run.finishedAt ? Date.parse(run.finishedAt) : now.getTime(), ...ends);
  const span = (t1 - t0) / 1000;
  const plot = WIDTH - LABEL - 90;
  const x = (ms: number) => LABEL + ((ms - t0) / (t1 - t0)) * plot;
  const height = run.stages.length * ROW + AXIS + 6;
  const rows = run.stages.map((s, i) => {
    const y = i * ROW + 4;
    const colour = STATE_COLOURS[s.state] ?? '#868e96';
    const label = `<text x="${LABEL - 8}" y="${y + 15}" text-anchor="end" class="stage-name">${escapeHtml(s.name)}</text>`;
    if (!s.startedAt) {
      return `${label}<text x="${LABEL + 4}" y="${y + 15}" class="stage-note" data-stage="${escapeHtml(s.name)}">${escapeHtml(s.state)}${s.reason ? `: ${escapeHtml(s.reason)}` : ''}</text>`;
    }
    const start = Date.parse(s.startedAt);
    const end = ends[i] ?? start;
    const waitedMs = (s.waitedSeconds ?? 0) * 1000;
    const waited = waitedMs > 0 ? `<rect x="${x(start - waitedMs).toFixed(1)}" y="${y + 6}" width="${Math.max(1, x(start) - x(start - waitedMs)).toFixed(1)}" height="6" fill="${STATE_COLOURS['waiting']}" opacity="0.6"><title>waited ${formatDuration(s.waitedSeconds)}</title></rect>` : '';
    const width = Math.max(2, x(end) - x(start));
    return (
      `${label}${waited}<rect class="stage-bar" data-stage="${escapeHtml(s.name)}" data-state="${escapeHtml(s.state)}" x="${x(start).toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="18" rx="3" fill="${colour}">` +
      `<title>${escapeHtml(s.name)}: ${escapeHtml(s.state)}, ${formatDuration(s.seconds)}</title></rect>` +
      `<text x="${(x(start) + width + 4).toFixed(1)}" y="${y + 14}" class="stage-time">${formatDuration(s.seconds)}</text>`
    );
  });
  const axisY = run.stages.length * ROW + 8;
  const ticks = axisTicks(span).map((t) => {
    const tx = LABEL + (t / span) * plot;
    return `<line x1="${tx.toFixed(1)}" y1="2" x2="${tx.toFixed(1)}" y2="${axisY}" class="grid"/><text x="${tx.toFixed(1)}" y="${axisY + 13}" text-anchor="middle" class="tick">${formatDuration(t)}</text>`;
  });
  return (
    `<svg class="timeline" data-run="${escapeHtml(run.runId)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="stages of run ${escapeHtml(run.runId)}">` +
    `<style>.stage-name,.stage-time,.stage-note,.tick{font:12px sans-serif;fill:#343a40}.tick{fill:#868e96;font-size:10px}.grid{stroke:#e9ecef}</style>` +
    ticks.join('') +
    rows.join('') +
    `</svg>`
  );
}

/** Axis marks in seconds: multiples of a round step (1, 2 or 5 × 10^k) from 0 to `span`, three to six of them. */
export function axisTicks(span: number): number[] {
  const magnitude = 10 ** Math.floor(Math.log10(span / 5));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => span / s <= 5 * (1 + 1e-9)) ?? 10 * magnitude;
  const out: number[] = [];
  // Rounded so 0.1 + 0.2 style sums print as 0.3 s.
  for (let t = 0; t <= span + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}
