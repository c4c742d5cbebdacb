/**
 * The storage floor of bench/engine: the part of the refresher-shaped job that no engine running per-record
 * TypeScript can skip. W worker threads (as many as the local runner's) each read their share of the input
 * rows into row objects (`readDatasetFile` + `batchToRows`, as map tasks do) and write their share of the job's
 * output rows (`rowsToBatch` per 8,192 rows into `writeDataset`, as reduce tasks do). No map, shuffle or reduce:
 * the output rows are read from the job's output as they are written, and that reading is timed apart and taken out. What this takes is what a job of
 * this shape costs through storage/ with zero engine work, so (floor / DuckDB) bounds the engine's ratio from below.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import {
  batchToRows,
  datasetFiles,
  joinUri,
  projectSchema,
  readDatasetFile,
  rowsToBatch,
  writeDataset,
  type ColumnBatch,
  type Row,
} from '../storage/index.ts';

/** What one floor worker is told. */
interface FloorJob {
  readonly index: number;
  readonly workers: number;
  /** Datasets read as inputs, with the columns the job reads. */
  readonly inputs: readonly { uri: string; columns: readonly string[] }[];
  /** The job's output dataset: its rows (this worker's share) are what the worker writes. */
  readonly output: string;
  /** Where this worker writes. */
  readonly target: string;
}

/** The floor's measurement: the slowest worker's seconds from the common start, less its time making output rows. */
export interface IoFloor {
  readonly seconds: number;
  readonly rowsRead: number;
  readonly rowsWritten: number;
}

/** Runs `workers` floor workers over the inputs and the job's output under `root`; writes under `scratch`. */
export async function measureIoFloor(options: { workers: number; inputs: FloorJob['inputs']; output: string; scratch: string }): Promise<IoFloor> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const workers = Array.from({ length: options.workers }, (_, index) => {
    const job: FloorJob = { index, workers: options.workers, inputs: options.inputs, output: options.output, target: joinUri(options.scratch, `floor-${index}`) };
    return new Worker(boot, { eval: true, workerData: job });
  });
  const next = (w: Worker) =>
    new Promise<{ rowsRead?: number; rowsWritten?: number; seconds?: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  try {
    // Everyone has loaded its modules and DuckDB before the clock starts.
    await Promise.all(workers.map(next));
    const done = Promise.all(workers.map(next));
    for (const w of workers) w.postMessage('go');
    const results = await done;
    const seconds = Math.max(...results.map((r) => r.seconds!));
    return { seconds, rowsRead: results.reduce((s, r) => s + r.rowsRead!, 0), rowsWritten: results.reduce((s, r) => s + r.rowsWritten!, 0) };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Rows [from, to) of every file of `uri`, this worker's share of each file. */
async function* share(uri: string, columns: readonly string[] | undefined, index: number, workers: number): AsyncGenerator<{ rows: Row[] }> {
  const { schema, files } = await datasetFiles(uri);
  const projected = columns ? projectSchema(schema, columns, uri) : schema;
  for (const file of files) {
    const fromRow = Math.floor((file.rows * index) / workers);
    const toRow = Math.floor((file.rows * (index + 1)) / workers);
    for await (const batch of readDatasetFile(file, schema, { columns, batchRows: 8192, fromRow, toRow })) yield { rows: batchToRows(projected, batch) };
  }
}

async function floorWorker(job: FloorJob): Promise<void> {
  const port = parentPort!;
  const { schema: outSchema } = await datasetFiles(job.output);
  const go = new Promise((resolve) => port.once('message', resolve));
  port.postMessage({});
  await go;
  const started = process.hrtime.bigint();
  let rowsRead = 0;
  let touched = 0;
  for (const input of job.inputs) {
    for await (const { rows } of share(input.uri, input.columns, job.index, job.workers)) {
      rowsRead += rows.length;
      // Touch each row so reading it cannot be skipped.
      for (const r of rows) if (r[input.columns[0]!] !== undefined) touched++;
    }
  }
  if (touched !== rowsRead) throw new Error(`floor worker ${job.index}: ${rowsRead - touched} rows without ${job.inputs[0]!.columns[0]}`);
  // The output rows are read from the job's output as they are written (holding them all would fill the heap
  // and slow the collector); the time spent making them is the reduce's part, taken out.
  let makingNs = 0n;
  async function* batches(): AsyncGenerator<ColumnBatch> {
    const rows = share(job.output, undefined, job.index, job.workers);
    for (;;) {
      const t0 = process.hrtime.bigint();
      const next = await rows.next();
      makingNs += process.hrtime.bigint() - t0;
      if (next.done) return;
      yield rowsToBatch(outSchema, next.value.rows);
    }
  }
  const written = await writeDataset(job.target, outSchema, batches(), { overwrite: true, rowsPerFile: 1_000_000 });
  const seconds = Number(process.hrtime.bigint() - started - makingNs) / 1e9;
  port.postMessage({ rowsRead, rowsWritten: written.rows, seconds });
}

if (!isMainThread && (workerData as FloorJob | undefined)?.target !== undefined) await floorWorker(workerData as FloorJob);
