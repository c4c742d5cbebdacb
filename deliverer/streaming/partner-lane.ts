/**
 * Everything the syncer does for one partner, apart from every other partner: its receive loops, its undici pool
 * (keep-alive, `concurrency` connections), its rate limiter, its retries and its acknowledgements. A partner that
 * is slow or down fills only its own lane: the lane stops receiving once it holds `maxHeld` items, and the broker
 * keeps the rest queued, so other partners' lanes run on unaffected.
 */
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { Broker, DeliveryTag, LeasedRequest } from '../../queue-bridge/index.ts';
import type { DeadLetterStore } from './dead-letter-store.ts';
import { RateLimiter } from './rate-limiter.ts';
import { compileRequestTemplate, RequestBuildError, type BuiltRequest, type CompiledRequestTemplate } from './request-template.ts';
import { errorClass, retryAfterMs, retryDelayMs, statusVerdict } from './retry-policy.ts';
import { Semaphore } from './semaphore.ts';
import type { PartnerStreamingSettings } from './streaming-settings.ts';
import { statusClass, type OutcomeClass, type PartnerMetrics } from './syncer-metrics.ts';

/** What a lane did, for the summary of `courier sync`. */
export interface LaneCounts {
  /** Requests the partner answered 2xx. */
  delivered: number;
  /** Attempts that failed and were tried again. */
  retried: number;
  /** Requests given up on and written as dead letters. */
  deadLettered: number;
  /** HTTP attempts made. */
  attempts: number;
  /** Items handed back to the broker unsent (the process was stopping). */
  released: number;
}

/** What a lane needs from the syncer. */
export interface LaneDeps {
  /** The consumer side of the broker. */
  broker: Pick<Broker, 'receive' | 'ack' | 'nack' | 'visibilityTimeoutMs'>;
  deadLetters: DeadLetterStore;
  metrics: PartnerMetrics;
  logger: Logger;
  workers: number;
  receiveBatch: number;
  maxHeld: number;
  idlePollMs: number;
  random?: () => number;
}

/** How one attempt ended. */
interface Attempt {
  outcome: OutcomeClass;
  status: number | undefined;
  retryAfter: number | undefined;
  /** Set when the attempt failed: the status with the start of the body, or the error. */
  error: string | undefined;
  permanent: boolean;
}

const ACK_BATCH = 256;
const ACK_DELAY_MS = 5;
const ERROR_BODY_CHARS = 300;
/** Consecutive failed attempts after which the partner is reported as failing (once, until it recovers). */
const FAILING_AFTER = 20;

export class PartnerLane {
  readonly counts: LaneCounts = { delivered: 0, retried: 0, deadLettered: 0, attempts: 0, released: 0 };
  private readonly template: CompiledRequestTemplate;
  private readonly pool: Pool;
  private readonly limiter: RateLimiter;
  private readonly slots: Semaphore;
  private readonly random: () => number;
  private readonly log: Logger;
  private held = 0;
  private lastReceiveEmpty = false;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private roomWaiters: (() => void)[] = [];
  private drainedWaiters: (() => void)[] = [];
  private readonly sleepers = new Set<() => void>();
  private acks: DeliveryTag[] = [];
  private ackTimer: NodeJS.Timeout | undefined;
  private ackWrites: Promise<void> = Promise.resolve();
  private failingStreak = 0;

