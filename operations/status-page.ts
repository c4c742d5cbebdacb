/**
 * The status page's markup: the whole document once (inline CSS and a few lines of script), then the content
 * fragment the script fetches again every refresh. A failed refresh keeps the last content and says so, so the page
 * keeps working while the status server itself restarts.
 */
import { escapeHtml, formatBytes, formatCount, formatDuration } from './html-text.ts';
import { PAGE_CSS, runSectionHtml } from './run-report.ts';
import type { StatusSnapshot } from './status-model.ts';

const rate = (v: number | undefined) => (v === undefined ? '<span class="muted">…</span>' : `${v.toFixed(1)}/s`);

function table(id: string, head: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="muted" id="${id}">${escapeHtml(empty)}</p>`;
  return `<table id="${id}"><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</table>`;
}
const td = (v: string) => `<td>${v}</td>`;
const tn = (v: string) => `<td class="n">${v}</td>`;

/** The content fragment: sources, runs, queues, syncers, deliveries, listeners. */
export function statusContentHtml(s: StatusSnapshot): string {
  const sources = table(
    'sources',
    ['process', 'endpoint', 'state', 'detail'],
    s.sources.map((x) => [
      td(escapeHtml(x.process)),
      td(`<code>${escapeHtml(x.url)}</code>`),
      `<td data-source="${escapeHtml(x.url)}" data-up="${x.up}">${x.up ? '<span class="up">up</span>' : '<span class="down">down</span>'}</td>`,
      td(escapeHtml(x.error ?? `scraped ${x.at}`)),
    ]),
    'no /metrics endpoints configured (status.metrics, syncer.metricsPort, listener.metricsPort)',
  );
  const runs = s.runs.length ? s.runs.map((r) => runSectionHtml(r)).join('') : '<p class="muted">no runs recorded yet</p>';
  const queues = table(
    'queues',
    ['partner', 'priority', 'depth', 'in flight', 'fill', 'drain'],
    s.queues.map((q) => [td(escapeHtml(q.partnerId)), td(escapeHtml(q.priority)), tn(formatCount(q.depth)), tn(formatCount(q.inFlight)), tn(rate(q.fillPerSecond)), tn(rate(q.drainPerSecond))]),
    'no bridge answering',
  );
  const sync = table(
    'sync',
    ['partner', 'sent', 'errors', 'delivered', 'dead letters', 'sent/s', 'errors/s'],
    s.sync.map((p) => [td(escapeHtml(p.partner)), tn(formatCount(p.sent)), tn(formatCount(p.errors)), tn(formatCount(p.delivered)), tn(formatCount(p.deadLetters)), tn(rate(p.sentPerSecond)), tn(rate(p.errorsPerSecond))]),
    'no syncer answering',
  );
  const deliveries = table(
    'deliveries',
    ['partner', 'last file', 'its bytes', 'delivered at', 'pending datasets', 'files sent', 'bytes sent', 'failures'],
    s.deliveries.map((d) => [
      td(escapeHtml(d.partner)),
      td(d.lastFile ? `<code>${escapeHtml(d.lastFile)}</code>` : '<span class="muted">none</span>'),
      tn(formatBytes(d.lastFileBytes)),
      td(escapeHtml(d.lastFileAt ?? d.lastDeliveryAt ?? 'never')),
      tn(formatCount(d.pendingDatasets)),
      tn(formatCount(d.files)),
      tn(formatBytes(d.bytes)),
      tn(formatCount(d.failures)),
    ]),
    'no deliveries in the ledger and no deliverer answering',
  );
  const listeners = table(
    'listeners',
    ['endpoint', 'ready', 'answers/s', 'p99', 'over 7 ms', 'answers', 'snapshot users'],
    s.listeners.map((l) => [
      td(`<code>${escapeHtml(l.url)}</code>`),
      td(l.ready ? '<span class="up">ready</span>' : '<span class="down">not ready</span>'),
      tn(rate(l.answersPerSecond)),
      tn(l.p99Ms === undefined ? '-' : `${l.p99Ms.toFixed(2)} ms`),
      tn(formatCount(l.over7ms)),
      tn(formatCount(l.answers)),
      tn(formatCount(l.snapshotUsers)),
    ]),
    'no listener answering',
  );
  const problems = s.historyProblems.length ? `<ul>${s.historyProblems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>` : '';
  return (
    `<p class="muted">store <code>${escapeHtml(s.storageRoot)}</code> · updated <span id="updated">${escapeHtml(s.at)}</span></p>` +
    `<h2>Sources</h2>${sources}<h2>Workflow runs</h2>${problems}<div id="runs">${runs}</div>` +
    `<h2>Queues (partner × priority)</h2>${queues}<h2>Streaming syncers</h2>${sync}<h2>File deliveries</h2>${deliveries}<h2>Listeners</h2>${listeners}`
  );
}

/** The full page: the first content inline, then a refresh of the fragment every `refreshSeconds`. */
export function statusPageHtml(s: StatusSnapshot, refreshSeconds: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>courier status</title><style>${PAGE_CSS}
#stale{display:none;color:#e03131}</style></head><body>
<h1>Courier status <span id="stale">(status server not answering; showing the last figures)</span></h1>
<div id="content">${statusContentHtml(s)}</div>
<p class="muted">Refreshes every ${refreshSeconds} s. Durations as ${escapeHtml(formatDuration(2.4))}; rates over the last refresh.</p>
<script>
setInterval(async () => {
  try {
    const res = await fetch('/fragment', { cache: 'no-store' });
    if (!res.ok) throw new Error(String(res.status));
    document.getElementById('content').innerHTML = await res.text();
    document.getElementById('stale').style.display = 'none';
  } catch {
    document.getElementById('stale').style.display = 'inline';
  }
}, ${refreshSeconds * 1000});
</script>
</body></html>
`;
}
