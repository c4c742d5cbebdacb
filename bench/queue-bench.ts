/**
 * bench/queue: fills the brokers with refresher-shaped requests.
 *
 * - embedded: 10M items into the in-process broker: items/s and bytes per item (RSS delta / items), in a child
 *   process of its own so RSS is clean. Goals ≥ 1M items/s, ≤ 150 B/item. Anchor: the same requests kept as one
 *   JS object per item (what the broker avoids), 2M of them, in its own child.
 * - redis: 2M items through the Redis broker (server-side XADD runs, pipelined) into a redis-server started here. Goal ≥ 200k
 *   items/s. Anchor: multi-value RPUSH of the same entry texts, 1000 per command (the fastest bulk write Redis has).
 *
 * `--items N` (embedded) and `--redis-items N` change the counts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { EmbeddedBroker, RedisBroker, type QueueKey, type RequestBatch } from '../queue-bridge/index.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { report } from './bench-report.ts';
import { benchBatches } from './queue-items.ts';

const BATCH = 10_000;
const KEYS: QueueKey[] = [1, 2, 3, 4].flatMap((partnerId) => (['high', 'normal'] as const).map((priority) => ({ partnerId, priority })));
const US = '\x1f';
const RS = '\x1e';

interface ChildResult {
  items: number;
  seconds: number;
  bytesPerItem?: number;
}

function argOf(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The pool of batches per queue, built before timing (the broker copies what it keeps). */
function pool(): Map<QueueKey, RequestBatch[]> {
  return new Map(KEYS.map((k, i) => [k, benchBatches(k, 3, BATCH, 100 + i)]));
}

function settledRss(): number {
  for (let i = 0; i < 3; i++) globalThis.gc!();
  return process.memoryUsage().rss;
}

/** Enqueues pool batches round-robin over the queues until `items` are in; `afterRound` sees the count so far. Returns the count. */
async function fillRounds(
  items: number,
  batches: Map<QueueKey, RequestBatch[]>,
  enqueue: (key: QueueKey, batch: RequestBatch) => Promise<unknown>,
  afterRound?: (done: number) => void,
): Promise<number> {
  let done = 0;
  for (let round = 0; done < items; round++) {
    for (const key of KEYS) {
      if (done >= items) break;
      const list = batches.get(key)!;
      await enqueue(key, list[round % list.length]!);
      done += BATCH;
    }
    afterRound?.(done);
  }
  return done;
}

/**
 * RSS is read after a tenth of the items and at the end: the delta over the last nine tenths is what the items
 * cost, without the pool's garbage or the heap settling at the start.
 */
async function fillEmbedded(items: number): Promise<ChildResult> {
  const batches = pool();
  const broker = new EmbeddedBroker();
  settledRss();
  const t0 = performance.now();
  let base: { rss: number; done: number } | undefined;
  let paused = 0;
  const done = await fillRounds(items, batches, (key, batch) => broker.enqueue(key, batch), (sofar) => {
    if (!base && sofar >= items / 10) {
      const p0 = performance.now();
      base = { rss: settledRss(), done: sofar };
      paused += performance.now() - p0;
    }
  });
  const seconds = (performance.now() - t0 - paused) / 1000;
  const bytesPerItem = (settledRss() - base!.rss) / (done - base!.done);
  const depth = (await broker.stats()).reduce((n, s) => n + s.depth, 0);
  if (depth !== done) throw new Error(`embedded broker holds ${depth} items, expected ${done}`);
  return { items: done, seconds, bytesPerItem };
}

/** The anchor: one object per item with its own strings (parsed from JSON, as a naive queue would hold them). */
async function fillObjects(items: number): Promise<ChildResult> {
  const lines = [...pool().values()].flat().flatMap((b) =>
    Array.from({ length: b.length }, (_, i) =>
      JSON.stringify({
        requestId: b.requestId[i],
        cookieId: b.cookieId[i],
        partnerUserId: b.partnerUserId[i],
        segments: b.segments[i],
        removedSegments: b.removedSegments[i],
        syncedAt: b.syncedAt[i],
        expiresAt: b.expiresAt[i],
      }),
    ),
  );
  settledRss();
  const held: unknown[] = [];
  const t0 = performance.now();
  let base: { rss: number; at: number } | undefined;
  let paused = 0;
  for (let i = 0; i < items; i++) {
    held.push(JSON.parse(lines[i % lines.length]!));
    if (!base && i + 1 >= items / 10) {
      const p0 = performance.now();
      base = { rss: settledRss(), at: i + 1 };
      paused += performance.now() - p0;
    }
  }
  const seconds = (performance.now() - t0 - paused) / 1000;
  const bytesPerItem = (settledRss() - base!.rss) / (items - base!.at);
  if (held.length !== items) throw new Error('anchor lost items');
  return { items, seconds, bytesPerItem };
}