  constructor(
    readonly settings: PartnerStreamingSettings,
    private readonly deps: LaneDeps,
  ) {
    this.template = compileRequestTemplate(settings);
    this.random = deps.random ?? Math.random;
    this.log = deps.logger.child({ partner: settings.name, partnerId: settings.partnerId });
    this.limiter = new RateLimiter(settings.rateLimitPerSecond);
    this.slots = new Semaphore(settings.concurrency);
    this.pool = new Pool(this.template.origin, {
      connections: settings.concurrency,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: settings.timeoutMs },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    });
  }

  /** True when the lane holds nothing and its last receive came back empty. */
  get idle(): boolean {
    return this.held === 0 && this.lastReceiveEmpty;
  }

  /** Items received and not yet acknowledged or released. */
  get holding(): number {
    return this.held;
  }

  /** Starts the receive loops. */
  start(): void {
    for (let i = 0; i < this.deps.workers; i++) this.loops.push(this.receiveLoop());
  }

  /**
   * Stops receiving, hands back items not yet sent (waiting for a slot, a token or a retry), lets requests on the
   * wire finish, and writes the last acknowledgements. The caller flushes the dead letters (they gate their acks).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.roomWaiters.splice(0)) wake();
    for (const wake of [...this.sleepers]) wake();
    await Promise.all(this.loops);
    if (this.held > 0) await new Promise<void>((resolve) => this.drainedWaiters.push(resolve));
    await this.flushAcks();
    await this.pool.close();
  }

  private async receiveLoop(): Promise<void> {
    const { broker, receiveBatch, maxHeld, idlePollMs } = this.deps;
    // Receive only when a useful batch fits, so a full lane does not ask the broker for one item at a time.
    const lowWater = Math.max(1, Math.min(receiveBatch, Math.floor(maxHeld / 2)));
    while (!this.stopping) {
      const room = maxHeld - this.held;
      if (room < lowWater) {
        await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
        continue;
      }
      let leased: LeasedRequest[];
      try {
        leased = await broker.receive(this.settings.partnerId, { max: Math.min(receiveBatch, room), waitMs: idlePollMs });
      } catch (e) {
        if (this.stopping) break;
        this.log.error({ err: e }, 'receive from the broker failed; trying again');
        await this.sleep(idlePollMs);
        continue;
      }
      this.lastReceiveEmpty = leased.length === 0;
      if (this.stopping) {
        // Received while stopping (perhaps items this lane just handed back): never held, so not counted.
        if (leased.length > 0) await this.handBack(leased.map((l) => l.tag));
        break;
      }
      this.held += leased.length;
      for (const item of leased) {
        this.deliver(item).catch((e: unknown) => {
          this.log.error({ err: e, requestId: item.request.requestId }, 'unexpected failure while sending; the item goes back to the queue');
          return this.release([item.tag]);
        });
      }
    }
  }

  /** Sends one item until it is delivered, given up on, or handed back because the process stops. */
  private async deliver(item: LeasedRequest): Promise<void> {
    const { request } = item;
    let built: BuiltRequest;
    try {
      built = this.template.build(request);
    } catch (e) {
      if (!(e instanceof RequestBuildError)) throw e;
      await this.giveUp(item, 0, { outcome: 'error', status: undefined, retryAfter: undefined, error: e.message, permanent: true });
      return;
    }
    const retry = this.settings.retry;
    for (let attempt = 1; ; attempt++) {
      if (!this.slots.tryAcquire()) await this.slots.acquire();
      // The token wait is a lane sleep, so a stop does not wait for a slow partner's next slot.
      const wait = this.limiter.reserve();
      if (wait > 0) await this.sleep(wait);
      if (this.stopping) {
        this.slots.release();
        await this.release([item.tag]);
        return;
      }
      const result = await this.send(built);
      this.slots.release();
      this.counts.attempts++;
      this.deps.metrics.sent(result.outcome);
      if (result.error === undefined) {
        this.counts.delivered++;
        this.deps.metrics.delivered();
        this.noteSuccess();
        this.ack(item.tag);
        return;
      }
      this.noteFailure(result);
      if (result.permanent || attempt >= retry.maxAttempts) {
        await this.giveUp(item, attempt, result);
        return;
      }
      this.counts.retried++;
      this.deps.metrics.retried(result.outcome);
      if (result.outcome === '429' && result.retryAfter !== undefined) {
        // A 429 speaks for the partner as a whole: hold every request to it, not just this one.
        this.limiter.pauseFor(Math.min(result.retryAfter, retry.maxDelayMs));
      }
      const delay = retryDelayMs(attempt, retry, result.retryAfter, this.random);
      this.log.debug({ requestId: request.requestId, attempt, outcome: result.outcome, delayMs: delay }, 'retrying');
      await this.sleep(delay);
    }
  }

  /**
   * One attempt. Uses undici's dispatch with a small handler rather than `request`: no body stream per response,
   * which is most of the client's cost per request on loopback (measured: 27 -> 24 us of CPU per request).
   */
  private send(built: BuiltRequest): Promise<Attempt> {
    const started = performance.now();
    const metrics = this.deps.metrics;
    metrics.inFlight(1);
    return new Promise<Attempt>((resolve) => {
      let status = 0;
      let retryAfter: string | undefined;
      let text = '';
      const finish = (attempt: Attempt) => {
        metrics.inFlight(-1);
        metrics.observeSeconds((performance.now() - started) / 1000);
        resolve(attempt);
      };
      const failed = (e: unknown) => {
        const kind = errorClass(e);
        const err = e as Error & { code?: string };
        finish({
          outcome: kind,
          status: undefined,
          retryAfter: undefined,
          error: `${kind === 'error' ? 'request failed' : kind}: ${err.message}${err.code ? ` (${err.code})` : ''}`,
          permanent: kind === 'error',
        });
      };
      try {
        this.pool.dispatch(
          { path: built.path, method: built.method, headers: built.headers, body: built.body },
          {
            onRequestStart() {},
            onResponseStart(_controller, statusCode, headers) {
              status = statusCode;
              const header = headers['retry-after'];
              retryAfter = Array.isArray(header) ? header[0] : header;
            },
            onResponseData(_controller, chunk) {
              // Keep the start of an error answer for the dead letter; a 2xx body is dropped unread.
              if ((status < 200 || status >= 300) && text.length < ERROR_BODY_CHARS) text += chunk.toString('utf8');
            },
            onResponseEnd() {
              const verdict = statusVerdict(status);
              if (verdict === 'delivered') {
                finish({ outcome: '2xx', status, retryAfter: undefined, error: undefined, permanent: false });
                return;
              }
              const start = text.slice(0, ERROR_BODY_CHARS).trim();
              finish({
                outcome: statusClass(status),
                status,
                retryAfter: retryAfterMs(retryAfter),
                error: `HTTP ${status}${start ? `: ${start}` : ''}`,
                permanent: verdict === 'give-up',
              });
            },
            onResponseError(_controller, error) {
              failed(error);
            },
          },
        );
      } catch (e) {
        failed(e);
      }
    });
  }

  private async giveUp(item: LeasedRequest, attempts: number, last: Attempt): Promise<void> {
    const { request } = item;
    // One line per letter only at debug: a partner refusing everything would flood the log. The store logs each
    // write with a sample, and the partner-failing warning says the rest.
    this.log.debug({ requestId: request.requestId, attempts, status: last.status, error: last.error }, 'giving up on a request: dead letter');
    try {
      await this.deps.deadLetters.add({
        request,
        attempts,
        deliveries: item.deliveries,
        lastStatus: last.status,
        lastError: last.error ?? last.outcome,
        deadAt: Date.now(),
      });
    } catch {
      // The store logged why; the item goes back to the queue rather than being lost.
      await this.release([item.tag]);
      return;
    }
    this.counts.deadLettered++;
    this.deps.metrics.deadLettered(last.outcome);
    this.ack(item.tag);
  }

  private noteSuccess(): void {
    if (this.failingStreak >= FAILING_AFTER) this.log.info({ failedAttempts: this.failingStreak }, 'partner answers again');
    this.failingStreak = 0;
  }

  private noteFailure(result: Attempt): void {
    if (++this.failingStreak === FAILING_AFTER) {
      this.log.warn({ lastOutcome: result.outcome, lastError: result.error }, `partner failing: ${FAILING_AFTER} attempts in a row failed`);
    }
  }

  /** Queues an acknowledgement; acks go to the broker in batches. */
  private ack(tag: DeliveryTag): void {
    this.acks.push(tag);
    this.done(1);
    if (this.acks.length >= ACK_BATCH) void this.flushAcks();
    else this.ackTimer ??= setTimeout(() => void this.flushAcks(), ACK_DELAY_MS);
  }

  private flushAcks(): Promise<void> {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const tags = this.acks;
    this.acks = [];
    if (tags.length > 0) {
      this.ackWrites = this.ackWrites.then(() =>
        this.deps.broker.ack(tags).then(
          () => undefined,
          (e: unknown) => this.log.error({ err: e, items: tags.length }, 'acknowledgement failed; the broker will deliver these items again'),
        ),
      );
    }
    return this.ackWrites;
  }

  /** Hands held items back to the broker for another consumer (or this one, later). */
  private async release(tags: DeliveryTag[]): Promise<void> {
    await this.handBack(tags);
    this.counts.released += tags.length;
    this.done(tags.length);
  }

  private async handBack(tags: DeliveryTag[]): Promise<void> {
    try {
      await this.deps.broker.nack(tags);
    } catch (e) {
      this.log.warn({ err: e, items: tags.length }, 'could not hand items back; they return when their lease expires');
    }
  }

  private done(items: number): void {
    this.held -= items;
    if (this.roomWaiters.length > 0) for (const wake of this.roomWaiters.splice(0)) wake();
    if (this.held === 0 && this.drainedWaiters.length > 0) for (const wake of this.drainedWaiters.splice(0)) wake();
  }

  /** Waits `ms`, or less when the lane stops. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
