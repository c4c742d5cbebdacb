// The broker the config's `queue` section names, opened and ready: shared by the commands that use the queues.
import type { QueueConfig } from '../config/index.ts';
import { EmbeddedBroker, RedisBroker, type Broker } from '../queue-bridge/index.ts';

/** Opens the configured broker; a Redis broker is connected first so a wrong URL fails here, naming it. */
export async function brokerFromConfig(queue: QueueConfig): Promise<Broker> {
  if (queue.broker === 'embedded') return new EmbeddedBroker({ visibilityTimeoutMs: queue.visibilityTimeoutMs });
  const redis = queue.redis;
  if (!redis) throw new Error('queue.broker is redis but queue.redis is missing; add queue.redis.url');
  const broker = new RedisBroker({ url: redis.url, keyPrefix: redis.keyPrefix, visibilityTimeoutMs: queue.visibilityTimeoutMs });
  try {
    await broker.connect();
  } catch (e) {
    await broker.close();
    throw new Error(`cannot reach the Redis broker at ${redis.url} (queue.redis.url): ${(e as Error).message}; start Redis or fix the URL`, { cause: e });
  }
  return broker;
}
