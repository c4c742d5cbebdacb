/**
 * PII never passes: segment data carries `email` and `postal_address` from matching; the refresher reads it
 * through a column allowlist. This plants distinctive values in both segment snapshots, runs two days, and
 * scans every byte of every file the refresher wrote (store, requests, markers, quarantine, work dirs) with
 * Parquet decoded and gzip inflated as well as raw.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRunner, inlineRunner } from '../../../engine/index.ts';
import { runRefresher, SEGMENT_DATA_ALLOWED_COLUMNS } from '../../../jobs/refresher/index.ts';
import { generateSyntheticData, segmentDataSchema } from '../../../jobs/synthetic/index.ts';
import { batchToRows, joinUri, localPath, readDataset, toStorageUri, writeDataset, type Row } from '../../../storage/index.ts';
import { filesBelow, readableContent, readRows } from './refresher-fixtures.ts';

const DATES = ['2026-11-22', '2026-11-23'];
const EMAIL_MARK = 'zq7planted.email';
const ADDRESS_MARK = 'Zq7planted Address Road';
const PARTNERS: { id: number; segmentMap: Record<string, string>; deltas?: boolean }[] = [
  { id: 17, segmentMap: { '1001': 'auto', '1002': 'travel', '1003': 'sport', '1004': 'news' } },
  { id: 42, segmentMap: { '1001': '5001', '1002': '5002', '1003': '5003' }, deltas: true },
];

let dir: string;
let root: string;
const plantedCookies = new Set<string>();

/** Rewrites a segment snapshot with every row carrying planted PII (the columns matching fills). */
async function plant(date: string): Promise<void> {
  const uri = joinUri(root, 'segments', `dt=${date}`);
  const rows: Row[] = [];
  for await (const b of readDataset(uri)) rows.push(...batchToRows(segmentDataSchema, b));
  const batch = {
    numRows: rows.length,
    columns: {
      cookie_id: rows.map((r) => r.cookie_id as string),
      segment_ids: rows.map((r) => r.segment_ids as Int32Array),
      updated_at: Float64Array.from(rows.map((r) => r.updated_at as number)),
      email: rows.map((_, i) => `${EMAIL_MARK}.${i}@leak.example`),
      postal_address: rows.map((_, i) => `${i} ${ADDRESS_MARK}, 99999 Leakville`),
    },
  };
  for (const r of rows) plantedCookies.add(r.cookie_id as string);
  await writeDataset(uri, segmentDataSchema, [batch], { overwrite: true });
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-pii-'));
  root = toStorageUri(dir);
  await generateSyntheticData({
    out: root,
    logs: 20_000,
    segments: 2_000,
    partners: 2,
    configuredPartnerIds: [17, 42],
    configuredSegmentIds: [1001, 1002, 1003, 1004],
    days: 2,
    date: DATES[1]!,
    seed: 11,
  });
  for (const date of DATES) await plant(date);
  // Day 1 on the local runner (workers, shuffle files), day 2 inline: both paths are scanned.
  await runRefresher(localRunner({ workers: 2 }), { storageRoot: root, date: DATES[0]!, partners: PARTNERS });
  await runRefresher(inlineRunner(), { storageRoot: root, date: DATES[1]!, partners: PARTNERS });
}, 120_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('PII never passes the refresher', () => {
  it('reads segment data through an allowlist without PII columns', () => {
    expect([...SEGMENT_DATA_ALLOWED_COLUMNS]).toEqual(['cookie_id', 'segment_ids']);
  });

  it('the scan finds the planted values in the input (so it can find them anywhere)', async () => {
    const inputs = (await filesBelow(path.join(dir, 'segments'))).filter((f) => f.endsWith('.parquet'));
    expect(inputs.length).toBe(2);
    for (const f of inputs) {
      const text = await readableContent(f);
      expect(text).toContain(EMAIL_MARK);
      expect(text).toContain(ADDRESS_MARK);
    }
  });

  it('no file written by the refresher holds a planted value, decoded or raw', async () => {
    const outputs = (await filesBelow(dir)).filter((f) => !f.startsWith(path.join(dir, 'segments') + path.sep) && !f.startsWith(path.join(dir, 'logs') + path.sep));
    const rel = outputs.map((f) => path.relative(dir, f));
    // Both days' store and requests, and the quarantine of rejected log lines, are among them.
    for (const date of DATES) {
      expect(rel.some((f) => f.startsWith(`cookie-sync-store/dt=${date}/`) && f.endsWith('.parquet'))).toBe(true);
      expect(rel.some((f) => f.startsWith(`requests/dt=${date}/partner=`) && f.endsWith('.parquet'))).toBe(true);
      expect(rel).toContain(`requests/dt=${date}/_SUCCESS`);
    }
    expect(rel.some((f) => /^_work\/refresher\/[^/]+\/_quarantine\/merge-store\/.*\.parquet$/.test(f))).toBe(true);
    for (const f of outputs) {
      const raw = (await fs.readFile(f)).toString('latin1');
      const decoded = await readableContent(f);
      for (const mark of [EMAIL_MARK, ADDRESS_MARK, 'leak.example', 'Leakville']) {
        expect(raw.includes(mark), `${mark} in raw ${f}`).toBe(false);
        expect(decoded.includes(mark), `${mark} in ${f}`).toBe(false);
      }
    }
  });

  it('the rows carrying PII were processed: their cookies got requests', async () => {
    const requests = await readRows(joinUri(root, 'requests', `dt=${DATES[1]}`));
    expect(requests.length).toBeGreaterThan(20);
    expect(requests.every((r) => plantedCookies.has(r.cookie_id as string))).toBe(true);
    expect(Object.keys(requests[0]!).sort()).toEqual(
      ['cookie_id', 'expires_at', 'partner_id', 'partner_user_id', 'priority', 'removed_segments', 'request_id', 'segments', 'synced_at'],
    );
    expect(localPath(root)).toBe(dir);
  });
});
