/**
 * The queue-bridge: streams complete request datasets from the store into the broker, keeping each queue filled
 * up to its share of a window (10M items in all by default) and refilling as consumers drain it.
 *
 * - Oldest dataset first; within a queue, files in marker order, rows in file order.
 * - Shares: the window divided equally among the queues that still have rows to hand over; `high` queues are
 *   topped up first, so when the window is short, new syncs get it before refreshes.
 * - Back-pressure: a queue whose partner is slow or down stays at its share and is not read further; the other
 *   queues keep their shares.
 * - Acknowledgements: each enqueued batch is a span of the queue's sequence numbers mapped to a file range; the
 *   broker's acknowledgement floor moves each file's `acked` mark, which the checkpoint records.
 */
import { checkListedFile, fileSystemFor, lockStoreArea, readParquetFile, type RecordSchema } from '../storage/index.ts';
import type { Broker, QueueStats } from './broker.ts';
import { bridgeAreaUri, readCheckpoint, writeCheckpoint, type BridgeCheckpoint, type FileProgress } from './bridge-checkpoint.ts';
import { completeRequestDays, openRequestDataset, type RequestDataset, type RequestFile } from './request-datasets.ts';
import { queuedRequestSchema, queueName, requestBatchFromColumns, type QueueKey } from './sync-request.ts';

/** The pino-compatible logging the bridge needs. */
export interface BridgeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Options of `runBridge`. */
export interface BridgeOptions {
  /** The storage root URI. */
  root: string;
  broker: Broker;
  /** Dataset name under the root. Default `requests`. */
  requestsDataset?: string;
  /** Items queued in all (waiting plus in flight). Default 10,000,000. */
  windowItems?: number;
  /** How often depths and acknowledgements are looked at, ms. Default 200. */
  pollMs?: number;
  /** How often the checkpoint is written when something moved, ms. Default 2000. */
  checkpointEveryMs?: number;
  /** Keep running and look for new datasets every `discoverEveryMs` (default 30 s) instead of stopping when all are acknowledged. */
  watch?: boolean;
  discoverEveryMs?: number;
  /**
   * Only these partners' files are handed over (the streaming partners: batch partners' requests go out as files and
   * nobody would consume their queues). A dataset is done once these partners' rows are acknowledged. Default: all.
   */
  partnerIds?: readonly number[];
  /** Rows per Parquet read batch (and per enqueue). Default 8192. */
  readBatchRows?: number;
  logger?: BridgeLogger;
  /** Stops the bridge after the current step; the checkpoint is written before `runBridge` returns. */
  signal?: AbortSignal;
  /** Called after every step with the current state (progress display, metrics). */
  onTick?: (snapshot: BridgeSnapshot) => void;
}

/** One queue as the bridge sees it. */
export interface QueueSnapshot extends QueueKey {
  readonly queue: string;
  readonly share: number;
  readonly depth: number;
  readonly inFlight: number;
  /** Items enqueued by this run. */
  readonly enqueued: number;
  /** Rows whose acknowledgement this run recorded in the checkpoint. */
  readonly acked: number;
  /** Rows of discovered datasets not yet handed over. */
  readonly remaining: number;
}

/** The bridge's state after a step. */
export interface BridgeSnapshot {
  readonly windowItems: number;
  /** Items in the broker's queues (all of them, not only those this run enqueued). */
  readonly queued: number;
  readonly queues: readonly QueueSnapshot[];
  readonly datasets: readonly { id: string; done: boolean }[];
}

/** What a bridge run did. */
export interface BridgeResult {
  /** Datasets fully acknowledged (by this run or before). */
  readonly done: readonly string[];
  readonly enqueued: number;
  readonly acked: number;
  /** Rows handed over again because a previous run handed them and their acknowledgement was not recorded. */
  readonly resent: number;
}

interface FileCursor {
  readonly req: RequestFile;
  readonly schema: RecordSchema;
  readonly progress: FileProgress;
  checked: boolean;
}

interface Span {
  readonly firstSeq: number;
  readonly count: number;
  readonly cursor: FileCursor;
  /** Row of the file the span starts at. */
  readonly offset: number;
}

const NOOP_LOGGER: BridgeLogger = { info() {}, warn() {}, debug() {} };