async function fillRedis(items: number, url: string): Promise<ChildResult> {
  const batches = pool();
  const broker = new RedisBroker({ url, keyPrefix: 'bench:' });
  await broker.connect();
  const t0 = performance.now();
  const done = await fillRounds(items, batches, (key, batch) => broker.enqueue(key, batch));
  const seconds = (performance.now() - t0) / 1000;
  const depth = (await broker.stats()).reduce((n, s) => n + s.depth, 0);
  await broker.close();
  if (depth !== done) throw new Error(`redis broker holds ${depth} items, expected ${done}`);
  return { items: done, seconds };
}

async function fillRpush(items: number, url: string): Promise<ChildResult> {
  const texts = new Map(
    [...pool()].map(([k, list]) => [
      k,
      list.map((b) =>
        Array.from({ length: b.length }, (_, i) =>
          [b.requestId[i], b.cookieId[i], b.partnerUserId[i], b.segments[i]!.join(RS), b.removedSegments[i]!.join(RS), b.syncedAt[i], b.expiresAt[i]].join(US),
        ),
      ),
    ]),
  );
  const redis = new Redis(url);
  const t0 = performance.now();
  let done = 0;
  for (let round = 0; done < items; round++) {
    for (const key of KEYS) {
      if (done >= items) break;
      const list = texts.get(key)!;
      const batch = list[round % list.length]!;
      const pipe = redis.pipeline();
      for (let i = 0; i < batch.length; i += 1000) pipe.rpush(`anchor:${key.partnerId}.${key.priority}`, ...batch.slice(i, i + 1000));
      await pipe.exec();
      done += batch.length;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  await redis.quit();
  return { items: done, seconds };
}

function runChild(mode: string, items: number, url = ''): ChildResult {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, String(items), url], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`queue bench child ${mode} failed (${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

async function child(): Promise<void> {
  const [, mode, n, url] = process.argv.slice(process.argv.indexOf('--child'));
  const items = Number(n);
  const result =
    mode === 'embedded'
      ? await fillEmbedded(items)
      : mode === 'objects'
        ? await fillObjects(items)
        : mode === 'redis'
          ? await fillRedis(items, url!)
          : await fillRpush(items, url!);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  const items = argOf('--items', 10_000_000);
  const redisItems = argOf('--redis-items', 2_000_000);

  const embedded = runChild('embedded', items);
  const objects = runChild('objects', Math.min(items, 2_000_000));
  const rate = embedded.items / embedded.seconds;
  const anchorRate = objects.items / objects.seconds;
  report({ bench: 'queue', metric: 'embedded enqueue', value: rate, unit: 'items/s', items: embedded.items, anchor: 'one JS object per item (JSON.parse)', anchorValue: anchorRate, ratio: rate / anchorRate, goal: '>= 1M items/s' });
  report({
    bench: 'queue',
    metric: 'embedded memory',
    value: embedded.bytesPerItem!,
    unit: 'B/item (RSS delta / items, over the last 90% of the fill)',
    items: embedded.items,
    anchor: 'one JS object per item',
    anchorValue: objects.bytesPerItem!,
    ratio: embedded.bytesPerItem! / objects.bytesPerItem!,
    goal: '<= 150 B/item',
  });

  const redis = await startRedis();
  try {
    const viaBroker = runChild('redis', redisItems, redis.url);
    const viaRpush = runChild('rpush', redisItems, redis.url);
    const r = viaBroker.items / viaBroker.seconds;
    const a = viaRpush.items / viaRpush.seconds;
    report({ bench: 'queue', metric: 'redis enqueue (XADD runs of 1000 per EVALSHA, pipelined)', value: r, unit: 'items/s', items: viaBroker.items, anchor: 'multi-value RPUSH, 1000 per command', anchorValue: a, ratio: r / a, goal: '>= 200k items/s' });
  } finally {
    await redis.stop();
  }
}

if (process.argv.includes('--child')) await child();
else await main();
