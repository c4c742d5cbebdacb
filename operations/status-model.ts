/**
 * What the status page shows, gathered from the store (run history) and the processes' /metrics endpoints. Rates
 * (fill, drain, sends, errors, answers per second) are differences between this scrape and the previous one of
 * the same endpoint, so the page needs no Prometheus server; a down endpoint yields a down source and no figures.
 */
import { DeliveryLedger, type LedgerEntry } from '../deliverer/file/index.ts';
import { listRuns } from '../workflows/index.ts';
import { histogramQuantile, samples, scrapeMetrics, type Sample, type Scrape } from './prometheus-scrape.ts';
import { runFacts, type RunFacts } from './run-facts.ts';

/** A /metrics endpoint to read and the process serving it. */
export interface MetricsSource {
  readonly process: 'bridge' | 'sync' | 'deliver' | 'listen';
  readonly url: string;
}

/** One endpoint's health on the page. */
export interface SourceStatus extends MetricsSource {
  readonly up: boolean;
  readonly error?: string;
  readonly at: string;
}

export interface QueueStatus {
  readonly queue: string;
  readonly partnerId: string;
  readonly priority: string;
  readonly depth: number;
  readonly inFlight: number;
  /** Items handed to the broker per second (undefined on the first scrape). */
  readonly fillPerSecond?: number;
  /** Items acknowledged per second. */
  readonly drainPerSecond?: number;
}

export interface SyncPartnerStatus {
  readonly partner: string;
  readonly sentPerSecond?: number;
  readonly errorsPerSecond?: number;
  readonly sent: number;
  readonly errors: number;
  readonly delivered: number;
  readonly deadLetters: number;
}

export interface DeliveryStatus {
  readonly partner: string;
  /** From the delivery ledger in the store: the last data file delivered, its bytes and when. */
  readonly lastFile?: string;
  readonly lastFileBytes?: number;
  readonly lastFileAt?: string;
  /** Ledger entries started and not finished (the deliverer's own gauge counts datasets not even started too). */
  readonly ledgerPending?: number;
  /** From the deliverer's /metrics (0 when it is down). */
  readonly files: number;
  readonly bytes: number;
  readonly lastDeliveryAt?: string;
  readonly pendingDatasets: number;
  readonly failures: number;
}

export interface ListenerStatus {
  readonly url: string;
  readonly ready: boolean;
  readonly answersPerSecond?: number;
  /** p99 of answer time in ms over the last scrape interval (since start on the first scrape). */
  readonly p99Ms?: number;
  /** Answers slower than the bus's 7 ms budget (the bus times them out). */
  readonly over7ms: number;
  readonly answers: number;
  readonly snapshotUsers: number;
}

/** The whole page's data. */
export interface StatusSnapshot {
  readonly at: string;
  readonly storageRoot: string;
  readonly runs: readonly RunFacts[];
  readonly historyProblems: readonly string[];
  readonly sources: readonly SourceStatus[];
  readonly queues: readonly QueueStatus[];
  readonly sync: readonly SyncPartnerStatus[];
  readonly deliveries: readonly DeliveryStatus[];
  readonly listeners: readonly ListenerStatus[];
}

/** Keeps the previous scrape of every endpoint so each new one yields rates. */
export class StatusCollector {
  private readonly previous = new Map<string, Scrape>();

  constructor(
    readonly storageRoot: string,
    readonly sources: readonly MetricsSource[],
    readonly runsShown = 10,
  ) {}

  /** Reads the history and scrapes every endpoint (in parallel); never throws for a down source. */
  async collect(): Promise<StatusSnapshot> {
    const ledgerProblems: string[] = [];
    const [history, scrapes, ledger] = await Promise.all([
      listRuns(this.storageRoot).catch((e: Error) => ({ runs: [], problems: [{ uri: this.storageRoot, problem: `cannot read the run history: ${e.message}` }] })),
      Promise.all(this.sources.map((s) => scrapeMetrics(s.url))),
      new DeliveryLedger(this.storageRoot).list().catch((e: Error) => {
        ledgerProblems.push(`delivery ledger: ${e.message}`);
        return [] as LedgerEntry[];
      }),
    ]);
    const pairs = this.sources.map((source, i) => {
      const now = scrapes[i] as Scrape;
      const before = this.previous.get(source.url);
      if (now.up) this.previous.set(source.url, now);
      return { source, now, before: before?.up ? before : undefined };
    });
    const up = pairs.filter((p) => p.now.up);
    return {
      at: new Date().toISOString(),
      storageRoot: this.storageRoot,
      runs: history.runs.slice(0, this.runsShown).map(runFacts),
      historyProblems: [...history.problems.map((p) => `${p.uri}: ${p.problem}`), ...ledgerProblems],
      sources: pairs.map(({ source, now }) => ({ ...source, up: now.up, ...(now.error !== undefined && { error: now.error }), at: new Date(now.at).toISOString() })),
      queues: up.filter((p) => p.source.process === 'bridge').flatMap((p) => queues(p.now, p.before)),
      sync: syncPartners(up.filter((p) => p.source.process === 'sync')),
      deliveries: deliveries(up.filter((p) => p.source.process === 'deliver').map((p) => p.now), ledger),
      listeners: up.filter((p) => p.source.process === 'listen').map((p) => listener(p.now, p.before)),
    };
  }
}

