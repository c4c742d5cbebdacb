/** Exponential backoff with jitter between stage attempts, and the abortable sleep the runner waits with. */
import type { RetryPolicy } from './workflow-definition.ts';

/**
 * The delay after failed attempt `attempt` (1-based): `baseDelayMs * 2^(attempt-1)` capped at `maxDelayMs`, of
 * which the upper half is random ("equal jitter"), so stages that failed together do not retry in lockstep.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Resolves after `ms`, or at once when `signal` is (or gets) aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
