/**
 * bench/parquet: Parquet through storage/ beside DuckDB's own reader and writer on the same rows, in the
 * same run. Three parts:
 * - `requests`: write and read 1M data sync requests as column batches (COPY ... TO / read_parquet anchors);
 * - `read-rows`: read the engine bench's events and segments into row objects as the engine does
 *   (readDatasetFile with a column projection, then batchToRows), anchor: DuckDB decoding the same columns;
 * - `write-rows`: write ~2.6M joined rows from row objects as the engine's reduce does (rowsToBatch per 8192
 *   rows into writeDataset), anchor: DuckDB's COPY ... TO of the same rows.
 * Usage: tsx bench/parquet-bench.ts [--rows 1000000] [--parts requests,read-rows,write-rows]
 *   [--inputs /tmp/eb] [--write-rows 2600000] [--threads N]
 * `--inputs` holds `bench/events/dt=2026-11-23` and `bench/segments/dt=2026-11-23` (as bench/engine makes
 * them); when they are missing they are made there (3M events, 600k segments).
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  writeParquetFile,
  readParquetFile,
  writeDataset,
  readDatasetFile,
  datasetFiles,
  batchToRows,
  rowsToBatch,
  projectSchema,
  configureDuckDb,
  toStorageUri,
  joinUri,
  localPath,
  type ColumnBatch,
  type Row,
} from '../storage/index.ts';
import { dataSyncRequestSchema } from '../jobs/refresher/data-sync-request.ts';
import { seededRandom } from '../udfs/index.ts';
import { joinedSchema, syncEventSchema, segmentRowSchema } from './refresher-shaped-job.ts';
import { cookieId, INPUT_DATE, makeRefresherShapedInputs } from './refresher-shaped-inputs.ts';
import { report, timed } from './bench-report.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    parts: { type: 'string', default: 'requests,read-rows,write-rows' },
    inputs: { type: 'string', default: '/tmp/eb' },
    'write-rows': { type: 'string', default: '2600000' },
    threads: { type: 'string' },
  },
});
const parts = new Set(args.parts.split(','));
if (args.threads !== undefined) configureDuckDb({ threads: Number(args.threads) });
const load = () => os.loadavg()[0]!.toFixed(2);
const DATE = INPUT_DATE;

/** Deterministic request batches shaped like the refresher's output (hex ids, 1-9 partner segment codes). */
function makeRequestBatches(total: number): ColumnBatch[] {
  const batchRows = 65_536;
  const out: ColumnBatch[] = [];
  const { next } = seededRandom(42);
  const codes = Array.from({ length: 400 }, (_, i) => `seg-${1000 + i}`);
  for (let off = 0; off < total; off += batchRows) {
    const n = Math.min(batchRows, total - off);
    const rid: string[] = new Array(n), pri: string[] = new Array(n), cid: string[] = new Array(n), puid: string[] = new Array(n);
    const segs: string[][] = new Array(n), removed: string[][] = new Array(n);
    const pid = new Int32Array(n), synced = new Float64Array(n), expires = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      rid[i] = next().toString(16).padStart(8, '0') + next().toString(16).padStart(8, '0');
      pid[i] = 1 + (next() % 20);
      pri[i] = next() % 10 === 0 ? 'high' : 'normal';
      cid[i] = 'ck' + next().toString(36) + next().toString(36);
      puid[i] = 'u' + next().toString(36) + next().toString(36);
      const k = 1 + (next() % 9);
      const s: string[] = new Array(k);
      for (let j = 0; j < k; j++) s[j] = codes[next() % codes.length]!;
      segs[i] = s;
      removed[i] = [];
      synced[i] = 1_795_000_000_000 + (next() % 86_400_000);
      expires[i] = synced[i]! + 30 * 86_400_000;
    }
    out.push({
      numRows: n,
      columns: { request_id: rid, partner_id: pid, priority: pri, cookie_id: cid, partner_user_id: puid, segments: segs, removed_segments: removed, synced_at: synced, expires_at: expires },
    });
  }
  return out;
}

