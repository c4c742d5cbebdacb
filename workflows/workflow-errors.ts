/**
 * Workflow errors. Each says which workflow (and stage, and period) and what to do. Whether a failed stage is
 * worth another attempt is decided here too (`isRetryable`), in one place, so the rule is easy to find.
 */
import { BadRecordRateError, JobDefinitionError, JobError } from '../engine/index.ts';

/** A workflow definition that cannot run: found by `defineWorkflow`, before anything runs. */
export class WorkflowDefinitionError extends Error {
  override readonly name = 'WorkflowDefinitionError';
  constructor(
    readonly workflow: string,
    message: string,
  ) {
    super(`workflow "${workflow}": ${message}`);
  }
}

/** A stage's inputs were still incomplete when the wait (`waitedMs`, 0: none) ran out; `missing` lists every URI without `_SUCCESS`. */
export class InputsNotReadyError extends Error {
  override readonly name = 'InputsNotReadyError';
  constructor(
    readonly stage: string,
    readonly missing: readonly string[],
    readonly waitedMs: number,
  ) {
    super(
      `stage "${stage}": ${missing.length} input${missing.length === 1 ? '' : 's'} incomplete (no _SUCCESS marker)` +
        `${waitedMs > 0 ? ` after waiting ${formatDuration(waitedMs)}` : ''}:\n${missing.map((m) => `  ${m}`).join('\n')}\n` +
        'Produce the missing datasets (or re-run the stage that writes them), or wait for them with --wait (e.g. --wait 2h).',
    );
  }
}

/** A stage that did not run because a stage it depends on (in this period or the previous one) did not succeed. */
export class StageBlockedError extends Error {
  override readonly name = 'StageBlockedError';
}

/** Thrown by a stage to say that running it again cannot help (bad data, bad settings). */
export class NonRetryableError extends Error {
  override readonly name = 'NonRetryableError';
}

/**
 * Whether another attempt of a failed stage may succeed. Not retried, because the same input and code fail the
 * same way again:
 * - too many bad records (BadRecordRateError), a job or workflow definition error, a stage's own
 *   NonRetryableError, inputs that did not arrive within the wait, a blocked stage, anything with
 *   `retryable: false`, or any of these as a `cause`;
 * - a JobError without a cause: the engine's own checks before reading data (bad parameters, missing or
 *   mistyped inputs, an output in the way);
 * - a TypeError, RangeError, ReferenceError, SyntaxError or ZodError thrown by the stage itself: bugs and bad
 *   parameters.
 * Everything else (storage hiccups, a crashed worker, a full disk that was cleaned, errors the engine wraps as a
 * JobError's cause) is retried with backoff.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof JobError && error.cause === undefined) return false;
  if (error instanceof Error && ['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'ZodError'].includes(error.name)) return false;
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    if (
      e instanceof BadRecordRateError ||
      e instanceof JobDefinitionError ||
      e instanceof WorkflowDefinitionError ||
      e instanceof NonRetryableError ||
      e instanceof InputsNotReadyError ||
      e instanceof StageBlockedError
    ) {
      return false;
    }
    if (typeof e === 'object' && (e as { retryable?: unknown }).retryable === false) return false;
    e = e instanceof Error ? e.cause : undefined;
  }
  return true;
}

/** `1.5 s`, `2 min 5 s`, `1 h 2 min` for messages and listings. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 100) / 10;
  if (s < 60) return `${s} s`;
  const whole = Math.round(ms / 1000);
  const h = Math.floor(whole / 3600);
  const min = Math.floor((whole % 3600) / 60);
  const sec = whole % 60;
  return h > 0 ? `${h} h ${min} min` : `${min} min ${sec} s`;
}
