/**
 * The inputs of the refresher-shaped job (bench/refresher-shaped-job.ts), seeded so every bench that reads
 * them (engine, parquet) sees the same rows: `events` sync events over a pool of events/5 cookies on 20
 * partners, and segment lists for the first `segments` cookies of the pool.
 */
import { writeDataset, joinUri, type ColumnBatch } from '../storage/index.ts';
import { seededRandom } from '../udfs/index.ts';
import { syncEventSchema, segmentRowSchema } from './refresher-shaped-job.ts';

/** The logical date the inputs are written under (`bench/events/dt=…`, `bench/segments/dt=…`). */
export const INPUT_DATE = '2026-11-23';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A 22-character cookie id for pool index `i` (deterministic, distinct per index). */
export function cookieId(i: number): string {
  let s = '';
  let x = (Math.imul(i + 1, 0x9e3779b1) >>> 0) * 4096 + (i % 4096);
  for (let k = 0; k < 22; k++) {
    s += B64[x % 64];
    x = Math.floor(x / 64) || i + k + 7;
  }
  return s;
}

/** Writes the events and segments datasets under `root`. */
export async function makeRefresherShapedInputs(root: string, events: number, segments: number): Promise<void> {
  const rnd = seededRandom(11);
  const pool = Math.max(1, Math.floor(events / 5));
  const day = Date.UTC(2026, 10, 23);
  const batch = 65_536;
  async function* eventBatches(): AsyncGenerator<ColumnBatch> {
    for (let off = 0; off < events; off += batch) {
      const n = Math.min(batch, events - off);
      const cid: string[] = new Array(n), puid: string[] = new Array(n);
      const pid = new Int32Array(n), ts = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const c = rnd.int(pool);
        pid[i] = 1 + rnd.int(20);
        cid[i] = cookieId(c);
        puid[i] = `p${pid[i]}-${c.toString(36)}-${rnd.int(1000)}`;
        ts[i] = day + rnd.int(86_400_000);
      }
      yield { numRows: n, columns: { cookie_id: cid, partner_id: pid, partner_user_id: puid, ts } };
    }
  }
  async function* segmentBatches(): AsyncGenerator<ColumnBatch> {
    for (let off = 0; off < segments; off += batch) {
      const n = Math.min(batch, segments - off);
      const cid: string[] = new Array(n), segs: Int32Array[] = new Array(n);
      for (let i = 0; i < n; i++) {
        cid[i] = cookieId(off + i); // the first `segments` cookies of the pool have segment data
        const s = new Int32Array(1 + rnd.int(12));
        for (let j = 0; j < s.length; j++) s[j] = 1000 + rnd.int(500);
        segs[i] = s;
      }
      yield { numRows: n, columns: { cookie_id: cid, segment_ids: segs } };
    }
  }
  await writeDataset(joinUri(root, `bench/events/dt=${INPUT_DATE}`), syncEventSchema, eventBatches(), { overwrite: true });
  await writeDataset(joinUri(root, `bench/segments/dt=${INPUT_DATE}`), segmentRowSchema, segmentBatches(), { overwrite: true });
}
