import * as fsp from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSystemFor, isComplete, joinUri, localPath, rowsToBatch, type ColumnBatch, type Row } from '../../../storage/index.ts';
import { batchFormatterParams, batchRowSchema, BatchFileError } from '../../../jobs/batch-formatter/index.ts';
import { batchFileText, writeBatchDataset } from '../../../jobs/batch-formatter/batch-file-writer.ts';
import { makeTempRoot, removeTempRoot, type TempRoot } from './batch-fixtures.ts';

const params = (template: object) =>
  batchFormatterParams.parse({ partner: { id: 7, name: 'p', template: { fields: ['segment', 'cookie_id'], groupBy: 'segment', ...template } }, period: '2026-11-23' });

const head = (key: string, h: string, tail = ''): Row => ({ row_key: key, head: h, tail, member: null });
const member = (key: string, m: string): Row => ({ row_key: key, head: null, tail: null, member: m });

async function* batches(rows: Row[], per = 2): AsyncGenerator<ColumnBatch> {
  for (let i = 0; i < rows.length; i += per) yield rowsToBatch(batchRowSchema, rows.slice(i, i + per));
}

async function collect(text: AsyncIterable<string>): Promise<string[]> {
  const chunks: string[] = [];
  for await (const c of text) chunks.push(c);
  return chunks;
}

describe('batch file assembly', () => {
  let t: TempRoot;
  beforeEach(async () => {
    t = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(t);
  });

  it('writes heads, members joined by the segment delimiter and tails, across batch boundaries', async () => {
    const p = params({ segmentDelimiter: ';', header: ['n=${ROWS} ${PARTNER_ID}'] });
    const rows = [head('S1', 'S1\t', '\tx'), member('S1', 'a'), member('S1', 'b'), member('S1', 'c'), head('S2', 'S2\t', '\tx'), member('S2', 'a')];
    expect((await collect(batchFileText(batches(rows), p, 2, 'f'))).join('')).toBe('n=2 7\nS1\ta;b;c\tx\nS2\ta\tx\n');
  });

  it('streams a segment of many members in bounded chunks, never as one string', async () => {
    const members = Array.from({ length: 100_000 }, (_, i) => member('S1', `user-${String(i).padStart(6, '0')}`));
    const chunks = await collect(batchFileText(batches([head('S1', 'S1\t'), ...members], 8192), params({}), 1, 'f'));
    expect(chunks.length).toBeGreaterThan(10);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(70_000);
    const line = chunks.join('');
    expect(line.endsWith('user-099999\n')).toBe(true);
    expect(line.split(',').length).toBe(100_000);
  });

  it('refuses rows out of key order, a member without its head, and a row count that disagrees with the header', async () => {
    const p = params({});
    await expect(collect(batchFileText(batches([head('S2', 'S2\t'), member('S2', 'a'), head('S1', 'S1\t'), member('S1', 'a')]), p, 2, 'f'))).rejects.toThrow(
      /f: row "S1" comes after "S2"; the format step's output must be one sorted run/,
    );
    await expect(collect(batchFileText(batches([head('S1', 'S1\t'), member('S1', 'b'), member('S1', 'a')]), p, 1, 'f'))).rejects.toThrow(
      /member "a" of "S1" comes after "b"/,
    );
    await expect(collect(batchFileText(batches([member('S1', 'a')]), p, 1, 'f'))).rejects.toThrow(/member "a" of "S1" does not follow its row's head/);
    await expect(collect(batchFileText(batches([head('S1', 'S1\t'), member('S1', 'a')]), p, 3, 'f'))).rejects.toThrow(/wrote 1 rows but the job counted 3/);
  });

  it('a failure while the gzip file streams leaves nothing: no dataset, no staging directory', async () => {
    const uri = joinUri(t.root, 'batch/p/dt=2026-11-23');
    // Enough rows to pass several chunks through gzip before the out-of-order row fails the write.
    const rows: Row[] = [];
    for (let i = 0; i < 20_000; i++) rows.push(head(`S${String(i).padStart(6, '0')}`, `S${i}\t`), member(`S${String(i).padStart(6, '0')}`, 'u'));
    rows.push(head('A', 'A\t'), member('A', 'u'));
    const error = await writeBatchDataset({
      uri,
      params: params({}),
      batches: batches(rows, 4096),
      rows: 20_001,
      inputs: [],
      createdBy: { job: 'batch-formatter', runId: 'test', runner: 'inline' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchFileError);
    expect(await isComplete(fileSystemFor(uri), uri)).toBe(false);
    expect(await fsp.readdir(localPath(joinUri(t.root, 'batch/p')))).toEqual([]);
  });

  it('writes a valid gzip file whose manifest matches it', async () => {
    const uri = joinUri(t.root, 'batch/p/dt=2026-11-23');
    const written = await writeBatchDataset({
      uri,
      params: params({ header: ['#${DATE}'] }),
      batches: batches([head('S1', 'S1\t'), member('S1', 'a'), member('S1', 'b')]),
      rows: 1,
      inputs: ['requests/dt=2026-11-23'],
      createdBy: { job: 'batch-formatter', runId: 'test', runner: 'inline' },
    });
    const bytes = await fsp.readFile(localPath(joinUri(uri, written.file.path)));
    expect(gunzipSync(bytes).toString()).toBe('#2026-11-23\nS1\ta,b\n');
    expect(written.manifest).toMatchObject({ file: 'p_2026-11-23.tsv.gz', rows: 1, bytes: bytes.length, sha256: written.file.sha256 });
    expect(written.marker.files.map((f) => f.path)).toEqual(['p_2026-11-23.tsv.gz', 'p_2026-11-23.tsv.gz.manifest.json']);
    expect(written.marker.rows).toBe(1);
  });
});
