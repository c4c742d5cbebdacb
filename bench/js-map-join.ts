/**
 * The second reference for bench/engine: the refresher-shaped job hand-written in JS, one thread, all in
 * memory: events read into rows and deduplicated to the latest per (cookie, partner) in a Map, segments read into a
 * Map, the join written through storage/ as the engine writes. No shuffle, spill or workers; memory grows with
 * the data, so it is run at 1x only.
 */
import { batchToRows, datasetFiles, projectSchema, readDatasetFile, rowsToBatch, writeDataset, type ColumnBatch, type Row } from '../storage/index.ts';
import { joinedSchema } from './refresher-shaped-job.ts';

async function* rowsOf(uri: string, columns: readonly string[]): AsyncGenerator<Row[]> {
  const { schema, files } = await datasetFiles(uri);
  const projected = projectSchema(schema, columns, uri);
  for (const file of files) for await (const batch of readDatasetFile(file, schema, { columns, batchRows: 8192 })) yield batchToRows(projected, batch);
}

/** Runs the join from the `events` and `segments` datasets into `output`; resolves to the rows written. */
export async function jsMapJoin(events: string, segments: string, output: string): Promise<number> {
  const latest = new Map<string, { cookie: string; partner: number; user: string; ts: number }>();
  for await (const rows of rowsOf(events, ['cookie_id', 'partner_id', 'partner_user_id', 'ts'])) {
    for (const r of rows) {
      const cookie = r['cookie_id'] as string;
      const partner = r['partner_id'] as number;
      const user = r['partner_user_id'] as string;
      const ts = r['ts'] as number;
      const key = `${cookie}\u0000${partner}`;
      const cur = latest.get(key);
      // The same tie-break as the engine job: the later sync, then the greater user id.
      if (!cur || ts > cur.ts || (ts === cur.ts && user > cur.user)) latest.set(key, { cookie, partner, user, ts });
    }
  }
  const segs = new Map<string, Int32Array>();
  for await (const rows of rowsOf(segments, ['cookie_id', 'segment_ids'])) for (const r of rows) segs.set(r['cookie_id'] as string, r['segment_ids'] as Int32Array);
  async function* joined(): AsyncGenerator<ColumnBatch> {
    let out: Row[] = [];
    for (const v of latest.values()) {
      const s = segs.get(v.cookie);
      if (!s) continue;
      out.push({ cookie_id: v.cookie, partner_id: v.partner, partner_user_id: v.user, synced_at: v.ts, segment_ids: s });
      if (out.length === 8192) {
        yield rowsToBatch(joinedSchema, out);
        out = [];
      }
    }
    if (out.length > 0) yield rowsToBatch(joinedSchema, out);
  }
  const marker = await writeDataset(output, joinedSchema, joined(), { overwrite: true, rowsPerFile: 1_000_000 });
  return marker.rows;
}
