/**
 * The background writer of log-level records (a worker thread): every flush interval it drains the ring
 * (log-ring.ts), formats the records as tab-separated lines (log-lines.ts) and appends them to the file of the
 * record's UTC day as one gzip member, so the file on disk is a whole gzip file after every flush (gunzip reads
 * the members as one stream). A new day closes the old day's file and opens the next. On a "stop" message it
 * drains, closes and answers.
 *
 * Compression and writing are synchronous here, on this thread, rather than on libuv's pool: the request path
 * never waits on this thread, and this thread runs at a lower CPU priority, so on a saturated box its bursts
 * yield to the request path instead of competing with it for the cores.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { drainRingRaw } from './log-ring.ts';
import { LogLines } from './log-lines.ts';
import type { LogWriterThreadData, LogWriterMessage } from './log-writer.ts';

const data = workerData as LogWriterThreadData;
const port = parentPort!;

/** Linux: the nice value is per thread, and pid 0 means the calling thread (elsewhere it would be the process). */
if (process.platform === 'linux') {
  try {
    setPriority(10);
  } catch {
    // Not allowed here: the thread keeps the process's priority.
  }
}

interface DayFile {
  day: string;
  file: string;
  fd: number | undefined;
}

let current: DayFile | undefined;
const lines = new LogLines();

function post(message: LogWriterMessage): void {
  port.postMessage(message);
}

function open(day: string): DayFile {
  const file = path.join(data.dir, `dt=${day}`, `${data.fileStem}.tsv.gz`);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    // Append: a restarted process with the same name adds gzip members, which gunzip reads as one stream.
    const fd = openSync(file, 'a');
    post({ type: 'opened', file });
    return { day, file, fd };
  } catch (error) {
    post({ type: 'error', message: `${file}: ${(error as Error).message}` });
    return { day, file, fd: undefined };
  }
}

function close(f: DayFile): void {
  if (f.fd === undefined) return;
  try {
    closeSync(f.fd);
    post({ type: 'closed', file: f.file });
  } catch (error) {
    post({ type: 'error', message: `${f.file}: ${(error as Error).message}` });
  }
}

/** Writes the lines held to the current day's file as one gzip member. */
function write(): void {
  if (lines.length === 0) return;
  const text = lines.take();
  if (current?.fd === undefined) return;
  try {
    const member = gzipSync(text, { level: 1 });
    for (let at = 0; at < member.length; ) at += writeSync(current.fd, member, at);
  } catch (error) {
    post({ type: 'error', message: `${current.file}: ${(error as Error).message}` });
  }
}

/** Writes what the ring holds; returns the records written. */
function flush(): number {
  const n = drainRingRaw(data.memory, (record) => {
    const day = lines.dayOf(record.timeMs);
    if (current?.day !== day) {
      write();
      if (current) close(current);
      current = open(day);
    }
    lines.add(record);
  });
  write();
  return n;
}

const timer = setInterval(() => {
  const n = flush();
  if (n > 0) post({ type: 'flushed', records: n });
}, data.flushMs);

port.on('message', (message: { type: 'stop' }) => {
  if (message.type !== 'stop') return;
  clearInterval(timer);
  const n = flush();
  if (current) close(current);
  current = undefined;
  post({ type: 'stopped', records: n });
});
post({ type: 'ready' });