async function benchRequests(dir: string, duck: DuckDBInstance): Promise<void> {
  const rows = Number(args.rows);
  const batches = makeRequestBatches(rows);
  const ours = path.join(dir, 'ours.parquet');
  const write = await timed(() => writeParquetFile(ours, dataSyncRequestSchema, batches, { compression: 'zstd' }));

  let checksum = 0;
  const read = await timed(async () => {
    let n = 0;
    for await (const b of readParquetFile(ours, dataSyncRequestSchema)) {
      // Touch every value so nothing is left lazily undecoded.
      const c = b.columns;
      const rid = c.request_id as string[], cid = c.cookie_id as string[], puid = c.partner_user_id as string[], pri = c.priority as string[];
      const segs = c.segments as string[][], pid = c.partner_id as Int32Array, exp = c.expires_at as Float64Array;
      for (let i = 0; i < b.numRows; i++) {
        checksum += rid[i]!.length + cid[i]!.length + puid[i]!.length + pri[i]!.length + segs[i]!.length + pid[i]! + (exp[i]! % 7);
      }
      n += b.numRows;
    }
    return n;
  });
  if (read.result !== rows) throw new Error(`read ${read.result} rows, wrote ${rows}`);

  // DuckDB's own figures on the same rows: load our file into a table (untimed), then COPY out and read back.
  const conn = await duck.connect();
  await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${ours}')`);
  const theirs = path.join(dir, 'duckdb.parquet');
  const dWrite = await timed(() => conn.run(`COPY t TO '${theirs}' (FORMAT parquet, COMPRESSION zstd)`));
  const dRead = await timed(() => conn.run(`CREATE TABLE r AS SELECT * FROM read_parquet('${theirs}')`));
  await conn.run('DROP TABLE t; DROP TABLE r');
  conn.closeSync();

  const size = (await fs.stat(ours)).size;
  const w = rows / write.seconds, dw = rows / dWrite.seconds;
  const r = rows / read.seconds, dr = rows / dRead.seconds;
  report({ bench: 'parquet', metric: 'write', value: w, unit: 'rows/s', anchor: 'duckdb COPY TO', anchorValue: dw, ratio: w / dw, goal: '>= 1e6 rows/s, ratio >= 0.33', rows, fileBytes: size, load: load() });
  report({ bench: 'parquet', metric: 'read', value: r, unit: 'rows/s', anchor: 'duckdb read_parquet', anchorValue: dr, ratio: r / dr, goal: '>= 1e6 rows/s, ratio >= 0.33', rows, checksum: String(checksum), load: load() });
}

/** Makes engine-bench-shaped inputs under `root` when they are not there. */
async function ensureInputs(root: string): Promise<void> {
  const have = await Promise.all(['events', 'segments'].map((d) => fs.stat(path.join(localPath(root), `bench/${d}/dt=${DATE}/_SUCCESS`)).then(() => true, () => false)));
  if (have.every(Boolean)) return;
  process.stderr.write(`making bench inputs under ${localPath(root)}…\n`);
  await makeRefresherShapedInputs(root, 3_000_000, 600_000);
}

/** Reads a dataset into row objects as engine/step-input.ts does, touching every value. */
async function readRows(uri: string, columns: readonly string[], touch: (r: Row) => number): Promise<{ rows: number; batchesOnly: number; checksum: number }> {
  const { schema, files } = await datasetFiles(uri);
  const projected = projectSchema(schema, columns, uri);
  let rows = 0, checksum = 0;
  for (const file of files) {
    for await (const batch of readDatasetFile(file, schema, { columns, batchRows: 8192 })) {
      const objects = batchToRows(projected, batch);
      for (const r of objects) checksum += touch(r);
      rows += objects.length;
    }
  }
  // The same files as column batches only, so the share of batchToRows shows.
  const t0 = process.hrtime.bigint();
  for (const file of files) for await (const batch of readDatasetFile(file, schema, { columns, batchRows: 8192 })) checksum += batch.numRows;
  return { rows, batchesOnly: Number(process.hrtime.bigint() - t0) / 1e9, checksum };
}

async function benchReadRows(duck: DuckDBInstance): Promise<void> {
  const root = toStorageUri(args.inputs);
  await ensureInputs(root);
  const conn = await duck.connect();
  // Each touch reads every field by name, as a mapper does.
  const touches = {
    events: (r: Row) => (r.cookie_id as string).length + (r.partner_id as number) + (r.partner_user_id as string).length + ((r.ts as number) % 7),
    segments: (r: Row) => (r.cookie_id as string).length + (r.segment_ids as Int32Array).length,
  };
  for (const [name, schema] of [['events', syncEventSchema], ['segments', segmentRowSchema]] as const) {
    const uri = joinUri(root, `bench/${name}/dt=${DATE}`);
    const columns = schema.fields.map((f) => f.name);
    const ours = await timed(() => readRows(uri, columns, touches[name]));
    // DuckDB decoding the same columns of the same files (an aggregate, so nothing crosses into JS).
    const glob = path.join(localPath(uri), '*.parquet');
    const touch = schema.fields.map((f) => (f.type === 'string' ? `sum(length(${f.name}))` : f.type === 'list<int32>' ? `sum(len(${f.name}))` : f.type === 'int32' ? `sum(${f.name})` : `max(${f.name})`));
    const theirs = await timed(() => conn.run(`SELECT ${touch.join(', ')} FROM read_parquet('${glob}', hive_partitioning = false)`));
    const rows = ours.result.rows;
    const seconds = ours.seconds - ours.result.batchesOnly;
    report({
      bench: 'parquet',
      metric: `read ${name} into rows`,
      value: rows / seconds,
      unit: 'rows/s',
      anchor: 'duckdb read_parquet, same columns',
      anchorValue: rows / theirs.seconds,
      ratio: theirs.seconds / seconds,
      rows,
      batchesOnlyRowsPerSecond: Number((rows / ours.result.batchesOnly).toPrecision(4)),
      checksum: String(ours.result.checksum),
      load: load(),
    });
  }
  conn.closeSync();
}

