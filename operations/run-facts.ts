/**
 * What a run did, read from its history record: per stage the records in and out and the bad records, bad records
 * by reason with the quarantine directories, requests per partner and priority, batch files and the hand-off. The
 * status page, `courier report` and its HTML file all show these, so they are computed once, here.
 *
 * Records in/out come from the counters and summaries the stages already write (no new bookkeeping): in = the
 * refresher's extracted log lines (`*.extract.*`) or the formatter's `batch.requests`; out = `requestRows` or `rows`
 * of the summary; bad = `*.rejected.*` counters plus `batch.badRequests`.
 */
import type { RunRecord, StageRecord } from '../workflows/index.ts';

/** One stage as the report shows it. */
export interface StageFacts {
  readonly name: string;
  readonly state: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly seconds?: number;
  readonly waitedSeconds?: number;
  readonly attempts: number;
  readonly recordsIn?: number;
  readonly recordsOut?: number;
  readonly badRecords: number;
  readonly error?: string;
  readonly reason?: string;
}

/** Bad records of one reason in one stage. */
export interface BadRecordReason {
  readonly stage: string;
  readonly reason: string;
  readonly count: number;
}

/** Requests made for one partner and priority. */
export interface RequestCount {
  readonly partnerId: number;
  readonly priority: string;
  readonly rows: number;
}

/** A batch file the run wrote. */
export interface BatchFileFact {
  readonly stage: string;
  readonly dataset: string;
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
}

/** Everything the report tells about one run. */
export interface RunFacts {
  readonly workflow: string;
  readonly period: string;
  readonly runId: string;
  readonly state: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly seconds?: number;
  readonly error?: string;
  readonly stages: readonly StageFacts[];
  readonly badRecords: readonly BadRecordReason[];
  readonly quarantines: readonly string[];
  readonly requests: readonly RequestCount[];
  readonly batchFiles: readonly BatchFileFact[];
  /** The hand-off stage's summary (outbox, request rows, batch files), when there is one. */
  readonly handoff?: Record<string, unknown>;
  /** Every counter, `stage group.name` → value. */
  readonly counters: readonly { stage: string; name: string; value: number }[];
}

/** The facts of one recorded run. */
export function runFacts(run: RunRecord): RunFacts {
  const badRecords: BadRecordReason[] = [];
  const quarantines: string[] = [];
  const requests: RequestCount[] = [];
  const batchFiles: BatchFileFact[] = [];
  const counters: { stage: string; name: string; value: number }[] = [];
  let handoff: Record<string, unknown> | undefined;
  const stages = run.stages.map((stage): StageFacts => {
    for (const [group, values] of Object.entries(stage.counters ?? {})) {
      for (const [name, value] of Object.entries(values as Record<string, number>)) {
        counters.push({ stage: stage.name, name: `${group}.${name}`, value });
        if (group.endsWith('rejected') && value > 0) badRecords.push({ stage: stage.name, reason: `${group}.${name}`, count: value });
        if (group === 'batch' && name === 'badRequests' && value > 0) badRecords.push({ stage: stage.name, reason: 'batch.badRequests', count: value });
      }
    }
    const summary = stage.summary ?? {};
    for (const q of asArray(summary['quarantines'])) if (typeof q === 'string') quarantines.push(q);
    for (const r of asArray(summary['requests'])) {
      if (isRecord(r) && typeof r['partnerId'] === 'number') requests.push({ partnerId: r['partnerId'], priority: String(r['priority']), rows: Number(r['rows'] ?? 0) });
    }
    if (typeof summary['file'] === 'string' && typeof summary['dataset'] === 'string') {
      batchFiles.push({ stage: stage.name, dataset: summary['dataset'], file: summary['file'], rows: Number(summary['rows'] ?? 0), bytes: Number(summary['bytes'] ?? 0) });
    }
    if (typeof summary['outbox'] === 'string') handoff = summary;
    return {
      name: stage.name,
      state: stage.state,
      ...(stage.startedAt !== undefined && { startedAt: stage.startedAt }),
      ...(stage.finishedAt !== undefined && { finishedAt: stage.finishedAt }),
      ...(stage.seconds !== undefined && { seconds: stage.seconds }),
      ...(stage.waitedSeconds !== undefined && { waitedSeconds: stage.waitedSeconds }),
      attempts: stage.attempts,
      ...flow(stage),
      badRecords: badRecords.filter((b) => b.stage === stage.name).reduce((n, b) => n + b.count, 0),
      ...(stage.error !== undefined && { error: `${stage.error.name}: ${stage.error.message}` }),
      ...(stage.reason !== undefined && { reason: stage.reason }),
    };
  });
  return {
    workflow: run.workflow,
    period: run.period,
    runId: run.runId,
    state: run.state,
    startedAt: run.startedAt,
    ...(run.finishedAt !== undefined && { finishedAt: run.finishedAt }),
    ...(run.seconds !== undefined && { seconds: run.seconds }),
    ...(run.error !== undefined && { error: run.error }),
    stages,
    badRecords,
    quarantines,
    requests,
    batchFiles,
    ...(handoff !== undefined && { handoff }),
    counters,
  };
}

function flow(stage: StageRecord): { recordsIn?: number; recordsOut?: number } {
  const counters = (stage.counters ?? {}) as Record<string, Record<string, number>>;
  let recordsIn: number | undefined;
  for (const [group, values] of Object.entries(counters)) {
    if (group.endsWith('extract')) recordsIn = (recordsIn ?? 0) + Object.values(values).reduce((a, b) => a + b, 0);
  }
  if (recordsIn === undefined && counters['batch']?.['requests'] !== undefined) recordsIn = counters['batch']['requests'];
  const summary = stage.summary ?? {};
  if (recordsIn === undefined && typeof summary['requestRows'] === 'number' && typeof summary['outbox'] === 'string') recordsIn = summary['requestRows'];
  const out = summary['requestRows'] ?? summary['rows'];
  return { ...(recordsIn !== undefined && { recordsIn }), ...(typeof out === 'number' && { recordsOut: out }) };
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
