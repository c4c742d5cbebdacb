/**
 * Request batches shaped like the refresher's output, for the queue bench: 32-hex request ids, 22-character
 * cookie ids, partner user ids of the usual styles, 0-4 segment codes, the odd removed code. Seeded, built
 * before timing starts and enqueued over and over (the broker copies what it keeps).
 */
import { requestBatchOf, type QueueKey, type RequestBatch, type SyncRequest } from '../queue-bridge/index.ts';
import { seededRandom } from '../udfs/index.ts';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HEX = '0123456789abcdef';

/** `count` batches of `size` requests for `key`. */
export function benchBatches(key: QueueKey, count: number, size: number, seed = 7): RequestBatch[] {
  const { float: rnd } = seededRandom(seed);
  const pick = (alphabet: string, n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    return s;
  };
  const codes = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? String(50_000 + i) : `seg-${pick('abcdefghijklmnopqrstuvwxyz', 4 + (i % 9))}`));
  const puid = () => {
    const style = Math.floor(rnd() * 4);
    if (style === 0) return pick(HEX, 16).toUpperCase();
    if (style === 1) return String(1e18 + Math.floor(rnd() * 8e18));
    if (style === 2) return `${pick(HEX, 8)}-${pick(HEX, 4)}-${pick(HEX, 4)}-${pick(HEX, 4)}-${pick(HEX, 12)}`;
    return `CAESE${pick(B64, 22)}`;
  };
  const batches: RequestBatch[] = [];
  for (let b = 0; b < count; b++) {
    const reqs: SyncRequest[] = [];
    for (let i = 0; i < size; i++) {
      reqs.push({
        requestId: pick(HEX, 32),
        partnerId: key.partnerId,
        priority: key.priority,
        cookieId: pick(B64, 22),
        partnerUserId: puid(),
        segments: Array.from({ length: Math.floor(rnd() * 5) }, () => codes[Math.floor(rnd() * codes.length)]!),
        removedSegments: rnd() < 0.1 ? [codes[Math.floor(rnd() * codes.length)]!] : [],
        syncedAt: 1_795_000_000_000 + Math.floor(rnd() * 86_400_000),
        expiresAt: 1_797_600_000_000,
      });
    }
    batches.push(requestBatchOf(key, reqs));
  }
  return batches;
}
