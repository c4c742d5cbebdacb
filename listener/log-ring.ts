/**
 * The log-level record buffer: a ring in a SharedArrayBuffer (off the JS heap), appended to by the request
 * path and drained by the writer thread (log-writer-thread.ts). Appending is a few buffer writes and one
 * atomic store; when the ring is full the record is dropped and counted, so the request path never waits.
 *
 * Positions are unsigned 32-bit counters that wrap; the capacity is a power of two, so `counter % capacity`
 * stays right across the wrap. A record never straddles the end: a zero length means "skip to the start".
 *
 * Record (little-endian): length u16, outcome u8, region bytes u8, time f64 (epoch ms), handler time u32 (ns),
 * user id bytes u8, answer bytes u16, then region, user id, answer (its codes, each followed by "\n").
 */

/** What happened to a bid request. */
export const OUTCOMES = ['hit', 'miss', 'bad-request', 'not-ready'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const OUTCOME_CODE: Record<Outcome, number> = { hit: 0, miss: 1, 'bad-request': 2, 'not-ready': 3 };

const FIXED = 2 + 1 + 1 + 8 + 4 + 1 + 2;
/** Longest stored region and user id (longer are cut: the record is for analysis, not for answering). */
export const MAX_ID_BYTES = 255;
/** Longest stored answer; longer answers are cut at the last whole code. */
export const MAX_ANSWER_BYTES = 2048;
/** Room a record may need: checked before writing so no record straddles the end. */
export const MAX_RECORD = FIXED + 2 * MAX_ID_BYTES + MAX_ANSWER_BYTES;

/** Indexes in the control Int32Array. */
export const HEAD = 0;
export const TAIL = 1;
export const DROPPED = 2;

/** The shared memory of a ring: data and control words, handed to the writer thread. */
export interface RingMemory {
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

/** The largest power of two <= bytes (at least 64 KiB, so any record fits many times). */
export function ringCapacity(bytes: number): number {
  let c = 65536;
  while (c * 2 <= bytes) c *= 2;
  return c;
}

/** Answers up to this many bytes are copied byte by byte (cheaper than the native copy for a few bytes). */
const SMALL_COPY = 64;

/**
 * Writes a user id or region as UTF-8 at `at`, cut at MAX_ID_BYTES; returns the bytes written. ASCII (what the bus
 * sends) goes byte by byte: on the request path, run cold once per request, the native Buffer.write call cost
 * more than the bytes.
 */
function writeId(buf: Buffer, at: number, text: string): number {
  const n = text.length < MAX_ID_BYTES ? text.length : MAX_ID_BYTES;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return buf.write(text, at, Math.min(MAX_ID_BYTES, text.length * 3), 'utf8');
    buf[at + i] = c;
  }
  return n;
}

/** The producer side of the ring. */
export class LogRing {
  readonly memory: RingMemory;
  private readonly buf: Buffer;
  private readonly control: Int32Array;
  private readonly capacity: number;
  private head = 0;

  constructor(bytes: number) {
    this.capacity = ringCapacity(bytes);
    this.memory = { data: new SharedArrayBuffer(this.capacity), control: new SharedArrayBuffer(16) };
    this.buf = Buffer.from(this.memory.data);
    this.control = new Int32Array(this.memory.control);
  }

  /** Records dropped because the ring was full. */
  get dropped(): number {
    return Atomics.load(this.control, DROPPED);
  }

  /** Bytes written and not yet drained. */
  get pending(): number {
    return (this.head - Atomics.load(this.control, TAIL)) >>> 0;
  }

  /** Appends a record; false (and counted) when the ring is full. */
  append(outcome: Outcome, timeMs: number, handlerNs: number, region: string, userId: string, answer: Buffer | undefined): boolean {
    const cap = this.capacity;
    let pos = this.head % cap;
    const toEnd = cap - pos;
    const used = (this.head - Atomics.load(this.control, TAIL)) >>> 0;
    const need = toEnd < MAX_RECORD ? toEnd + MAX_RECORD : MAX_RECORD;
    if (cap - used < need) {
      Atomics.add(this.control, DROPPED, 1);
      return false;
    }
    const buf = this.buf;
    if (toEnd < MAX_RECORD) {
      buf.writeUInt16LE(0, pos);
      this.head = (this.head + toEnd) >>> 0;
      pos = 0;
    }
    let at = pos + FIXED;
    const regionBytes = writeId(buf, at, region);
    at += regionBytes;
    const userBytes = writeId(buf, at, userId);
    at += userBytes;
    let answerBytes = 0;
    if (answer !== undefined && answer.length > 1) {
      answerBytes = answer.length;
      if (answerBytes > MAX_ANSWER_BYTES) answerBytes = answer.lastIndexOf(10, MAX_ANSWER_BYTES - 1) + 1;
      if (answerBytes <= SMALL_COPY) for (let i = 0; i < answerBytes; i++) buf[at + i] = answer[i]!;
      else answer.copy(buf, at, 0, answerBytes);
      at += answerBytes;
    }
    const length = at - pos;
    buf.writeUInt16LE(length, pos);
    buf[pos + 2] = OUTCOME_CODE[outcome];
    buf[pos + 3] = regionBytes;
    buf.writeDoubleLE(timeMs, pos + 4);
    buf.writeUInt32LE(handlerNs > 0xffffffff ? 0xffffffff : handlerNs, pos + 12);
    buf[pos + 16] = userBytes;
    buf.writeUInt16LE(answerBytes, pos + 17);
    this.head = (this.head + length) >>> 0;
    Atomics.store(this.control, HEAD, this.head | 0);
    return true;
  }
}

/** A decoded record (tests and tools; the writer formats raw records without building strings). */
export interface LogRecord {
  outcome: Outcome;
  timeMs: number;
  handlerNs: number;
  region: string;
  userId: string;
  /** The codes answered, in answer order. */
  codes: string[];
}

/**
 * A record as it lies in the ring: fields, and where its region, user id and answer bytes are in `buf` (the
 * answer's codes each followed by "\n"). One object is reused for every record of a drain.
 */
export interface RawLogRecord {
  buf: Buffer;
  outcome: number;
  timeMs: number;
  handlerNs: number;
  regionAt: number;
  regionBytes: number;
  userAt: number;
  userBytes: number;
  answerAt: number;
  answerBytes: number;
}

/**
 * The consumer side: calls `each` for every record between the tail and the head, then moves the tail.
 * Returns the number of records read.
 */
export function drainRingRaw(memory: RingMemory, each: (record: RawLogRecord) => void): number {
  const buf = Buffer.from(memory.data);
  const control = new Int32Array(memory.control);
  const cap = buf.length;
  const head = Atomics.load(control, HEAD) >>> 0;
  let tail = Atomics.load(control, TAIL) >>> 0;
  const r: RawLogRecord = { buf, outcome: 0, timeMs: 0, handlerNs: 0, regionAt: 0, regionBytes: 0, userAt: 0, userBytes: 0, answerAt: 0, answerBytes: 0 };
  let n = 0;
  while (tail !== head) {
    const pos = tail % cap;
    const length = buf.readUInt16LE(pos);
    if (length === 0) {
      tail = (tail + (cap - pos)) >>> 0;
      continue;
    }
    r.outcome = buf[pos + 2]!;
    r.timeMs = buf.readDoubleLE(pos + 4);
    r.handlerNs = buf.readUInt32LE(pos + 12);
    r.regionAt = pos + FIXED;
    r.regionBytes = buf[pos + 3]!;
    r.userAt = r.regionAt + r.regionBytes;
    r.userBytes = buf[pos + 16]!;
    r.answerAt = r.userAt + r.userBytes;
    r.answerBytes = buf.readUInt16LE(pos + 17);
    each(r);
    n++;
    tail = (tail + length) >>> 0;
  }
  Atomics.store(control, TAIL, tail | 0);
  return n;
}

/** drainRing with each record decoded into strings. */
export function drainRing(memory: RingMemory, each: (record: LogRecord) => void): number {
  return drainRingRaw(memory, (r) => {
    const answer = r.answerBytes === 0 ? '' : r.buf.toString('utf8', r.answerAt, r.answerAt + r.answerBytes - 1);
    each({
      outcome: OUTCOMES[r.outcome]!,
      timeMs: r.timeMs,
      handlerNs: r.handlerNs,
      region: r.buf.toString('utf8', r.regionAt, r.regionAt + r.regionBytes),
      userId: r.buf.toString('utf8', r.userAt, r.userAt + r.userBytes),
      codes: answer === '' ? [] : answer.split('\n'),
    });
  });
}
