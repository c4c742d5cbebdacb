// How a courier run ends, for scripts and schedulers: 0 ok, 1 the work failed, 2 the invocation or config is wrong.

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Thrown by a command when its arguments are wrong; the run prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
