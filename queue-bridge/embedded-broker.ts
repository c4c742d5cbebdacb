/**
 * The in-process broker of the embedded default: queues per partner × priority in this process's memory.
 *
 * Each enqueued batch becomes one chunk: the records packed into one UTF-8 buffer, timestamps in Float64Arrays, a
 * byte of state and a delivery count per item. Ten million items are then a few thousand objects, not ten
 * million (an object per item costs more than the item and makes every GC walk them). Leases live in a map
 * and a deadline heap beside the chunks: only the in-flight items, a small fraction, pay for an object.
 */
import { BrokerClosedError, type Broker, type DeliveryTag, type EnqueueResult, type LeasedRequest, type QueueStats, type ReceiveOptions } from './broker.ts';
import { MinHeap } from './min-heap.ts';
import { decodeRecord, packRecords } from './request-codec.ts';
import { checkQueueKey, PRIORITY_ORDER, queueName, type Priority, type QueueKey, type RequestBatch } from './sync-request.ts';

/** Options of the embedded broker. */
export interface EmbeddedBrokerOptions {
  /** Lease length in ms. Default 30 s. */
  visibilityTimeoutMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const ACKED = 1;
const EMPTY = Buffer.alloc(0);

interface Chunk {
  readonly firstSeq: number;
  readonly count: number;
  bytes: Buffer;
  ends: Uint32Array;
  syncedAt: Float64Array;
  expiresAt: Float64Array;
  /** ACKED or 0 per item (freed with the rest once every item is acknowledged). */
  state: Uint8Array;
  /** Deliveries so far per item (saturates at 255). */
  deliveries: Uint8Array;
  unacked: number;
}

function isAcked(chunk: Chunk, seq: number): boolean {
  return chunk.unacked === 0 || chunk.state[seq - chunk.firstSeq] === ACKED;
}

interface Lease {
  readonly delivery: number;
  readonly deadline: number;
}

interface Waiting {
  readonly seq: number;
  readonly at: number;
}

class EmbeddedQueue {
  readonly name: string;
  private chunks: Chunk[] = [];
  /** Index in `chunks` of the first chunk with unacknowledged items. */
  private head = 0;
  nextSeq = 1;
  /** The next never-delivered item. */
  private cursor = 1;
  depth = 0;
  readonly leases = new Map<number, Lease>();
  /** Leases by deadline; stale entries (acked, or leased again) are skipped when popped. */
  private readonly deadlines = new MinHeap<Waiting & { delivery: number }>((a, b) => a.at - b.at);
  /** Items given back (nack or expired lease), by the time they may go out again. */
  private readonly redeliveries = new MinHeap<Waiting>((a, b) => a.at - b.at || a.seq - b.seq);
  private readonly redeliveryPending = new Set<number>();

  constructor(
    readonly key: QueueKey,
    readonly index: number,
  ) {
    this.name = queueName(key);
  }

  enqueue(batch: RequestBatch, where: string): EnqueueResult {
    const { bytes, ends } = packRecords(batch, where);
    const n = batch.length;
    const chunk: Chunk = {
      firstSeq: this.nextSeq,
      count: n,
      bytes,
      ends,
      syncedAt: Float64Array.from(batch.syncedAt),
      expiresAt: Float64Array.from(batch.expiresAt),
      state: new Uint8Array(n),
      deliveries: new Uint8Array(n),
      unacked: n,
    };
    this.chunks.push(chunk);
    this.nextSeq += n;
    this.depth += n;
    return { firstSeq: chunk.firstSeq, count: n };
  }

  private chunkOf(seq: number): Chunk | undefined {
    let lo = this.head;
    let hi = this.chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.chunks[mid]!;
      if (seq < c.firstSeq) hi = mid - 1;
      else if (seq >= c.firstSeq + c.count) lo = mid + 1;
      else return c;
    }
    return undefined;
  }

  /** Expired leases become redeliveries. */
  private expire(now: number): void {
    for (let top = this.deadlines.peek(); top && top.at <= now; top = this.deadlines.peek()) {
      this.deadlines.pop();
      const lease = this.leases.get(top.seq);
      if (lease && lease.delivery === top.delivery) {
        this.leases.delete(top.seq);
        this.giveBack(top.seq, now);
      }
    }
  }

  private giveBack(seq: number, at: number): void {
    if (this.redeliveryPending.has(seq)) return;
    this.redeliveryPending.add(seq);
    this.redeliveries.push({ seq, at });
  }

  receive(max: number, now: number, visibilityMs: number, out: LeasedRequest[]): void {
    this.expire(now);
    const deadline = now + visibilityMs;
    const lease = (chunk: Chunk, seq: number) => {
      const i = seq - chunk.firstSeq;
      const delivery = Math.min(255, chunk.deliveries[i]! + 1);
      chunk.deliveries[i] = delivery;
      this.leases.set(seq, { delivery, deadline });
      this.deadlines.push({ seq, at: deadline, delivery });
      const start = i === 0 ? 0 : chunk.ends[i - 1]!;
      const text = chunk.bytes.toString('utf8', start, chunk.ends[i]!);
      out.push({
        tag: `${this.index}:${seq}:${delivery}` as DeliveryTag,
        request: decodeRecord(text, this.key, chunk.syncedAt[i]!, chunk.expiresAt[i]!),
        deliveries: delivery,
      });
    };
    for (let r = this.redeliveries.peek(); out.length < max && r && r.at <= now; r = this.redeliveries.peek()) {
      this.redeliveries.pop();
      this.redeliveryPending.delete(r.seq);
      const chunk = this.chunkOf(r.seq);
      if (!chunk || isAcked(chunk, r.seq) || this.leases.has(r.seq)) continue;
      lease(chunk, r.seq);
    }
    while (out.length < max && this.cursor < this.nextSeq) {
      const seq = this.cursor++;
      const chunk = this.chunkOf(seq);
      if (!chunk || isAcked(chunk, seq)) continue;
      lease(chunk, seq);
    }
  }

