// The syncer's inputs as plain data: deliverer/ may not import config/, so the CLI maps the job config onto these
// types (secrets already resolved) and tests build them directly.

/** A header value: a template (macros allowed), or a secret read from its source by the caller. */
export type HeaderSetting = string | { secret: string; source: string };

/** Retries of 5xx, 429, timeouts and connection errors. */
export interface RetrySettings {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** Upper bound of the first retry's delay; the bound doubles each attempt (full jitter below it). */
  baseDelayMs: number;
  /** Upper bound of every delay, Retry-After included. */
  maxDelayMs: number;
}

/** How the syncer talks to one partner's HTTP API. */
export interface PartnerStreamingSettings {
  partnerId: number;
  /** Short name for metrics and logs. */
  name: string;
  /** URL template; macros only after the origin (path and query). */
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  headers: Record<string, HeaderSetting>;
  /** Body template for POST/PUT. */
  body?: string;
  /** Requests in flight at once to this partner from this process (also its connection limit). */
  concurrency: number;
  rateLimitPerSecond: number;
  timeoutMs: number;
  retry: RetrySettings;
}

/** Where dead letters go and how they are batched. */
export interface DeadLetterSettings {
  /** Storage URI of the dead-letter root; datasets land under `<uri>/dt=D/partner=P/flush=…`. */
  uri: string;
  /** Dead letters buffered before a flush is started. */
  flushRows: number;
  /** Longest a dead letter waits in memory (and its broker item unacknowledged) before a flush. */
  flushEveryMs: number;
}

/** How one syncer process consumes. */
export interface SyncerSettings {
  /** Receive loops per partner in this process. */
  workersPerPartner: number;
  /** Items taken from the broker in one receive. */
  receiveBatch: number;
  /** Items a partner may hold in this process (sending, waiting for a token, or between retries); back-pressure. */
  maxHeldPerPartner?: number;
  /** Pause of a receive loop after the broker had nothing for it. */
  idlePollMs: number;
  deadLetters: DeadLetterSettings;
}