type Pair = { now: Scrape; before: Scrape | undefined };

function byLabel(list: readonly Sample[], label: string, filter: (s: Sample) => boolean = () => true): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of list) if (filter(s)) out.set(s.labels[label] ?? '', (out.get(s.labels[label] ?? '') ?? 0) + s.value);
  return out;
}

function rate(now: Scrape, before: Scrape | undefined, valueNow: number, valueBefore: number | undefined): number | undefined {
  if (before === undefined || valueBefore === undefined) return undefined;
  const seconds = (now.at - before.at) / 1000;
  return seconds > 0 ? Math.max(0, valueNow - valueBefore) / seconds : undefined;
}

function queues(now: Scrape, before: Scrape | undefined): QueueStatus[] {
  const depth = byLabel(samples(now, 'courier_bridge_queue_depth'), 'queue');
  const inFlight = byLabel(samples(now, 'courier_bridge_queue_in_flight'), 'queue');
  const enq = byLabel(samples(now, 'courier_bridge_items_enqueued_total'), 'queue');
  const acked = byLabel(samples(now, 'courier_bridge_items_acked_total'), 'queue');
  const enqBefore = before && byLabel(samples(before, 'courier_bridge_items_enqueued_total'), 'queue');
  const ackedBefore = before && byLabel(samples(before, 'courier_bridge_items_acked_total'), 'queue');
  return [...depth.keys()].sort().map((queue) => {
    const [, partnerId = '?', priority = '?'] = queue.split('.');
    const fill = rate(now, before, enq.get(queue) ?? 0, enqBefore?.get(queue));
    const drain = rate(now, before, acked.get(queue) ?? 0, ackedBefore?.get(queue));
    return {
      queue,
      partnerId,
      priority,
      depth: depth.get(queue) ?? 0,
      inFlight: inFlight.get(queue) ?? 0,
      ...(fill !== undefined && { fillPerSecond: fill }),
      ...(drain !== undefined && { drainPerSecond: drain }),
    };
  });
}

function syncPartners(pairs: readonly Pair[]): SyncPartnerStatus[] {
  const totals = new Map<string, { sent: number; errors: number; delivered: number; dead: number; sentRate?: number; errorRate?: number }>();
  const isError = (s: Sample) => s.labels['outcome'] !== '2xx';
  for (const { now, before } of pairs) {
    const sent = byLabel(samples(now, 'courier_sync_requests_sent_total'), 'partner');
    const errors = byLabel(samples(now, 'courier_sync_requests_sent_total'), 'partner', isError);
    const delivered = byLabel(samples(now, 'courier_sync_requests_delivered_total'), 'partner');
    const dead = byLabel(samples(now, 'courier_sync_requests_dead_lettered_total'), 'partner');
    const sentBefore = before && byLabel(samples(before, 'courier_sync_requests_sent_total'), 'partner');
    const errorsBefore = before && byLabel(samples(before, 'courier_sync_requests_sent_total'), 'partner', isError);
    for (const partner of new Set([...sent.keys(), ...delivered.keys()])) {
      const t = totals.get(partner) ?? { sent: 0, errors: 0, delivered: 0, dead: 0 };
      t.sent += sent.get(partner) ?? 0;
      t.errors += errors.get(partner) ?? 0;
      t.delivered += delivered.get(partner) ?? 0;
      t.dead += dead.get(partner) ?? 0;
      const sr = rate(now, before, sent.get(partner) ?? 0, sentBefore ? (sentBefore.get(partner) ?? 0) : undefined);
      const er = rate(now, before, errors.get(partner) ?? 0, errorsBefore ? (errorsBefore.get(partner) ?? 0) : undefined);
      if (sr !== undefined) t.sentRate = (t.sentRate ?? 0) + sr;
      if (er !== undefined) t.errorRate = (t.errorRate ?? 0) + er;
      totals.set(partner, t);
    }
  }
  return [...totals.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([partner, t]) => ({
      partner,
      sent: t.sent,
      errors: t.errors,
      delivered: t.delivered,
      deadLetters: t.dead,
      ...(t.sentRate !== undefined && { sentPerSecond: t.sentRate }),
      ...(t.errorRate !== undefined && { errorsPerSecond: t.errorRate }),
    }));
}

