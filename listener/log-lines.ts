/**
 * Formats raw ring records (log-ring.ts) as the log file's tab-separated lines, byte by byte into one reused
 * Buffer: no string, Date or array per record, so a flush is a short burst on cores the request path shares.
 *
 *   2026-11-23T23:59:59.500Z	hit	nym	1610818136837885133	4412001,4412004	2
 *
 * Control characters in the region, user id and codes become "?" (in UTF-8 they are exactly the bytes
 * 0x00-0x1f and 0x7f, which never occur inside a multibyte character), codes are joined by ",", and the handler
 * time is in whole microseconds.
 */
import { OUTCOMES, type RawLogRecord } from './log-ring.ts';

const OUTCOME_BYTES = OUTCOMES.map((o) => Buffer.from(o));
const DAY_MS = 86_400_000;
const TAB = 9;
const NEWLINE = 10;
const COMMA = 44;
const QUESTION = 63;

/** Lines of one UTC day, growing as needed. */
export class LogLines {
  private buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;
  /** The UTC day (YYYY-MM-DD) of the lines held; set by the first line after take(). */
  day = '';
  private dayStart = NaN;
  private second = NaN;
  /** "YYYY-MM-DDTHH:MM:SS." of `second`. */
  private readonly secondText = Buffer.alloc(20);

  /** The UTC day of a record time. */
  dayOf(timeMs: number): string {
    if (!(timeMs >= this.dayStart && timeMs < this.dayStart + DAY_MS)) {
      this.dayStart = timeMs - (((timeMs % DAY_MS) + DAY_MS) % DAY_MS);
      this.day = new Date(this.dayStart).toISOString().slice(0, 10);
    }
    return this.day;
  }

  get length(): number {
    return this.at;
  }

  /** Appends the record's line (its day is dayOf(record.timeMs); the caller takes the lines at a day change). */
  add(r: RawLogRecord): void {
    this.reserve(48 + r.regionBytes + r.userBytes + r.answerBytes);
    const out = this.buf;
    const second = Math.floor(r.timeMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.secondText.write(new Date(second * 1000).toISOString().slice(0, 20), 'latin1');
    }
    let at = this.at + this.secondText.copy(out, this.at);
    const ms = r.timeMs - second * 1000;
    out[at++] = 48 + Math.floor(ms / 100);
    out[at++] = 48 + (Math.floor(ms / 10) % 10);
    out[at++] = 48 + (Math.floor(ms) % 10);
    out[at++] = 90; // Z
    out[at++] = TAB;
    at += OUTCOME_BYTES[r.outcome]!.copy(out, at);
    out[at++] = TAB;
    at = copyClean(r.buf, r.regionAt, r.regionBytes, out, at, QUESTION);
    out[at++] = TAB;
    at = copyClean(r.buf, r.userAt, r.userBytes, out, at, QUESTION);
    out[at++] = TAB;
    // The answer's codes each end in "\n": the last is dropped, the others become ",".
    if (r.answerBytes > 0) at = copyClean(r.buf, r.answerAt, r.answerBytes - 1, out, at, COMMA);
    out[at++] = TAB;
    at = writeWhole(out, at, Math.round(r.handlerNs / 1000));
    out[at++] = NEWLINE;
    this.at = at;
  }

  /** The lines held (valid until the next add), emptied. */
  take(): Buffer {
    const lines = this.buf.subarray(0, this.at);
    this.at = 0;
    return lines;
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}

/** Copies bytes, control bytes as "?" except "\n" as `newline`; returns the end. */
function copyClean(from: Buffer, start: number, length: number, out: Buffer, at: number, newline: number): number {
  for (let i = start, end = start + length; i < end; i++) {
    const b = from[i]!;
    out[at++] = b === NEWLINE ? newline : b < 32 || b === 127 ? QUESTION : b;
  }
  return at;
}

/** Writes a non-negative whole number in decimal; returns the end. */
function writeWhole(out: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  for (let i = at + digits - 1; i >= at; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + digits;
}