/** One queue's files, read position and spans in the broker. */
class Feed {
  readonly name: string;
  readonly files: FileCursor[] = [];
  private next = 0;
  private spans: Span[] = [];
  private spanHead = 0;
  enqueued = 0;
  acked = 0;
  share = 0;

  constructor(readonly key: QueueKey) {
    this.name = queueName(key);
  }

  /** Rows not yet handed over. */
  remaining(): number {
    let n = 0;
    for (let i = this.next; i < this.files.length; i++) n += this.files[i]!.progress.rows - this.files[i]!.progress.handed;
    return n;
  }

  /** Takes back spans a previous run enqueued that the broker still holds (restored from the checkpoint). */
  adopt(spans: readonly Span[]): void {
    if (spans.length === 0) return;
    this.spans = [...this.spans.slice(this.spanHead), ...spans].sort((a, b) => a.firstSeq - b.firstSeq);
    this.spanHead = 0;
  }

  /** Records in each file's progress the spans of it the broker holds unacknowledged, for a restart to take back. */
  recordSpans(): void {
    const byCursor = new Map<FileCursor, [number, number, number][]>();
    for (let i = this.spanHead; i < this.spans.length; i++) {
      const s = this.spans[i]!;
      let list = byCursor.get(s.cursor);
      if (!list) byCursor.set(s.cursor, (list = []));
      const last = list.at(-1);
      // Spans enqueued back to back from one file merge: usually one span per file per run.
      if (last && last[0] + last[2] === s.firstSeq && last[1] + last[2] === s.offset) last[2] += s.count;
      else list.push([s.firstSeq, s.offset, s.count]);
    }
    for (const cursor of this.files) {
      const list = byCursor.get(cursor);
      if (list) cursor.progress.spans = list;
      else delete cursor.progress.spans;
    }
  }

  /** Moves files' acked marks up to the broker's floor; true when something moved. */
  advance(floor: number): boolean {
    let moved = false;
    while (this.spanHead < this.spans.length) {
      const s = this.spans[this.spanHead]!;
      const upTo = Math.min(s.count, floor - s.firstSeq);
      if (upTo <= 0) break;
      const mark = s.offset + upTo;
      if (mark > s.cursor.progress.acked) {
        this.acked += mark - s.cursor.progress.acked;
        s.cursor.progress.acked = mark;
        moved = true;
      }
      if (upTo < s.count) break;
      this.spanHead++;
    }
    if (this.spanHead > 1024 && this.spanHead * 2 > this.spans.length) {
      this.spans.splice(0, this.spanHead);
      this.spanHead = 0;
    }
    return moved;
  }

