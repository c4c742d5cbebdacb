import { describe, expect, it } from 'vitest';
import { exampleConfigPath, loadConfig } from '../../config/index.ts';
import { sectionFixtures } from './config-fixtures.ts';

const { parse, problems } = sectionFixtures('queue-test');

describe('queue config', () => {
  it('defaults to the embedded broker and a 10M-item window', () => {
    const { queue } = parse('');
    expect(queue).toEqual({
      broker: 'embedded',
      requestsDataset: 'requests',
      windowItems: 10_000_000,
      visibilityTimeoutMs: 30_000,
      pollMs: 200,
      checkpointEveryMs: 2000,
      discoverEveryMs: 30_000,
    });
  });

  it('takes a Redis broker with its url', () => {
    const { queue } = parse('queue:\n  broker: redis\n  redis:\n    url: redis://10.0.0.5:6380/2\n  windowItems: 500000');
    expect(queue.redis).toEqual({ url: 'redis://10.0.0.5:6380/2', keyPrefix: 'courier:' });
    expect(queue.windowItems).toBe(500_000);
  });

  it('names the missing redis section and bad values, all at once', () => {
    const found = problems('queue:\n  broker: redis\n  windowItems: 0\n  visibilityTimeoutMs: fast');
    expect(found.map((p) => p.path).sort()).toEqual(['queue.redis', 'queue.visibilityTimeoutMs', 'queue.windowItems']);
    expect(found.find((p) => p.path === 'queue.redis')?.message).toMatch(/broker is redis but there is no redis/);
    expect(problems('queue:\n  broker: rabbit')[0]?.message).toMatch(/embedded.*redis/);
    expect(problems('queue:\n  broker: redis\n  redis:\n    url: http://x:1')[0]?.path).toBe('queue.redis.url');
  });

  it('documents the section in the shipped example', async () => {
    const config = await loadConfig(exampleConfigPath, { env: {} });
    expect(config.queue.broker).toBe('embedded');
    expect(config.queue.windowItems).toBe(10_000_000);
  });
});
