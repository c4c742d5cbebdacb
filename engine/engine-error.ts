/**
 * Engine errors: each names the job and step, says what happened and what to do. User code errors keep
 * their own stack: they are attached as `cause`, never re-thrown with a replaced stack.
 */

/** A job definition that cannot run (found by `defineJob`, before any data is touched). */
export class JobDefinitionError extends Error {
  override readonly name = 'JobDefinitionError';
  constructor(
    readonly job: string,
    message: string,
  ) {
    super(`job "${job}": ${message}`);
  }
}

/** A run that failed: bad parameters, unreadable inputs, an output in the way, a failed write. */
export class JobError extends Error {
  override readonly name: string = 'JobError';
  constructor(
    readonly job: string,
    readonly step: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`job "${job}"${step !== undefined ? ` step "${step}"` : ''}: ${message}`, options);
  }
}

/** Where a bad record was met. */
export interface BadRecordLocation {
  readonly phase: 'map' | 'combine' | 'reduce';
  readonly input: string | null;
  readonly file: string | null;
  readonly row: number | null;
  /** The reduce or combine key, as JSON. */
  readonly key?: string;
}

/** A step whose user code threw on more records than its `maxBadRecordRate` allows. */
export class BadRecordRateError extends JobError {
  override readonly name = 'BadRecordRateError';
  constructor(
    job: string,
    step: string,
    message: string,
    readonly badRecords: number,
    readonly recordsIn: number,
    readonly topErrors: readonly { readonly message: string; readonly count: number }[],
    readonly firstBadRecord: BadRecordLocation,
    readonly quarantine: string,
    cause: unknown,
  ) {
    super(job, step, message, { cause });
  }
}