  ack(seq: number): boolean {
    const chunk = this.chunkOf(seq);
    if (!chunk || isAcked(chunk, seq)) return false;
    chunk.state[seq - chunk.firstSeq] = ACKED;
    this.leases.delete(seq);
    this.depth--;
    if (--chunk.unacked === 0) this.release(chunk);
    return true;
  }

  nack(seq: number, delivery: number, at: number): boolean {
    const lease = this.leases.get(seq);
    if (!lease || lease.delivery !== delivery) return false;
    this.leases.delete(seq);
    this.giveBack(seq, at);
    return true;
  }

  /** Frees a fully acknowledged chunk's memory and drops acknowledged chunks from the front. */
  private release(chunk: Chunk): void {
    chunk.bytes = EMPTY;
    chunk.ends = new Uint32Array(0);
    chunk.syncedAt = new Float64Array(0);
    chunk.expiresAt = new Float64Array(0);
    chunk.state = new Uint8Array(0);
    chunk.deliveries = new Uint8Array(0);
    while (this.head < this.chunks.length && this.chunks[this.head]!.unacked === 0) this.head++;
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  ackFloor(): number {
    const c = this.chunks[this.head];
    if (!c) return this.nextSeq;
    // The head chunk has an unacknowledged item; find the first (acks arrive out of order).
    const i = c.state.indexOf(0);
    return c.firstSeq + (i < 0 ? c.count : i);
  }

  stats(): QueueStats {
    return { ...this.key, queue: this.name, depth: this.depth, inFlight: this.leases.size, ackFloor: this.ackFloor(), nextSeq: this.nextSeq };
  }
}

/** Parses `queueIndex:seq:delivery`; a foreign tag is an error naming it. */
function parseTag(tag: DeliveryTag): [number, number, number] {
  const parts = tag.split(':');
  const nums = parts.map(Number);
  if (parts.length !== 3 || nums.some((x) => !Number.isSafeInteger(x))) {
    throw new Error(`delivery tag "${tag}" was not issued by the embedded broker`);
  }
  return nums as [number, number, number];
}

/** The single-process broker: fast, compact, and gone with the process (the bridge's checkpoint covers that). */
export class EmbeddedBroker implements Broker {
  readonly kind = 'embedded' as const;
  readonly visibilityTimeoutMs: number;
  private readonly now: () => number;
  private readonly queues: EmbeddedQueue[] = [];
  private readonly byName = new Map<string, EmbeddedQueue>();
  private wakers = new Set<() => void>();
  private closed = false;

  constructor(options: EmbeddedBrokerOptions = {}) {
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  private open(): void {
    if (this.closed) throw new BrokerClosedError(this.kind);
  }

  private queue(key: QueueKey, create: boolean): EmbeddedQueue | undefined {
    const name = queueName(key);
    let q = this.byName.get(name);
    if (!q && create) {
      checkQueueKey(key, 'enqueue');
      q = new EmbeddedQueue({ partnerId: key.partnerId, priority: key.priority }, this.queues.length);
      this.queues.push(q);
      this.byName.set(name, q);
    }
    return q;
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = new Set();
    for (const w of wakers) w();
  }

  async enqueue(key: QueueKey, batch: RequestBatch): Promise<EnqueueResult> {
    this.open();
    const q = this.queue(key, true)!;
    const result = batch.length === 0 ? { firstSeq: q.nextSeq, count: 0 } : q.enqueue(batch, `enqueue to ${q.name}`);
    if (batch.length > 0) this.wake();
    return result;
  }

  private partnerQueues(partnerId: number): EmbeddedQueue[] {
    const out: EmbeddedQueue[] = [];
    for (const priority of PRIORITY_ORDER as Priority[]) {
      const q = this.queue({ partnerId, priority }, false);
      if (q) out.push(q);
    }
    return out;
  }

  async receive(partnerId: number, options: ReceiveOptions): Promise<LeasedRequest[]> {
    this.open();
    const out: LeasedRequest[] = [];
    const waitUntil = this.now() + (options.waitMs ?? 0);
    for (;;) {
      const now = this.now();
      for (const q of this.partnerQueues(partnerId)) {
        if (out.length >= options.max) break;
        q.receive(options.max, now, this.visibilityTimeoutMs, out);
      }
      if (out.length > 0 || now >= waitUntil || this.closed) return out;
      // Woken by an enqueue or a nack; the timer catches leases expiring and delayed redeliveries.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(waitUntil - now, 25));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wakers.add(done);
      });
    }
  }

  async ack(tags: readonly DeliveryTag[]): Promise<number> {
    this.open();
    let n = 0;
    for (const tag of tags) {
      const [qi, seq] = parseTag(tag);
      if (this.queues[qi]?.ack(seq)) n++;
    }
    return n;
  }

  async nack(tags: readonly DeliveryTag[], options: { delayMs?: number } = {}): Promise<number> {
    this.open();
    const at = this.now() + Math.max(0, options.delayMs ?? 0);
    let n = 0;
    for (const tag of tags) {
      const [qi, seq, delivery] = parseTag(tag);
      if (this.queues[qi]?.nack(seq, delivery, at)) n++;
    }
    if (n > 0) this.wake();
    return n;
  }

  async stats(key?: QueueKey): Promise<QueueStats[]> {
    this.open();
    if (key) {
      const q = this.queue(key, false);
      return q ? [q.stats()] : [];
    }
    return this.queues.map((q) => q.stats());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
  }
}
