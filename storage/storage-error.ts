/** A storage failure that names the URI involved and says what to do about it. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly uri: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(`${uri}: ${message}${hint ? ` (${hint})` : ''}`, options);
  }
}
