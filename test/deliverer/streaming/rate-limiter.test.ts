import { describe, expect, it } from 'vitest';
import { RateLimiter, type Clock } from '../../../deliverer/streaming/rate-limiter.ts';
import { Semaphore } from '../../../deliverer/streaming/semaphore.ts';

/** A clock that only moves when told: sends are counted, never timed. */
function manualClock(): Clock & { advance(ms: number): void; t: number } {
  const clock = {
    t: 1000,
    now: () => clock.t,
    advance(ms: number) {
      clock.t += ms;
    },
  };
  return clock;
}

/** Send times of `n` callers one after the other, each waiting as told. */
function sendTimes(limiter: RateLimiter, clock: ReturnType<typeof manualClock>, n: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    clock.advance(limiter.reserve());
    times.push(clock.now());
  }
  return times;
}

/** The most sends in any window of `windowMs` (windows starting at each send). */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[j]! <= times[i]! - windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('rate limiter', () => {
  it('keeps every window within burst + rate x window', async () => {
    for (const [rate, burst] of [[100, 5], [1000, 50], [3, 1], [0.5, 1]] as const) {
      const clock = manualClock();
      const limiter = new RateLimiter(rate, burst, clock);
      const times = sendTimes(limiter, clock, 500);
      for (const windowMs of [10, 100, 1000, 5000]) {
        expect(maxInWindow(times, windowMs)).toBeLessThanOrEqual(burst + Math.ceil((rate * windowMs) / 1000));
      }
      // And it is not slower than asked: 500 sends take about (500 - burst) / rate seconds.
      const spanMs = times.at(-1)! - times[0]!;
      expect(spanMs).toBeCloseTo(((500 - burst) / rate) * 1000, 0);
    }
  });

  it('paces many callers reserving at the same instant (a lane receiving a batch)', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(200, 10, clock);
    const times = Array.from({ length: 300 }, () => clock.now() + limiter.reserve()).sort((a, b) => a - b);
    for (const windowMs of [5, 50, 500]) expect(maxInWindow(times, windowMs)).toBeLessThanOrEqual(10 + Math.ceil((200 * windowMs) / 1000));
    expect(times.filter((t) => t === clock.now())).toHaveLength(10);
  });

  it('lets a burst out at once after an idle spell, then paces', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(10, 3, clock);
    expect([limiter.reserve(), limiter.reserve(), limiter.reserve()]).toEqual([0, 0, 0]);
    expect(limiter.reserve()).toBeCloseTo(100);
    clock.advance(10_000);
    expect([limiter.reserve(), limiter.reserve(), limiter.reserve()]).toEqual([0, 0, 0]);
  });

  it('pauses every send of the partner after a Retry-After', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(1000, 10, clock);
    limiter.pauseFor(2000);
    const times = sendTimes(limiter, clock, 20);
    expect(times[0]).toBe(1000 + 2000);
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(20);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RateLimiter(0)).toThrow(/> 0/);
    expect(() => new RateLimiter(10, 0)).toThrow(/burst/);
  });
});

describe('semaphore', () => {
  it('holds at most its limit and serves waiters in order', async () => {
    const gate = new Semaphore(2);
    const order: number[] = [];
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        await gate.acquire();
        inside++;
        most = Math.max(most, inside);
        order.push(i);
        await new Promise((r) => setTimeout(r, 1));
        inside--;
        gate.release();
      }),
    );
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(gate.inUse).toBe(0);
  });
});
