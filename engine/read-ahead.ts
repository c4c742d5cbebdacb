/**
 * Pulls an async iterable ahead of its consumer. A reduce task's consumer is the Parquet writer, which
 * awaits DuckDB (writing a file on DuckDB's threads) with this thread idle; pulling ahead lets the reducer
 * compute its next batches in that time instead of after it.
 */

/**
 * Yields what `source` yields, in order, while keeping up to `limit` items pulled ahead. An error from
 * `source` reaches the consumer after the items before it; a consumer that stops early stops `source`.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, limit: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const queue: T[] = [];
  let ended = false;
  let failed = false;
  let failure: unknown;
  let stopped = false;
  // Wakes the consumer (an item, the end or an error) or the pump (room in the queue).
  let wakeConsumer: (() => void) | undefined;
  let wakePump: (() => void) | undefined;

  const pump = async (): Promise<void> => {
    try {
      while (!stopped) {
        if (queue.length >= limit) {
          await new Promise<void>((resolve) => (wakePump = resolve));
          continue;
        }
        const r = await it.next();
        if (r.done) break;
        queue.push(r.value);
        wakeConsumer?.();
      }
    } catch (error) {
      failed = true;
      failure = error;
    }
    ended = true;
    wakeConsumer?.();
  };
  const pumping = pump();

  try {
    for (;;) {
      if (queue.length > 0) {
        const item = queue.shift()!;
        wakePump?.();
        wakePump = undefined;
        yield item;
        continue;
      }
      if (ended) {
        if (failed) throw failure;
        return;
      }
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
      wakeConsumer = undefined;
    }
  } finally {
    if (!ended) {
      stopped = true;
      wakePump?.();
      await pumping;
      await it.return?.();
    }
  }
}
