/**
 * A per-partner token bucket (as GCRA: one "theoretical arrival time" instead of a token count): at most `burst`
 * requests at once, then `ratePerSecond` on average. Each caller reserves the next free slot, so waiters go out in
 * order and the count over any window of T seconds stays within burst + rate × T.
 */

/** Time source, injectable so tests count sends without waiting. */
export interface Clock {
  now(): number;
}

const systemClock: Clock = { now: () => performance.now() };

export class RateLimiter {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private theoreticalArrival = -Infinity;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number = Math.max(1, Math.ceil(ratePerSecond / 20)),
    private readonly clock: Clock = systemClock,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate limit must be > 0 requests per second, got ${ratePerSecond}`);
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burst must be a whole number >= 1, got ${burst}`);
    this.intervalMs = 1000 / ratePerSecond;
    this.toleranceMs = (burst - 1) * this.intervalMs;
  }

  /** Reserves the next slot and returns how long the caller must wait before sending (0: send now). */
  reserve(): number {
    const now = this.clock.now();
    const sendAt = Math.max(now, this.theoreticalArrival - this.toleranceMs);
    this.theoreticalArrival = Math.max(this.theoreticalArrival, sendAt) + this.intervalMs;
    return sendAt - now;
  }

  /** Holds every send until `ms` from now (a partner's 429 Retry-After concerns all our requests, not one). */
  pauseFor(ms: number): void {
    const resumeAt = this.clock.now() + ms;
    this.theoreticalArrival = Math.max(this.theoreticalArrival, resumeAt + this.toleranceMs);
  }
}