function deliveries(scrapes: readonly Scrape[], ledger: readonly LedgerEntry[]): DeliveryStatus[] {
  const out = new Map<string, DeliveryStatus>();
  const fromLedger = new Map<string, { lastFile?: string; lastFileBytes?: number; lastFileAt?: string; ledgerPending: number }>();
  for (const entry of ledger) {
    const facts = fromLedger.get(entry.partner) ?? { ledgerPending: 0 };
    if (entry.state === 'pending') facts.ledgerPending++;
    for (const f of entry.files) {
      if (f.role !== 'data' || f.deliveredAt === undefined) continue;
      if (facts.lastFileAt === undefined || f.deliveredAt > facts.lastFileAt) Object.assign(facts, { lastFile: f.name, lastFileBytes: f.bytes, lastFileAt: f.deliveredAt });
    }
    fromLedger.set(entry.partner, facts);
  }
  for (const [partner, facts] of fromLedger) out.set(partner, { partner, ...facts, files: 0, bytes: 0, pendingDatasets: facts.ledgerPending, failures: 0 });
  for (const s of scrapes) {
    const files = byLabel(samples(s, 'courier_deliver_files_total'), 'partner', (x) => x.labels['role'] === 'data');
    const bytes = byLabel(samples(s, 'courier_deliver_bytes_total'), 'partner');
    const last = byLabel(samples(s, 'courier_deliver_last_delivery_timestamp_seconds'), 'partner');
    const pending = byLabel(samples(s, 'courier_deliver_pending_datasets'), 'partner');
    const failures = byLabel(samples(s, 'courier_deliver_failures_total'), 'partner');
    for (const partner of new Set([...files.keys(), ...pending.keys(), ...last.keys()])) {
      const lastAt = last.get(partner);
      out.set(partner, {
        ...out.get(partner),
        partner,
        files: files.get(partner) ?? 0,
        bytes: bytes.get(partner) ?? 0,
        ...(lastAt !== undefined && lastAt > 0 && { lastDeliveryAt: new Date(lastAt * 1000).toISOString() }),
        pendingDatasets: pending.get(partner) ?? 0,
        failures: failures.get(partner) ?? 0,
      });
    }
  }
  return [...out.values()].sort((a, b) => a.partner.localeCompare(b.partner));
}

function listener(now: Scrape, before: Scrape | undefined): ListenerStatus {
  const answered = (s: Scrape) => samples(s, 'listener_requests_total').reduce((n, x) => n + x.value, 0);
  const histogram = (s: Scrape | undefined) => samples(s, 'listener_answer_duration_seconds')[0]?.buckets;
  const nowBuckets = histogram(now);
  const beforeBuckets = histogram(before);
  let window = nowBuckets;
  if (nowBuckets && beforeBuckets && (beforeBuckets.get(Infinity) ?? 0) < (nowBuckets.get(Infinity) ?? 0)) {
    window = new Map([...nowBuckets].map(([le, n]) => [le, n - (beforeBuckets.get(le) ?? 0)]));
  }
  const p99 = window && histogramQuantile(0.99, window);
  const answersPerSecond = rate(now, before, answered(now), before && answered(before));
  return {
    url: now.url,
    ready: (samples(now, 'listener_ready')[0]?.value ?? 0) === 1,
    ...(answersPerSecond !== undefined && { answersPerSecond }),
    ...(p99 !== undefined && { p99Ms: p99 * 1000 }),
    over7ms: nowBuckets ? (nowBuckets.get(Infinity) ?? 0) - (nowBuckets.get(0.007) ?? 0) : 0,
    answers: answered(now),
    snapshotUsers: samples(now, 'listener_snapshot_users')[0]?.value ?? 0,
  };
}
