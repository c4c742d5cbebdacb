/**
 * The background writer of log-level records (a worker thread): every flush interval it drains the ring
 * (log-ring.ts), formats the records as tab-separated lines and writes them through gzip to the file of the
 * record's UTC day, then sync-flushes gzip so the bytes on disk decode up to there. A new day closes the old
 * day's file (a complete gzip file) and opens the next. On a "stop" message it drains, closes and answers.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { constants, createGzip, type Gzip } from 'node:zlib';
import { drainRing, type LogRecord } from './log-ring.ts';
import type { LogWriterThreadData, LogWriterMessage } from './log-writer.ts';

const data = workerData as LogWriterThreadData;
const port = parentPort!;

interface DayFile {
  day: string;
  file: string;
  gzip: Gzip;
  out: WriteStream;
  done: Promise<void>;
}

let current: DayFile | undefined;
const closing: Promise<void>[] = [];

function post(message: LogWriterMessage): void {
  port.postMessage(message);
}

function open(day: string): DayFile {
  const dir = path.join(data.dir, `dt=${day}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${data.fileStem}.tsv.gz`);
  // Append: a restarted process with the same name adds a gzip member, which gunzip reads as one stream.
  const out = createWriteStream(file, { flags: 'a' });
  // Level 1: on a saturated box the writer thread competes with the request path for the same cores.
  const gzip = createGzip({ level: 1 });
  gzip.pipe(out);
  const done = new Promise<void>((resolve) => {
    out.on('close', resolve);
    const failed = (error: Error) => {
      post({ type: 'error', message: `${file}: ${error.message}` });
      resolve();
    };
    out.on('error', failed);
    gzip.on('error', failed);
  });
  post({ type: 'opened', file });
  return { day, file, gzip, out, done };
}

function close(f: DayFile): void {
  f.gzip.end();
  closing.push(f.done.then(() => post({ type: 'closed', file: f.file })));
}

const CONTROL = /[\x00-\x1f\x7f]/g;
const clean = (s: string) => s.replace(CONTROL, '?');

function line(r: LogRecord): string {
  return `${new Date(r.timeMs).toISOString()}\t${r.outcome}\t${clean(r.region)}\t${clean(r.userId)}\t${r.codes.map(clean).join(',')}\t${Math.round(r.handlerNs / 1000)}\n`;
}

/** Writes what the ring holds; returns the records written. */
function flush(): number {
  let chunk: string[] = [];
  const emit = () => {
    if (current && chunk.length > 0) current.gzip.write(chunk.join(''));
    chunk = [];
  };
  const n = drainRing(data.memory, (record) => {
    const day = new Date(record.timeMs).toISOString().slice(0, 10);
    if (!current || current.day !== day) {
      emit();
      if (current) close(current);
      current = open(day);
    }
    chunk.push(line(record));
    if (chunk.length >= 4096) emit();
  });
  emit();
  if (n > 0 && current) current.gzip.flush(constants.Z_SYNC_FLUSH);
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
  void Promise.all(closing).then(() => post({ type: 'stopped', records: n }));
});
post({ type: 'ready' });
