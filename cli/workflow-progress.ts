// What a workflow run shows while it runs: on a terminal, one progress bar per engine step (records in and out,
// MB/s) with stage events printed above the bars; elsewhere (a pipe, --json, a scheduler's log) log lines.
import cliProgress from 'cli-progress';
import type { StepProgress } from '../engine/index.ts';
import { formatDuration, type WorkflowEvent } from '../workflows/index.ts';
import type { CliContext } from './cli-context.ts';

const LOG_EVERY_MS = 5000;

/** Shows workflow events; `stop()` removes the bars before the summary is printed. */
export interface WorkflowProgress {
  readonly onEvent: (event: WorkflowEvent) => void;
  stop(): void;
}

/** Bars when stderr is a terminal and output is for people; log lines otherwise. */
export function workflowProgress(ctx: CliContext): WorkflowProgress {
  const bars = ctx.io.stderr.isTTY === true && !ctx.options.json && ctx.options.logLevel !== 'silent';
  return bars ? new BarProgress(ctx) : new LogProgress(ctx);
}

/** One line per stage event, for logs and terminals alike. */
function eventLine(e: WorkflowEvent): string | undefined {
  const where = `${e.workflow} ${e.period}`;
  switch (e.type) {
    case 'run-started':
      return `${where}: run ${e.runId} started (history ${e.historyUri})`;
    case 'stage-waiting':
      return `${where}: ${e.stage} waiting for ${e.waitingFor.join(', ')}`;
    case 'stage-started':
      return `${where}: ${e.stage} started${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}${e.overwrite ? ', replacing its complete outputs' : ''}`;
    case 'stage-retry':
      return `${where}: ${e.stage} attempt ${e.attempt} failed (${e.error.message.split('\n')[0]}); retrying in ${formatDuration(e.delayMs)}`;
    case 'stage-finished': {
      const r = e.record;
      const took = r.seconds !== undefined ? ` in ${formatDuration(r.seconds * 1000)}` : '';
      const why = r.state === 'failed' ? `: ${r.error?.message.split('\n')[0] ?? ''}` : r.state === 'skipped' || r.state === 'blocked' ? ` (${r.reason ?? ''})` : '';
      return `${where}: ${e.stage} ${r.state}${took}${why}`;
    }
    case 'run-finished':
      return `${where}: ${e.result.state} in ${formatDuration(e.result.seconds * 1000)}`;
    case 'stage-progress':
      return undefined;
  }
}

function mbPerSecond(p: StepProgress): string {
  return p.seconds > 0 ? (p.bytesIn / 1e6 / p.seconds).toFixed(1) : '0.0';
}

class BarProgress implements WorkflowProgress {
  private readonly multi: cliProgress.MultiBar;
  private readonly bars = new Map<string, cliProgress.SingleBar>();

  constructor(ctx: CliContext) {
    this.multi = new cliProgress.MultiBar(
      {
        stream: ctx.io.stderr,
        format: '{name} [{bar}] {percentage}% | {value}/{total} in | {out} out | {mbs} MB/s | {phase}',
        hideCursor: true,
        fps: 8,
        clearOnComplete: false,
        formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? v.toLocaleString('en-US') : String(v)),
      },
      cliProgress.Presets.shades_classic,
    );
  }

  readonly onEvent = (e: WorkflowEvent): void => {
    if (e.type !== 'stage-progress') {
      const line = eventLine(e);
      if (line) this.multi.log(`${line}\n`);
      return;
    }
    const p = e.progress;
    const key = `${e.period}/${e.stage}/${p.job}/${p.step}`;
    let bar = this.bars.get(key);
    const payload = { out: p.recordsOut.toLocaleString('en-US'), mbs: mbPerSecond(p), phase: p.phase };
    if (!bar) {
      const name = `${e.stage}${p.stepCount > 1 ? ` ${p.step}` : ''}`.padEnd(28).slice(0, 28);
      bar = this.multi.create(Math.max(p.recordsInTotal, 1), 0, { name, ...payload });
      this.bars.set(key, bar);
    }
    bar.update(p.phase === 'done' ? Math.max(p.recordsInTotal, 1) : p.recordsIn, payload);
  };

  stop(): void {
    this.multi.stop();
  }
}

class LogProgress implements WorkflowProgress {
  private readonly lastLog = new Map<string, number>();

  constructor(private readonly ctx: CliContext) {}

  readonly onEvent = (e: WorkflowEvent): void => {
    const log = this.ctx.logger;
    if (e.type !== 'stage-progress') {
      const line = eventLine(e);
      const fields = { workflow: e.workflow, period: e.period, runId: e.runId, ...('stage' in e ? { stage: e.stage } : {}) };
      const failed = (e.type === 'stage-finished' && e.record.state === 'failed') || (e.type === 'run-finished' && e.result.state === 'failed');
      if (line) (failed ? log.error.bind(log) : e.type === 'stage-retry' ? log.warn.bind(log) : log.info.bind(log))(fields, line);
      return;
    }
    const p = e.progress;
    const key = `${e.period}/${e.stage}/${p.job}/${p.step}`;
    const now = performance.now();
    if (p.phase !== 'done' && now - (this.lastLog.get(key) ?? 0) < LOG_EVERY_MS) return;
    this.lastLog.set(key, now);
    log.info(
      { workflow: e.workflow, period: e.period, runId: e.runId, stage: e.stage, job: p.job, step: p.step, phase: p.phase, recordsIn: p.recordsIn, recordsInTotal: p.recordsInTotal, recordsOut: p.recordsOut, mbPerSecond: Number(mbPerSecond(p)) },
      `${e.stage} ${p.step}: ${p.recordsIn.toLocaleString('en-US')}/${p.recordsInTotal.toLocaleString('en-US')} records in, ${p.recordsOut.toLocaleString('en-US')} out, ${mbPerSecond(p)} MB/s`,
    );
  };

  stop(): void {}
}
