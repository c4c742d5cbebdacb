/**
 * bench/parquet: write and read 1M data sync requests through storage/ and compare with DuckDB's own
 * COPY ... TO and read_parquet on the same rows in the same run.
 * Usage: tsx bench/parquet-bench.ts [rows]
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { writeParquetFile, readParquetFile, type ColumnBatch } from '../storage/index.ts';
import { dataSyncRequestSchema } from '../jobs/refresher/data-sync-request.ts';
import { seededRandom } from '../udfs/index.ts';
import { report, timed } from './bench-report.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const batchRows = 65_536;

/** Deterministic request batches shaped like the refresher's output (hex ids, 1-9 partner segment codes). */
function makeBatches(total: number): ColumnBatch[] {
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

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-bench-parquet-'));
try {
  const batches = makeBatches(rows);
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
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${ours}')`);
  const theirs = path.join(dir, 'duckdb.parquet');
  const dWrite = await timed(() => conn.run(`COPY t TO '${theirs}' (FORMAT parquet, COMPRESSION zstd)`));
  const dRead = await timed(() => conn.run(`CREATE TABLE r AS SELECT * FROM read_parquet('${theirs}')`));
  conn.closeSync();

  const size = (await fs.stat(ours)).size;
  const w = rows / write.seconds, dw = rows / dWrite.seconds;
  const r = rows / read.seconds, dr = rows / dRead.seconds;
  report({ bench: 'parquet', metric: 'write', value: w, unit: 'rows/s', anchor: 'duckdb COPY TO', anchorValue: dw, ratio: w / dw, goal: '>= 1e6 rows/s, ratio >= 0.33', rows, fileBytes: size });
  report({ bench: 'parquet', metric: 'read', value: r, unit: 'rows/s', anchor: 'duckdb read_parquet', anchorValue: dr, ratio: r / dr, goal: '>= 1e6 rows/s, ratio >= 0.33', rows, checksum });
} finally {
  if (!process.env.KEEP) await fs.rm(dir, { recursive: true, force: true }); else console.error(dir);
}
