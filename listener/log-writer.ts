/**
 * The request path's side of log-level data: a ring (log-ring.ts) plus the worker thread that writes it to
 * daily gzip files (log-writer-thread.ts). What a crash can lose is in docs/listener.md.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LogRing, type RingMemory } from './log-ring.ts';

/** Where and how often records are written. */
export interface LogWriterSettings {
  /** Directory of the day directories (`dt=YYYY-MM-DD/<fileStem>.tsv.gz`). */
  dir: string;
  /** File name without extension, unique per process (e.g. listener-<host>-<pid>). */
  fileStem: string;
  bufferBytes: number;
  flushMs: number;
}

/** What the writer thread receives. */
export interface LogWriterThreadData {
  memory: RingMemory;
  dir: string;
  fileStem: string;
  flushMs: number;
}

/** What the writer thread reports. */
export type LogWriterMessage =
  | { type: 'ready' }
  | { type: 'opened'; file: string }
  | { type: 'closed'; file: string }
  | { type: 'flushed'; records: number }
  | { type: 'error'; message: string }
  | { type: 'stopped'; records: number };

/** Boot code of the thread: register tsx (the thread module is TypeScript), then load it. */
function bootCode(): string {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./log-writer-thread.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
}

/** The ring and its writer thread. */
export class LogWriter {
  readonly ring: LogRing;
  private readonly worker: Worker;
  private alive = true;
  /** Records written to files so far. */
  written = 0;
  /** Write errors so far (each also passed to onMessage). */
  errors = 0;

  private constructor(settings: LogWriterSettings, onMessage: (m: LogWriterMessage) => void) {
    this.ring = new LogRing(settings.bufferBytes);
    const data: LogWriterThreadData = { memory: this.ring.memory, dir: settings.dir, fileStem: settings.fileStem, flushMs: settings.flushMs };
    this.worker = new Worker(bootCode(), { eval: true, workerData: data });
    this.worker.on('message', (m: LogWriterMessage) => {
      if (m.type === 'flushed' || m.type === 'stopped') this.written += m.records;
      if (m.type === 'error') this.errors++;
      onMessage(m);
    });
    this.worker.on('error', (error) => onMessage({ type: 'error', message: `log writer thread failed: ${error.message}` }));
    this.worker.on('exit', () => {
      this.alive = false;
    });
  }

  /** Starts the writer thread; resolves once it runs. */
  static start(settings: LogWriterSettings, onMessage: (m: LogWriterMessage) => void = () => {}): Promise<LogWriter> {
    return new Promise((resolve, reject) => {
      let writer: LogWriter | undefined = undefined;
      writer = new LogWriter(settings, (m) => {
        if (m.type === 'ready') resolve(writer!);
        onMessage(m);
      });
      writer.worker.once('exit', (code) => reject(new Error(`log writer thread exited with ${code} before it started`)));
    });
  }

  /** False once the writer thread has exited (the process is then not healthy). */
  get healthy(): boolean {
    return this.alive;
  }

  /** Writes everything buffered, closes the files and ends the thread. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    await new Promise<void>((resolve) => {
      this.worker.on('message', (m: LogWriterMessage) => {
        if (m.type === 'stopped') resolve();
      });
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'stop' });
    });
    await this.worker.terminate();
  }
}
