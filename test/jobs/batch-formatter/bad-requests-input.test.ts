/**
 * Bad input of the batch formatter (issue 16, bad-input corpora): a data sync request file damaged after the
 * refresher wrote it (cut short, overwritten with junk of the same size, nulls where the schema has none, another
 * schema than its marker says). Each ends in a located error naming the file (and column and row where there is
 * one) and what to do, with no batch dataset marked; the partner's other files are not the cause named.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineRunner } from '../../../engine/index.ts';
import { runBatchFormatter, type BatchPartnerInput } from '../../../jobs/batch-formatter/index.ts';
import { dataSyncRequestSchema } from '../../../jobs/refresher/index.ts';
import { DatasetStaging, fileSystemFor, joinUri, localPath } from '../../../storage/index.ts';
import { makeTempRoot, removeTempRoot, writeRequests, type TempRoot } from './batch-fixtures.ts';

const DAY = '2026-11-23';
const partner: BatchPartnerInput = { id: 42, name: 'globex-dmp', template: { groupBy: 'cookie', fields: ['partner_user_id', 'segments'] } };

/** A request part file written by DuckDB from `select` (the stored columns: partition columns live in the path). */
async function duckParquet(dir: string, select: string): Promise<Buffer> {
  const file = path.join(dir, 'made.parquet');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return fsp.readFile(file);
}

const ROW = (id: string, cookie: string): string =>
  `SELECT ${id} AS request_id, '${cookie}' AS cookie_id, 'U-1' AS partner_user_id, ['GX-AUTO'] AS segments, []::VARCHAR[] AS removed_segments, ` +
  `TIMESTAMP '2026-11-23 12:00:00'::TIMESTAMP_MS AS synced_at, TIMESTAMP '2027-01-22 00:00:00'::TIMESTAMP_MS AS expires_at`;

describe('batch formatter over damaged data sync requests', () => {
  let t: TempRoot;
  beforeEach(async () => {
    t = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(t);
  });

  async function expectLocatedFailure(pattern: RegExp): Promise<void> {
    const err = await runBatchFormatter(inlineRunner(), { storageRoot: t.root, partner, period: DAY }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/requests\/dt=2026-11-23\/partner=42\/priority=normal\/part-\d+\.parquet/);
    expect((err as Error).message).toMatch(pattern);
    expect(await fileSystemFor(t.root).exists(joinUri(t.root, 'batch/globex-dmp', `dt=${DAY}`, '_SUCCESS'))).toBe(false);
  }

  /** The request file of partner 42 at priority normal, after writing a small day. */
  async function normalPart(): Promise<string> {
    await writeRequests(t, DAY, [
      { cookie: 'rzhqEqt2G_Luy5kC9riKeg', segments: ['GX-AUTO'] },
      { cookie: 'ZamKF6ajyszpXpA09A7XAA', segments: ['GX-SPORTS'], priority: 'high' },
    ]);
    const dir = localPath(joinUri(t.root, `requests/dt=${DAY}/partner=42/priority=normal`));
    const [name] = (await fsp.readdir(dir)).filter((n) => n.endsWith('.parquet'));
    return path.join(dir, name!);
  }

  it('a request file cut short: its size against the marker, before any row is read', async () => {
    const file = await normalPart();
    const bytes = await fsp.readFile(file);
    await fsp.writeFile(file, bytes.subarray(0, bytes.length >> 1));
    await expectLocatedFailure(/has \d+ bytes, the marker says \d+.*re-run the stage that writes it/s);
  });

  it('a request file overwritten with junk of the same size', async () => {
    const file = await normalPart();
    const size = (await fsp.stat(file)).size;
    await fsp.writeFile(file, Buffer.alloc(size, 0x5a));
    await expectLocatedFailure(/not a readable Parquet file.*rewrite the dataset/s);
  });

  async function writeRequestsDataset(bytes: Buffer): Promise<void> {
    const uri = joinUri(t.root, `requests/dt=${DAY}`);
    const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
    await staging.addFile('partner=42/priority=normal/part-00000.parquet', bytes, 2);
    await staging.commit({ kind: 'parquet', schema: [...dataSyncRequestSchema.fields], partitionBy: [{ column: 'partner_id', key: 'partner' }, { column: 'priority', key: 'priority' }] });
  }

  it('a null request_id (the schema has none): the column and row', async () => {
    await writeRequestsDataset(await duckParquet(t.dir, `${ROW("'a'", 'rzhqEqt2G_Luy5kC9riKeg')} UNION ALL ${ROW('NULL', 'ZamKF6ajyszpXpA09A7XAA')}`));
    await expectLocatedFailure(/column "request_id" is null at row 1 \(0-based\).*re-run the stage that wrote the file/s);
  });

  it('a file without the segments column its marker lists', async () => {
    await writeRequestsDataset(await duckParquet(t.dir, `SELECT * EXCLUDE (segments) FROM (${ROW("'a'", 'rzhqEqt2G_Luy5kC9riKeg')})`));
    await expectLocatedFailure(/has no column "segments", which its dataset's schema lists.*re-run the stage that wrote it/s);
  });

  it('a file whose timestamps are strings that do not convert', async () => {
    await writeRequestsDataset(await duckParquet(t.dir, `SELECT * REPLACE ('soon' AS expires_at) FROM (${ROW("'a'", 'rzhqEqt2G_Luy5kC9riKeg')})`));
    await expectLocatedFailure(/holds values that do not convert to its dataset's column types.*re-run the stage that wrote it/s);
  });
});
