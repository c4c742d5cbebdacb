/**
 * Prometheus metrics of the syncer, per partner: attempts sent by outcome class, delivered, retried, dead-lettered,
 * latency and requests in flight. One registry per syncer (not prom-client's global one), served on its own port.
 * Per request the lanes only bump plain numbers; they reach prom-client when the registry is scraped (its collect
 * hooks), so metrics cost nothing measurable at tens of thousands of requests per second.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How an attempt ended, as a metric label: the status class, 429 on its own, or why there was no answer. */
export type OutcomeClass = '2xx' | '3xx' | '4xx' | '429' | '5xx' | 'timeout' | 'network' | 'error';

/** The label of an HTTP status. */
export function statusClass(status: number): OutcomeClass {
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

/** What a lane records about its partner. */
export interface PartnerMetrics {
  sent(outcome: OutcomeClass): void;
  delivered(): void;
  retried(outcome: OutcomeClass): void;
  deadLettered(outcome: OutcomeClass): void;
  observeSeconds(seconds: number): void;
  inFlight(delta: number): void;
}

/** A counter by outcome, kept as plain numbers between scrapes. */
class OutcomeCounts {
  readonly now = new Map<OutcomeClass, number>();
  private readonly reported = new Map<OutcomeClass, number>();

  add(outcome: OutcomeClass): void {
    this.now.set(outcome, (this.now.get(outcome) ?? 0) + 1);
  }

  /** Increments since the last call, by outcome. */
  takeDeltas(): [OutcomeClass, number][] {
    const out: [OutcomeClass, number][] = [];
    for (const [outcome, n] of this.now) {
      const delta = n - (this.reported.get(outcome) ?? 0);
      if (delta > 0) out.push([outcome, delta]);
      this.reported.set(outcome, n);
    }
    return out;
  }
}

interface PartnerState {
  sent: OutcomeCounts;
  retried: OutcomeCounts;
  deadLettered: OutcomeCounts;
  delivered: number;
  deliveredReported: number;
  inFlight: number;
}

export class SyncerMetrics {
  readonly registry = new Registry();
  private readonly partners = new Map<string, PartnerState>();
  private readonly latency: Histogram<'partner'>;

  constructor() {
    const partners = this.partners;
    const outcomeCounter = (name: string, help: string, pick: (s: PartnerState) => OutcomeCounts) =>
      new Counter({
        name,
        help,
        labelNames: ['partner', 'outcome'] as const,
        registers: [this.registry],
        collect() {
          for (const [partner, state] of partners) {
            for (const [outcome, delta] of pick(state).takeDeltas()) this.inc({ partner, outcome }, delta);
          }
        },
      });
    outcomeCounter(
      'courier_sync_requests_sent_total',
      'HTTP attempts sent to partners, by how they ended (status class, 429, timeout, network, error).',
      (s) => s.sent,
    );
    outcomeCounter(
      'courier_sync_requests_retried_total',
      'Attempts that failed and were retried, by the failure that caused the retry.',
      (s) => s.retried,
    );
    outcomeCounter(
      'courier_sync_requests_dead_lettered_total',
      'Data sync requests given up on and written to the dead-letter dataset, by their last failure.',
      (s) => s.deadLettered,
    );
    new Counter({
      name: 'courier_sync_requests_delivered_total',
      help: 'Data sync requests a partner answered 2xx.',
      labelNames: ['partner'] as const,
      registers: [this.registry],
      collect() {
        for (const [partner, state] of partners) {
          const delta = state.delivered - state.deliveredReported;
          state.deliveredReported = state.delivered;
          // Zero increments too, so a partner shows up (at 0) from the first scrape.
          this.inc({ partner }, delta);
        }
      },
    });
    new Gauge({
      name: 'courier_sync_requests_in_flight',
      help: 'HTTP attempts awaiting an answer.',
      labelNames: ['partner'] as const,
      registers: [this.registry],
      collect() {
        for (const [partner, state] of partners) this.set({ partner }, state.inFlight);
      },
    });
    this.latency = new Histogram({
      name: 'courier_sync_request_duration_seconds',
      help: 'Time from sending an attempt to its answer (or failure).',
      labelNames: ['partner'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'courier_sync_' });
  }

  /** The recorder of one partner. */
  forPartner(partner: string): PartnerMetrics {
    const state: PartnerState = {
      sent: new OutcomeCounts(),
      retried: new OutcomeCounts(),
      deadLettered: new OutcomeCounts(),
      delivered: 0,
      deliveredReported: 0,
      inFlight: 0,
    };
    this.partners.set(partner, state);
    const latency = this.latency.labels(partner);
    return {
      sent: (outcome) => state.sent.add(outcome),
      delivered: () => state.delivered++,
      retried: (outcome) => state.retried.add(outcome),
      deadLettered: (outcome) => state.deadLettered.add(outcome),
      observeSeconds: (seconds) => latency.observe(seconds),
      inFlight: (delta) => {
        state.inFlight += delta;
      },
    };
  }
}
