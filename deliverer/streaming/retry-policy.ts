/**
 * Which failures are worth another attempt and how long to wait before it. Retried: 5xx, 429, timeouts, connection
 * resets and refusals (the partner may be back soon). Not retried: any other status (4xx: our request is wrong and
 * would be refused again; 3xx: we do not follow redirects), and requests that cannot be built.
 */
import type { RetrySettings } from './streaming-settings.ts';

/** What one attempt's answer means for the request. */
export type StatusVerdict = 'delivered' | 'retry' | 'give-up';

/** The verdict of an HTTP status. */
export function statusVerdict(status: number): StatusVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 429 || status >= 500) return 'retry';
  return 'give-up';
}

/** Error codes of undici and Node sockets that say the partner could not be reached or did not answer in time. */
const TRANSIENT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** How a thrown error is counted: a timeout, another network error (both retried), or a permanent failure. */
export function errorClass(error: unknown): 'timeout' | 'network' | 'error' {
  const code = errorCode(error);
  if (code === undefined) return 'error';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  return TRANSIENT_CODES.has(code) ? 'network' : 'error';
}

/** The `code` of an error or of its cause (undici wraps socket errors). */
export function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return code;
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Delay before attempt `failed + 1` after `failed` failed attempts: "full jitter", uniform in
 * [0, min(maxDelayMs, baseDelayMs * 2^(failed-1))), so many clients retrying at once spread out.
 */
export function backoffDelayMs(failed: number, retry: RetrySettings, random: () => number = Math.random): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.max(0, failed - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Milliseconds a Retry-After header asks us to wait: delta-seconds ("120") or an HTTP date; undefined when absent
 * or unreadable (then the backoff applies alone).
 */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its month ("Wed, 21 Oct 2026 07:28:00 GMT"); anything else ("-3", "1.5") is unreadable.
  const at = /[A-Za-z]{3}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The wait before the next attempt: at least the partner's Retry-After, never above maxDelayMs (a longer wait would
 * outlive the broker's lease on the item, which would then go to another consumer as well).
 */
export function retryDelayMs(failed: number, retry: RetrySettings, retryAfter: number | undefined, random: () => number = Math.random): number {
  const backoff = backoffDelayMs(failed, retry, random);
  return Math.min(retry.maxDelayMs, Math.max(backoff, retryAfter ?? 0));
}