  /** Reads up to `want` rows from where this queue stopped and enqueues them; returns how many. */
  async fill(broker: Broker, want: number, batchRows: number): Promise<number> {
    let got = 0;
    while (got < want && this.next < this.files.length) {
      const cur = this.files[this.next]!;
      const p = cur.progress;
      if (p.handed >= p.rows) {
        this.next++;
        continue;
      }
      const file = cur.req.file;
      if (!cur.checked) {
        await checkListedFile(file);
        cur.checked = true;
      }
      const local = await fileSystemFor(file.uri).localPathFor(file.uri);
      const fileSchema = { fields: cur.schema.fields.filter((f) => !(f.name in file.partition)) };
      const toRow = Math.min(p.rows, p.handed + (want - got));
      const columns = queuedRequestSchema.fields.map((f) => f.name);
      for await (const batch of readParquetFile(local, fileSchema, { columns, batchRows, fromRow: p.handed, toRow }, file.uri)) {
        const requests = requestBatchFromColumns(batch, file.uri, p.handed);
        const { firstSeq, count } = await broker.enqueue(this.key, requests);
        this.spans.push({ firstSeq, count, cursor: cur, offset: p.handed });
        p.handed += count;
        got += count;
        this.enqueued += count;
      }
      if (p.handed < toRow) {
        throw new Error(`${file.uri}: read stopped at row ${p.handed} of ${toRow}; the file has fewer rows than its _SUCCESS marker says`);
      }
    }
    return got;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

/** High queues first, then by partner id. */
function feedOrder(a: Feed, b: Feed): number {
  return (a.key.priority === 'high' ? 0 : 1) - (b.key.priority === 'high' ? 0 : 1) || a.key.partnerId - b.key.partnerId;
}

/**
 * Runs the bridge until every discovered dataset is handed over and acknowledged (or, with `watch`, until
 * `signal` aborts). Resumes from the checkpoint; writes it as it goes and before returning. Holds the store's
 * bridge lock (`_bridge/lock`): a second bridge on the same store is refused, naming the first; if the lock is
 * lost while running, the bridge stops as on `signal`, writes its checkpoint and throws.
 */
export async function runBridge(options: BridgeOptions): Promise<BridgeResult> {
  let lost: Error | undefined;
  const stop = new AbortController();
  const lock = await lockStoreArea(bridgeAreaUri(options.root), {
    holder: 'the queue bridge',
    onLost: (e) => {
      lost = e;
      stop.abort();
    },
  });
  try {
    const result = await bridge({ ...options, signal: options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal });
    if (lost) throw new Error(`the queue bridge stopped: it lost the store's bridge lock (${lost.message}); another bridge may have started. Check for one before restarting.`, { cause: lost });
    return result;
  } finally {
    await lock.release();
  }
}

async function bridge(options: BridgeOptions): Promise<BridgeResult> {
  const { root, broker, signal } = options;
  const name = options.requestsDataset ?? 'requests';
  const windowItems = options.windowItems ?? 10_000_000;
  const pollMs = options.pollMs ?? 200;
  const checkpointEveryMs = options.checkpointEveryMs ?? 2000;
  const discoverEveryMs = options.discoverEveryMs ?? 30_000;
  const batchRows = options.readBatchRows ?? 8192;
  const fillStepRows = 2 * batchRows;
  const log = options.logger ?? NOOP_LOGGER;
  const partnerIds = options.partnerIds ? new Set(options.partnerIds) : undefined;

  const checkpoint: BridgeCheckpoint = await readCheckpoint(root);
  const feeds = new Map<string, Feed>();
  const open = new Map<string, { dataset: RequestDataset; cursors: FileCursor[] }>();
  const seen = new Set<string>();
  let resent = 0;
  let dirty = false;

  const discover = async () => {
    // What the broker has ever been given, per queue: a span a previous run enqueued below it is still there
    // (Redis keeps its streams across our crashes; a fresh embedded broker has nothing, so all is sent again).
    let nextSeqs: Map<string, number> | undefined;
    const adopted = new Map<Feed, Span[]>();
    for (const day of await completeRequestDays(root, name)) {
      const id = `${name}/${day}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const dataset = await openRequestDataset(root, name, day);
      let progress = checkpoint.datasets[id];
      if (progress && progress.checksum !== dataset.checksum) {
        log.warn({ dataset: id }, 'request dataset was rewritten since the checkpoint: handing it over again from the start');
        progress = undefined;
      }
      if (progress?.done) continue;
      progress ??= { checksum: dataset.checksum, done: false, files: {} };
      checkpoint.datasets[id] = progress;
      dirty = true;
      const cursors: FileCursor[] = [];
      for (const req of dataset.files) {
        if (partnerIds && !partnerIds.has(req.queue.partnerId)) continue;
        const p = (progress.files[req.path] ??= { rows: req.rows, handed: 0, acked: 0 });
        const cursor: FileCursor = { req, schema: dataset.schema, progress: p, checked: false };
        cursors.push(cursor);
        const key = queueName(req.queue);
        let feed = feeds.get(key);
        if (!feed) feeds.set(key, (feed = new Feed(req.queue)));
        feed.files.push(cursor);
        // Rows handed over but not acknowledged: taken back where the broker still holds them (spans recorded in
        // the checkpoint, below its sequence), sent again from the first one it may have lost.
        if (p.handed > p.acked) {
          nextSeqs ??= new Map((await broker.stats()).map((q) => [q.queue, q.nextSeq]));
          const brokerNext = nextSeqs.get(key) ?? 0;
          let reach = p.acked;
          const kept: Span[] = [];
          for (const [firstSeq, offset, count] of [...(p.spans ?? [])].sort((a, b) => a[1] - b[1])) {
            if (offset + count <= reach) continue;
            if (offset > reach || firstSeq + count > brokerNext) break;
            kept.push({ firstSeq, count, cursor, offset });
            reach = offset + count;
          }
          resent += p.handed - reach;
          p.handed = reach;
          if (kept.length > 0) adopted.set(feed, [...(adopted.get(feed) ?? []), ...kept]);
        }
        delete p.spans;
      }
      open.set(id, { dataset, cursors });
      log.info({ dataset: id, files: dataset.files.length, rows: dataset.files.reduce((s, f) => s + f.rows, 0) }, 'request dataset discovered');
    }
    for (const [feed, spans] of adopted) {
      feed.adopt(spans);
      log.info({ queue: feed.name, rows: spans.reduce((n, sp) => n + sp.count, 0) }, 'taken back from the broker: handed over before the restart and still queued');
    }
  };

  const saveCheckpoint = async () => {
    for (const feed of feeds.values()) feed.recordSpans();
    await writeCheckpoint(root, checkpoint);
  };

  const finishDatasets = () => {
    for (const [id, { cursors }] of open) {
      if (!cursors.every((c) => c.progress.acked === c.progress.rows)) continue;
      const progress = checkpoint.datasets[id]!;
      progress.done = true;
      progress.files = {};
      open.delete(id);
      dirty = true;
      log.info({ dataset: id }, 'request dataset handed over and acknowledged');
    }
  };

  await discover();
  let lastCheckpoint = Date.now();
  let lastDiscover = Date.now();
  for (;;) {
    const stats = new Map<string, QueueStats>((await broker.stats()).map((s) => [s.queue, s]));
    for (const feed of feeds.values()) {
      const s = stats.get(feed.name);
      if (s && feed.advance(s.ackFloor)) dirty = true;
    }
    finishDatasets();

    let queued = 0;
    for (const s of stats.values()) queued += s.depth;
    const feeding = [...feeds.values()].filter((f) => f.remaining() > 0).sort(feedOrder);
    const share = Math.max(1, Math.floor(windowItems / Math.max(1, feeding.length)));
    const minTopUp = Math.max(1, Math.min(Math.ceil(share / 4), 100_000));
    let available = windowItems - queued;
    let moved = 0;
    for (const feed of feeds.values()) feed.share = feeding.includes(feed) ? share : 0;
    for (const feed of feeding) {
      if (signal?.aborted || available <= 0) break;
      const want = Math.min(share - (stats.get(feed.name)?.depth ?? 0), available);
      if (want < Math.min(minTopUp, feed.remaining())) continue;
      // In steps of two read batches, each followed by the checkpoint with its spans: a crash mid-fill leaves
      // at most one step that a restart cannot find in the broker and sends again.
      const n = await feed.fill(broker, Math.min(want, fillStepRows), batchRows);
      available -= n;
      moved += n;
      if (n > 0) {
        await saveCheckpoint();
        lastCheckpoint = Date.now();
        dirty = false;
      }
    }

    options.onTick?.({
      windowItems,
      queued: queued + moved,
      queues: [...feeds.values()].sort(feedOrder).map((f) => ({
        ...f.key,
        queue: f.name,
        share: f.share,
        depth: stats.get(f.name)?.depth ?? 0,
        inFlight: stats.get(f.name)?.inFlight ?? 0,
        enqueued: f.enqueued,
        acked: f.acked,
        remaining: f.remaining(),
      })),
      datasets: Object.entries(checkpoint.datasets).map(([id, d]) => ({ id, done: d.done })),
    });

    const now = Date.now();
    const finished = open.size === 0 && !options.watch;
    if (dirty && (finished || signal?.aborted || now - lastCheckpoint >= checkpointEveryMs)) {
      await saveCheckpoint();
      lastCheckpoint = now;
      dirty = false;
    }
    if (finished || signal?.aborted) break;
    if (options.watch && now - lastDiscover >= discoverEveryMs) {
      await discover();
      lastDiscover = now;
    }
    if (moved === 0) await sleep(pollMs, signal);
  }
  if (dirty) await saveCheckpoint();
  let enqueued = 0;
  let acked = 0;
  for (const f of feeds.values()) {
    enqueued += f.enqueued;
    acked += f.acked;
  }
  const done = Object.entries(checkpoint.datasets)
    .filter(([, d]) => d.done)
    .map(([id]) => id);
  log.info({ done: done.length, enqueued, acked, resent }, 'bridge stopped');
  return { done, enqueued, acked, resent };
}
