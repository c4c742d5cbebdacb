/**
 * The broker contract both brokers (embedded, Redis Streams) keep, and what consumers such as the streaming
 * syncer program against. Every operation is a batch: one call per thousands of items, never one per item.
 *
 * Guarantees: at-least-once. An item leaves its queue only when acknowledged; an item received and neither
 * acknowledged nor released within the visibility timeout is delivered again (to any consumer). Within a
 * partner, `high` items are handed out before `normal` ones.
 */
import type { QueueKey, RequestBatch, SyncRequest } from './sync-request.ts';

/** Opaque handle of one delivery of one item; pass it back to `ack` or `nack`. */
export type DeliveryTag = string & { readonly __deliveryTag: unique symbol };

/** An item handed to a consumer, leased until the visibility timeout. */
export interface LeasedRequest {
  readonly tag: DeliveryTag;
  readonly request: SyncRequest;
  /** 1 on the first delivery, more when the item comes back after a timeout, a nack or a dead consumer. */
  readonly deliveries: number;
}

/** Where an enqueued batch landed: its items have sequence numbers `firstSeq` … `firstSeq + count - 1`. */
export interface EnqueueResult {
  readonly firstSeq: number;
  readonly count: number;
}

/** What a queue holds right now. */
export interface QueueStats extends QueueKey {
  readonly queue: string;
  /** Items not yet acknowledged: waiting plus in flight. */
  readonly depth: number;
  /** Items received and not yet acknowledged, released or expired. */
  readonly inFlight: number;
  /** Every item with a sequence number below this has been acknowledged (acks may arrive out of order). */
  readonly ackFloor: number;
  /** The sequence number the next enqueued item will get. */
  readonly nextSeq: number;
}

/** Options of `receive`. */
export interface ReceiveOptions {
  /** At most this many items (from the partner's `high` queue first, then `normal`). */
  readonly max: number;
  /** When nothing is ready, wait up to this long for items before returning an empty list. Default 0. */
  readonly waitMs?: number;
}

/** The queues of data sync requests, per partner × priority. */
export interface Broker {
  readonly kind: 'embedded' | 'redis';
  /** The lease length: unacknowledged items are delivered again this long after they were received. */
  readonly visibilityTimeoutMs: number;
  /** Appends a batch to a queue; sequence numbers within a queue increase by one per item. */
  enqueue(queue: QueueKey, batch: RequestBatch): Promise<EnqueueResult>;
  /** Leases up to `max` items of one partner, `high` before `normal`, redeliveries before new items. */
  receive(partnerId: number, options: ReceiveOptions): Promise<LeasedRequest[]>;
  /** Removes delivered items for good; returns how many were still there (an item acked twice counts once). */
  ack(tags: readonly DeliveryTag[]): Promise<number>;
  /**
   * Gives items back to be delivered again after `delayMs` (default 0, at most the visibility timeout on Redis).
   * A tag whose lease already expired and went to another consumer is ignored. Returns how many were released.
   */
  nack(tags: readonly DeliveryTag[], options?: { delayMs?: number }): Promise<number>;
  /** Every known queue's depth, in-flight count and acknowledgement floor (one queue when given). */
  stats(queue?: QueueKey): Promise<QueueStats[]>;
  /** Closes connections and wakes waiting receivers; later calls fail. */
  close(): Promise<void>;
}

/** Thrown by a broker used after `close()`. */
export class BrokerClosedError extends Error {
  constructor(kind: string) {
    super(`the ${kind} broker is closed`);
    this.name = 'BrokerClosedError';
  }
}