/** Makes joined rows shaped like the refresher-shaped job's reduce output, a batch at a time as a reduce does. */
function joinedRowMaker(): (n: number) => Row[] {
  const rnd = seededRandom(7);
  const day = Date.UTC(2026, 10, 23);
  const cookies = Array.from({ length: 1 << 16 }, (_, i) => cookieId(i));
  return (n) => {
    const out: Row[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const c = rnd.int(1 << 16);
      const pid = 1 + rnd.int(20);
      const segs = new Int32Array(1 + rnd.int(12));
      for (let j = 0; j < segs.length; j++) segs[j] = 1000 + rnd.int(500);
      out[i] = { cookie_id: cookies[c]!, partner_id: pid, partner_user_id: `p${pid}-${c.toString(36)}-${rnd.int(1000)}`, synced_at: day + rnd.int(86_400_000), segment_ids: segs };
    }
    return out;
  };
}

async function benchWriteRows(dir: string, duck: DuckDBInstance): Promise<void> {
  const total = Number(args['write-rows']);
  const makeRows = joinedRowMaker();
  const uri = joinUri(toStorageUri(dir), `joined/dt=${DATE}`);
  // Making the rows is the reduce's work, not storage's: timed apart and taken out.
  let makeSeconds = 0;
  let toBatchSeconds = 0;
  async function* batches(): AsyncGenerator<ColumnBatch> {
    for (let off = 0; off < total; off += 8192) {
      const t0 = process.hrtime.bigint();
      const rows = makeRows(Math.min(8192, total - off));
      const t1 = process.hrtime.bigint();
      const b = rowsToBatch(joinedSchema, rows);
      toBatchSeconds += Number(process.hrtime.bigint() - t1) / 1e9;
      makeSeconds += Number(t1 - t0) / 1e9;
      yield b;
    }
  }
  const ours = await timed(() => writeDataset(uri, joinedSchema, batches(), { overwrite: true, rowsPerFile: 1_000_000 }));
  if (ours.result.rows !== total) throw new Error(`wrote ${ours.result.rows} rows, expected ${total}`);
  const seconds = ours.seconds - makeSeconds;
  const conn = await duck.connect();
  await conn.run(`CREATE TABLE j AS SELECT * FROM read_parquet('${path.join(localPath(uri), '*.parquet')}', hive_partitioning = false)`);
  const theirs = await timed(() => conn.run(`COPY j TO '${path.join(dir, 'duckdb-joined.parquet')}' (FORMAT parquet, COMPRESSION zstd)`));
  await conn.run('DROP TABLE j');
  conn.closeSync();
  report({
    bench: 'parquet',
    metric: 'write rows',
    value: total / seconds,
    unit: 'rows/s',
    anchor: 'duckdb COPY TO, same rows',
    anchorValue: total / theirs.seconds,
    ratio: theirs.seconds / seconds,
    rows: total,
    seconds: Number(seconds.toFixed(3)),
    // With making the rows: the file encodes while the next rows are made, so this is the fairer total.
    wallSeconds: Number(ours.seconds.toFixed(3)),
    rowsToBatchSeconds: Number(toBatchSeconds.toFixed(3)),
    makeRowsSeconds: Number(makeSeconds.toFixed(3)),
    load: load(),
  });
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-bench-parquet-'));
try {
  const duck = await DuckDBInstance.create(':memory:');
  if (parts.has('requests')) await benchRequests(dir, duck);
  if (parts.has('read-rows')) await benchReadRows(duck);
  if (parts.has('write-rows')) await benchWriteRows(dir, duck);
} finally {
  if (!process.env.KEEP) await fs.rm(dir, { recursive: true, force: true }); else console.error(dir);
}
