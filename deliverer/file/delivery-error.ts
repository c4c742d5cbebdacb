/**
 * Why a delivery failed, sorted by what to do about it: `connection` is retried with backoff (the file restarts
 * from the start); the others stop the partner for this pass and leave its files pending, so other partners go on.
 */
export type DeliveryErrorKind =
  /** Dropped, refused or timed-out connection: retried. */
  | 'connection'
  /** The server's host key differs from the pinned fingerprint: never retried until the config changes. */
  | 'host-key'
  /** Login refused. */
  | 'auth'
  /** The partner's disk is full, read-only, or refuses writes in the remote directory. */
  | 'remote-storage'
  /** A remote file with the final name exists with other content: the deliverer never overwrites one. */
  | 'conflict'
  /** Not enough local disk for the spool copy, or the stored file differs from its marker. */
  | 'local';

export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';

  constructor(
    readonly kind: DeliveryErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.kind === 'connection';
  }
}

/** True when `error` is a DeliveryError worth retrying. */
export function isRetryable(error: unknown): boolean {
  return error instanceof DeliveryError && error.retryable;
}
