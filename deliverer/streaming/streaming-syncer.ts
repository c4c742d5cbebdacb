/**
 * The streaming data syncer: one lane per partner (receive loops, pool, rate limit, retries) over a shared broker,
 * a dead-letter store and metrics. Several syncer processes can share one Redis broker: each receives its own
 * leases, and a dead process's items come back to the others after the visibility timeout.
 */
import type { Logger } from 'pino';
import type { Broker } from '../../queue-bridge/index.ts';
import { DeadLetterStore } from './dead-letter-store.ts';
import { PartnerLane, type LaneCounts } from './partner-lane.ts';
import type { PartnerStreamingSettings, SyncerSettings } from './streaming-settings.ts';
import { SyncerMetrics } from './syncer-metrics.ts';

/** What the syncer needs to run. */
export interface StreamingSyncerOptions {
  broker: Pick<Broker, 'receive' | 'ack' | 'nack' | 'stats' | 'visibilityTimeoutMs'>;
  partners: readonly PartnerStreamingSettings[];
  settings: SyncerSettings;
  logger: Logger;
  metrics?: SyncerMetrics;
  /** Source of the retry jitter; tests pass a seeded one. */
  random?: () => number;
}

/** Per-partner counts of one syncer run. */
export interface SyncSummary {
  partners: ({ partnerId: number; name: string } & LaneCounts)[];
  seconds: number;
}

/** Options of `untilDrained`. */
export interface DrainOptions {
  /** How often to look, ms; default 200. */
  pollMs?: number;
  /** False while more input may still arrive (a bridge still feeding the queues); default: always done. */
  inputDone?: () => boolean;
  /** Resolves early when this signal aborts (a SIGTERM). */
  signal?: AbortSignal;
}

export class StreamingSyncer {
  readonly metrics: SyncerMetrics;
  private readonly lanes: PartnerLane[];
  private readonly deadLetters: DeadLetterStore;
  private readonly started = performance.now();
  private stopped: Promise<SyncSummary> | undefined;

  constructor(private readonly options: StreamingSyncerOptions) {
    const { broker, partners, settings, logger } = options;
    if (partners.length === 0) throw new Error('no partner has streaming delivery: nothing for the syncer to send');
    this.metrics = options.metrics ?? new SyncerMetrics();
    this.deadLetters = new DeadLetterStore(settings.deadLetters, logger.child({ component: 'dead-letters' }));
    const seen = new Set<number>();
    this.lanes = partners.map((p) => {
      if (seen.has(p.partnerId)) throw new Error(`partner id ${p.partnerId} (${p.name}) is listed twice; each partner gets one lane`);
      seen.add(p.partnerId);
      const maxHeld = maxHeldFor(p, settings, broker.visibilityTimeoutMs);
      const worstRetryMs = p.retry.maxAttempts * p.timeoutMs + (p.retry.maxAttempts - 1) * p.retry.maxDelayMs;
      if (worstRetryMs > broker.visibilityTimeoutMs) {
        logger.warn(
          { partner: p.name, worstRetryMs, visibilityTimeoutMs: broker.visibilityTimeoutMs },
          'a request retried to the limit can outlive its broker lease and then be sent by another consumer too; raise the queue visibility timeout or lower retry.maxAttempts, maxDelayMs or timeoutMs',
        );
      }
      return new PartnerLane(p, {
        broker,
        deadLetters: this.deadLetters,
        metrics: this.metrics.forPartner(p.name),
        logger,
        workers: settings.workersPerPartner,
        receiveBatch: settings.receiveBatch,
        maxHeld,
        idlePollMs: settings.idlePollMs,
        random: options.random,
      });
    });
  }

  /** Starts every partner's receive loops. */
  start(): void {
    this.options.logger.info(
      { partners: this.lanes.map((l) => l.settings.name), workersPerPartner: this.options.settings.workersPerPartner },
      'syncer started',
    );
    for (const lane of this.lanes) lane.start();
  }

  /**
   * Resolves once every partner's queues are empty (nothing waiting, nothing leased by any consumer), this process
   * holds nothing, and `inputDone()` says no more will come; or when `signal` aborts.
   */
  async untilDrained(options: DrainOptions = {}): Promise<void> {
    const pollMs = options.pollMs ?? 200;
    const ours = new Set(this.lanes.map((l) => l.settings.partnerId));
    const warned = new Set<string>();
    for (;;) {
      if (options.signal?.aborted) return;
      if (this.lanes.every((l) => l.idle) && (options.inputDone?.() ?? true)) {
        const stats = await this.options.broker.stats();
        let depth = 0;
        for (const q of stats) {
          if (ours.has(q.partnerId)) depth += q.depth;
          else if (q.depth > 0 && !warned.has(q.queue)) {
            warned.add(q.queue);
            this.options.logger.warn({ queue: q.queue, depth: q.depth }, 'queue of a partner without streaming settings: its items wait there');
          }
        }
        if (depth === 0) return;
      }
      await pause(pollMs, options.signal);
    }
  }

  /**
   * Graceful stop: no more receives; items not on the wire go back to the broker; requests on the wire finish and
   * are acknowledged; dead letters are written, then acknowledged. Safe to call more than once.
   */
  stop(): Promise<SyncSummary> {
    this.stopped ??= (async () => {
      const lanes = Promise.all(this.lanes.map((l) => l.stop()));
      // Closing the store writes buffered letters now and later ones at once, so lanes waiting on them finish.
      await this.deadLetters.close();
      await lanes;
      await this.deadLetters.flush();
      const summary = this.summary();
      this.options.logger.info({ summary }, 'syncer stopped');
      return summary;
    })();
    return this.stopped;
  }

  /** Counts so far, per partner. */
  summary(): SyncSummary {
    return {
      partners: this.lanes.map((l) => ({ partnerId: l.settings.partnerId, name: l.settings.name, ...l.counts })),
      seconds: (performance.now() - this.started) / 1000,
    };
  }
}

/**
 * Items one partner's lane may hold: enough to keep its connections busy between receives, but no more than it can
 * send in a quarter of the lease at its rate limit (else held items would expire and go out twice).
 */
export function maxHeldFor(p: PartnerStreamingSettings, settings: SyncerSettings, visibilityTimeoutMs: number): number {
  const wanted = settings.maxHeldPerPartner ?? Math.max(4 * p.concurrency, settings.receiveBatch);
  const sendableInLease = Math.floor((p.rateLimitPerSecond * visibilityTimeoutMs) / 1000 / 4);
  return Math.max(1, Math.min(wanted, sendableInLease));
}

/** Waits `ms`, or until `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
