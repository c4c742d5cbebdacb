import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineRunner, JobError, localRunner, streamingRunner, type JobRunner } from '../../../engine/index.ts';
import { cookieSyncStoreSchema, refresherDatasets, runRefresher, type RefresherSummary } from '../../../jobs/refresher/index.ts';
import { segmentDataSchema } from '../../../jobs/synthetic/index.ts';
import { DatasetStaging, fileSystemFor, joinUri, toStorageUri, writeDataset } from '../../../storage/index.ts';
import { requestId } from '../../../udfs/index.ts';
import { cookieNamed, pageLine, readRows, syncLine, writeLogDay, writeSegmentDay } from './refresher-fixtures.ts';

const D1 = '2026-11-22';
const D2 = '2026-11-23';
type TestPartner = { id: number; segmentMap: Record<string, string>; expiryDays: number; deltas?: boolean };
const PARTNERS: TestPartner[] = [
  { id: 17, segmentMap: { '1001': 'auto', '1002': 'travel', '1003': 'sport' }, expiryDays: 30 },
  { id: 42, segmentMap: { '1001': 'a1', '1002': 'a2', '1004': 'a4' }, expiryDays: 14, deltas: true },
];
const REFRESH_EVERY = 3;
const notDue = { date: D2, everyDays: REFRESH_EVERY, due: false };
const due = { date: D2, everyDays: REFRESH_EVERY, due: true };
// A, B: known on D2 and not due for the rota; C, C2: due; N, N2: first synced on D2; S: segments but never synced.
const A = cookieNamed('A', notDue);
const B = cookieNamed('B', notDue);
const C = cookieNamed('C', due);
const C2 = cookieNamed('C2', due);
const N = cookieNamed('N');
const N2 = cookieNamed('N2');
const S = cookieNamed('S');

const ms = (iso: string): number => Date.parse(iso);

async function writeInputs(root: string): Promise<void> {
  await writeLogDay(root, D1, {
    'hour=10/webapp-web-01.log.gz': [
      syncLine('2026-11-22T10:00:00.000Z', A, 17, 'PA1'),
      syncLine('2026-11-22T10:05:00.000Z', A, 99, 'X99'),
      syncLine('2026-11-22T10:10:00.000Z', B, 17, 'PB-old'),
      pageLine('2026-11-22T10:11:00.000Z', B),
      'garbage\tline',
      syncLine('2026-11-22T10:20:00.000Z', B, 42, 'PB42'),
    ],
    'hour=11/webapp-web-01.log.gz': [
      syncLine('2026-11-22T11:00:00.000Z', B, 17, 'PB-new'),
      syncLine('2026-11-22T11:10:00.000Z', C, 17, 'PC'),
      '',
      syncLine('2026-11-22T11:20:00.000Z', C2, 42, 'PC2'),
      pageLine('2026-11-22T11:30:00.000Z', null),
      syncLine('2026-11-22T11:40:00.000Z', S, 17, 'x'.repeat(300)),
    ],
  });
  await writeSegmentDay(root, D1, [
    { cookie_id: A, segment_ids: [1001] },
    { cookie_id: B, segment_ids: [1001, 1002], email: 'b@example.com' },
    { cookie_id: C, segment_ids: [1003] },
    { cookie_id: C2, segment_ids: [1001, 1004] },
    { cookie_id: N, segment_ids: [1001] },
    { cookie_id: S, segment_ids: [1002], postal_address: '1 Elm Street, 10001 Oakdale' },
  ]);
  await writeLogDay(root, D2, {
    'hour=08/webapp-web-01.log.gz': [
      syncLine('2026-11-23T08:00:00.000Z', A, 17, 'PA2'),
      syncLine('2026-11-23T08:10:00.000Z', N, 42, 'PN'),
      syncLine('2026-11-23T08:20:00.000Z', N2, 17, 'PN2'),
      'not a log line',
    ],
  });
  await writeSegmentDay(root, D2, [
    { cookie_id: A, segment_ids: [1001] },
    { cookie_id: B, segment_ids: [1002, 1004], email: 'b@example.com' },
    { cookie_id: C, segment_ids: [1003] },
    { cookie_id: C2, segment_ids: [1001, 1004] },
    { cookie_id: N, segment_ids: [1001, 1002, 1003] },
    { cookie_id: N2, segment_ids: [1040] },
    { cookie_id: S, segment_ids: [1002] },
  ]);
}

interface DayRun {
  summary: RefresherSummary;
  store: Record<string, unknown>[];
  requests: Record<string, unknown>[];
  mergeRecordsIn: number;
}

async function runDays(runner: JobRunner, root: string): Promise<DayRun[]> {
  const out: DayRun[] = [];
  for (const date of [D1, D2]) {
    const { result, summary } = await runRefresher(runner, { storageRoot: root, date, partners: PARTNERS, refreshEveryDays: REFRESH_EVERY });
    const ds = refresherDatasets(date).outputs;
    out.push({
      summary,
      store: await readRows(joinUri(root, ds.store)),
      requests: await readRows(joinUri(root, ds.requests)),
      mergeRecordsIn: result.steps[0]!.recordsIn,
    });
  }
  return out;
}

const request = (date: string, partner: TestPartner, cookie: string, over: Record<string, unknown>) => ({
  request_id: requestId(date, partner.id, cookie),
  partner_id: partner.id,
  cookie_id: cookie,
  removed_segments: [],
  expires_at: Date.parse(`${date}T00:00:00Z`) + partner.expiryDays * 86_400_000,
  ...over,
});
const byCookiePartner = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [`${r.cookie_id}/${r.partner_id}`, r]));

let dir: string;
let inline: DayRun[];
let inlineRoot: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-refresher-'));
  inlineRoot = toStorageUri(path.join(dir, 'inline'));
  await writeInputs(inlineRoot);
  inline = await runDays(inlineRunner(), inlineRoot);
}, 120_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('refresher, two daily runs on the inline runner', () => {
  it('day 1 (first run): builds the store from the logs alone, latest partner user id per pair', () => {
    const [day1] = inline;
    expect(day1!.summary).toMatchObject({ previousStoreDate: null, previousSegmentsDate: null, storeRows: 6 });
    const store = byCookiePartner(day1!.store);
    expect(store.get(`${B}/17`)).toEqual({
      cookie_id: B,
      partner_id: 17,
      partner_user_id: 'PB-new',
      first_seen: ms('2026-11-22T10:10:00.000Z'),
      last_seen: ms('2026-11-22T11:00:00.000Z'),
    });
    expect(store.get(`${A}/99`)).toMatchObject({ partner_user_id: 'X99' }); // kept, though no partner 99 is configured
    expect([...store.keys()].sort()).toEqual([`${A}/17`, `${A}/99`, `${B}/17`, `${B}/42`, `${C}/17`, `${C2}/42`].sort());
  });

  it('day 1: every configured sync is new, so full sets at priority high', () => {
    const [day1] = inline;
    const requests = byCookiePartner(day1!.requests);
    expect(requests.size).toBe(5);
    const [p17, p42] = PARTNERS as [TestPartner, TestPartner];
    expect(requests.get(`${B}/17`)).toEqual(
      request(D1, p17, B, { priority: 'high', partner_user_id: 'PB-new', segments: ['auto', 'travel'], synced_at: ms('2026-11-22T11:00:00.000Z') }),
    );
    expect(requests.get(`${B}/42`)).toMatchObject({ priority: 'high', segments: ['a1', 'a2'], removed_segments: [] });
    expect(requests.get(`${C2}/42`)).toEqual(
      request(D1, p42, C2, { priority: 'high', partner_user_id: 'PC2', segments: ['a1', 'a4'], synced_at: ms('2026-11-22T11:20:00.000Z') }),
    );
    expect(day1!.summary.requests).toEqual([
      { partnerId: 17, priority: 'high', rows: 3 },
      { partnerId: 42, priority: 'high', rows: 2 },
    ]);
    expect(day1!.summary.counters['requests']).toEqual({
      requests: { 'new-sync': 5, 'skipped-unconfigured-partner': 1 },
      segments: { 'cookies-without-sync': 2 },
    });
  });

  it('day 1: counts non-sync lines and rejects malformed ones by reason', () => {
    const c = inline[0]!.summary.counters['merge-store']!;
    expect(c['extract']).toEqual({ 'other-lines': 2, 'sync-lines': 7 });
    expect(c['rejected']).toEqual({ 'field-count': 1, empty: 1, 'bad-puid': 1 });
    expect(c['store']).toEqual({ 'new-entries': 6 });
  });

  it('day 2 reads only its own logs and day 1 store; keeps first_seen, moves last_seen and the partner user id', () => {
    const [, day2] = inline;
    expect(day2!.summary).toMatchObject({ previousStoreDate: D1, previousSegmentsDate: D1, storeRows: 8 });
    expect(day2!.mergeRecordsIn).toBe(4 + 6); // day 2's log lines + day 1's store rows
    const store = byCookiePartner(day2!.store);
    expect(store.get(`${A}/17`)).toEqual({
      cookie_id: A,
      partner_id: 17,
      partner_user_id: 'PA2',
      first_seen: ms('2026-11-22T10:00:00.000Z'),
      last_seen: ms('2026-11-23T08:00:00.000Z'),
    });
    expect(store.get(`${B}/17`)).toEqual(byCookiePartner(inline[0]!.store).get(`${B}/17`));
    expect(store.get(`${N}/42`)).toMatchObject({ first_seen: ms('2026-11-23T08:10:00.000Z'), last_seen: ms('2026-11-23T08:10:00.000Z') });
    expect(day2!.summary.counters['merge-store']!['store']).toEqual({ 'known-entries': 6, 'new-entries': 2, 'previous-entries': 6 });
  });

  it('day 2: new syncs high; changed and rota-due known cookies normal; deltas add/remove; unchanged and empty skipped', () => {
    const [, day2] = inline;
    const requests = byCookiePartner(day2!.requests);
    const [p17, p42] = PARTNERS as [TestPartner, TestPartner];
    expect(requests.get(`${N}/42`)).toEqual(
      request(D2, p42, N, { priority: 'high', partner_user_id: 'PN', segments: ['a1', 'a2'], synced_at: ms('2026-11-23T08:10:00.000Z') }),
    );
    // B's segments went from [1001, 1002] to [1002, 1004]: partner 17 gets the full set, 42 (deltas) the changes.
    expect(requests.get(`${B}/17`)).toEqual(
      request(D2, p17, B, { priority: 'normal', partner_user_id: 'PB-new', segments: ['travel'], synced_at: ms('2026-11-22T11:00:00.000Z') }),
    );
    expect(requests.get(`${B}/42`)).toMatchObject({ priority: 'normal', segments: ['a4'], removed_segments: ['a1'] });
    // C and C2 unchanged but due for the rota: the whole set (deltas partner too, so its expiry is extended).
    expect(requests.get(`${C}/17`)).toMatchObject({ priority: 'normal', segments: ['sport'], removed_segments: [] });
    expect(requests.get(`${C2}/42`)).toMatchObject({ priority: 'normal', segments: ['a1', 'a4'], removed_segments: [] });
    expect(requests.has(`${A}/17`)).toBe(false); // unchanged, not due
    expect(requests.has(`${N2}/17`)).toBe(false); // new, but no segment mapped for 17
    expect(requests.size).toBe(5);
    expect(day2!.summary.counters['requests']!['requests']).toEqual({
      changed: 2,
      'new-sync': 1,
      'rota-refresh': 2,
      'skipped-nothing-to-send': 1,
      'skipped-unchanged': 1,
      'skipped-unconfigured-partner': 1,
    });
    expect(day2!.summary.requests).toEqual([
      { partnerId: 17, priority: 'normal', rows: 2 },
      { partnerId: 42, priority: 'high', rows: 1 },
      { partnerId: 42, priority: 'normal', rows: 2 },
    ]);
  });

  it('writes requests partitioned partner=<id>/priority=<p>', async () => {
    const files = (await fileSystemFor(inlineRoot).list(joinUri(inlineRoot, 'requests', `dt=${D2}`), { recursive: true }))
      .filter((e) => !e.isDirectory)
      .map((e) => e.uri.slice(joinUri(inlineRoot, 'requests', `dt=${D2}`).length + 1).replace(/part-[^/]+$/, 'part'));
    expect([...new Set(files)].sort()).toEqual(['_SUCCESS', 'partner=17/priority=normal/part', 'partner=42/priority=high/part', 'partner=42/priority=normal/part']);
  });

  it('samples malformed lines to the quarantine with their file, line and reason', async () => {
    const quarantine = inline[0]!.summary.quarantines;
    expect(quarantine).toHaveLength(1);
    const rows = await readRows(quarantine[0]!);
    const seen = rows.map((r) => [r.phase, r.reason, String(r.file).replace(/^.*\/logs\//, 'logs/'), r.row]);
    expect(seen.sort()).toEqual(
      [
        ['rejected', 'bad-puid', `logs/dt=${D1}/hour=11/webapp-web-01.log.gz`, 5],
        ['rejected', 'empty', `logs/dt=${D1}/hour=11/webapp-web-01.log.gz`, 2],
        ['rejected', 'field-count', `logs/dt=${D1}/hour=10/webapp-web-01.log.gz`, 4],
      ].sort(),
    );
  });

  it('the local runner (two workers) writes the same store and requests on both days', async () => {
    const root = toStorageUri(path.join(dir, 'local'));
    await writeInputs(root);
    const local = await runDays(localRunner({ workers: 2 }), root);
    for (const [i, day] of local.entries()) {
      expect(day.store).toEqual(inline[i]!.store);
      expect(day.requests).toEqual(inline[i]!.requests);
      expect(day.summary.counters).toEqual(inline[i]!.summary.counters);
    }
  }, 120_000);

  it('the streaming runner (stage bundle tasks over the streaming protocol) writes the same store and requests on both days', async () => {
    const root = toStorageUri(path.join(dir, 'streaming'));
    await writeInputs(root);
    const streaming = await runDays(streamingRunner({ workers: 2 }), root);
    for (const [i, day] of streaming.entries()) {
      expect(day.store).toEqual(inline[i]!.store);
      expect(day.requests).toEqual(inline[i]!.requests);
      expect(day.summary.counters).toEqual(inline[i]!.summary.counters);
    }
  }, 120_000);

  it('matches the golden requests and store of both days', async () => {
    const golden = path.join(import.meta.dirname, 'golden', 'two-day-run.txt');
    // Cookie ids are derived from names in the test; the golden shows the names to stay readable.
    const names = new Map([A, B, C, C2, N, N2, S].map((id, i) => [id, ['A', 'B', 'C', 'C2', 'N', 'N2', 'S'][i]!]));
    const iso = new Set(['first_seen', 'last_seen', 'synced_at', 'expires_at']);
    const line = (r: Record<string, unknown>) =>
      JSON.stringify(
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [k, k === 'cookie_id' ? names.get(v as string) : iso.has(k) ? new Date(v as number).toISOString() : v]),
        ),
      );
    const section = (title: string, rows: Record<string, unknown>[]) => [`# ${title}`, ...rows.map(line).sort()].join('\n');
    const text = `${inline.flatMap((d, i) => [section(`${[D1, D2][i]} cookie-sync-store`, d.store), section(`${[D1, D2][i]} requests`, d.requests)]).join('\n')}\n`;
    if (process.env['UPDATE_GOLDEN']) await fs.writeFile(golden, text);
    expect(text).toBe(await fs.readFile(golden, 'utf8'));
  });
});

describe('refresher store expiry', () => {
  it('drops entries last seen more than storeMaxAgeDays before the run date; re-synced ones keep first_seen', async () => {
    const root = toStorageUri(path.join(dir, 'expiry'));
    const [first, later] = ['2026-11-20', '2026-11-25'];
    await writeLogDay(root, first, {
      'hour=09/webapp-web-01.log.gz': [syncLine('2026-11-20T09:00:00.000Z', A, 17, 'PA'), syncLine('2026-11-20T09:30:00.000Z', B, 17, 'PB')],
    });
    await writeSegmentDay(root, first, [{ cookie_id: A, segment_ids: [1001] }, { cookie_id: B, segment_ids: [1001] }]);
    await writeLogDay(root, later, { 'hour=09/webapp-web-01.log.gz': [syncLine('2026-11-25T09:00:00.000Z', A, 17, 'PA')] });
    await writeSegmentDay(root, later, [{ cookie_id: A, segment_ids: [1001] }, { cookie_id: B, segment_ids: [1002] }]);
    const params = { storageRoot: root, partners: PARTNERS, storeMaxAgeDays: 3 };
    await runRefresher(inlineRunner(), { ...params, date: first });
    const { summary } = await runRefresher(inlineRunner(), { ...params, date: later });
    expect(summary.counters['merge-store']!['store']).toEqual({ 'expired-entries': 1, 'known-entries': 1, 'previous-entries': 2 });
    const store = await readRows(joinUri(root, 'cookie-sync-store', `dt=${later}`));
    expect(store).toEqual([
      { cookie_id: A, partner_id: 17, partner_user_id: 'PA', first_seen: ms('2026-11-20T09:00:00.000Z'), last_seen: ms('2026-11-25T09:00:00.000Z') },
    ]);
    // B changed segments but left the store, so nothing goes out for it.
    expect((await readRows(joinUri(root, 'requests', `dt=${later}`))).map((r) => r.cookie_id)).not.toContain(B);
  });
});

describe('refresher re-runs', () => {
  it('rebuilds a store left complete without its requests; refuses a complete day unless overwrite', async () => {
    const root = toStorageUri(path.join(dir, 'rerun'));
    await writeLogDay(root, D2, { 'hour=08/webapp-web-01.log.gz': [syncLine('2026-11-23T08:00:00.000Z', A, 17, 'PA')] });
    await writeSegmentDay(root, D2, [{ cookie_id: A, segment_ids: [1001] }]);
    // What a run that failed in its second step leaves: the day's store, marked, and no requests.
    await writeDataset(joinUri(root, 'cookie-sync-store', `dt=${D2}`), cookieSyncStoreSchema, [
      { numRows: 1, columns: { cookie_id: [B], partner_id: Int32Array.of(17), partner_user_id: ['stale'], first_seen: Float64Array.of(0), last_seen: Float64Array.of(ms('2026-11-23T01:00:00.000Z')) } },
    ]);
    const params = { storageRoot: root, date: D2, partners: PARTNERS };
    const { summary } = await runRefresher(inlineRunner(), params);
    expect(summary.rebuiltLeftoverStore).toBe(true);
    expect((await readRows(joinUri(root, 'cookie-sync-store', `dt=${D2}`))).map((r) => r.cookie_id)).toEqual([A]);
    const again = await runRefresher(inlineRunner(), params).catch((e: unknown) => e);
    expect((again as Error).message).toMatch(/already complete/);
    const forced = await runRefresher(inlineRunner(), { ...params, overwrite: true });
    expect(forced.summary).toMatchObject({ rebuiltLeftoverStore: false, requestRows: 1 });
  });
});

describe('refresher bad input', () => {
  async function expectNothingMarked(root: string, date: string): Promise<void> {
    const fsys = fileSystemFor(root);
    for (const out of Object.values(refresherDatasets(date).outputs)) expect(await fsys.exists(joinUri(root, out, '_SUCCESS'))).toBe(false);
  }

  it('a cookie listed twice in a snapshot is counted and gets the union of its segments, on any runner', async () => {
    const root = toStorageUri(path.join(dir, 'duplicates'));
    await writeLogDay(root, D2, { 'hour=08/webapp-web-01.log.gz': [syncLine('2026-11-23T08:00:00.000Z', A, 17, 'PA')] });
    await writeSegmentDay(root, D2, [
      { cookie_id: A, segment_ids: [1003] },
      { cookie_id: A, segment_ids: [1001] },
    ]);
    for (const runner of [inlineRunner(), localRunner({ workers: 2 })]) {
      const { summary } = await runRefresher(runner, { storageRoot: root, date: D2, partners: PARTNERS, overwrite: true });
      expect(summary.counters['requests']!['segments']).toEqual({ 'duplicate-cookie-rows': 1 });
      expect((await readRows(joinUri(root, 'requests', `dt=${D2}`))).map((r) => r.segments)).toEqual([['auto', 'sport']]);
    }
  }, 60_000);

  it('a log file that is not gzip fails the run naming the file; no output is marked', async () => {
    const root = toStorageUri(path.join(dir, 'not-gzip'));
    await writeLogDay(root, D1, { 'hour=00/webapp-web-01.log.gz': [syncLine('2026-11-22T00:01:00.000Z', A, 17, 'PA')] });
    const uri = joinUri(root, 'logs', `dt=${D2}`);
    const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
    await staging.addFile('hour=00/webapp-web-01.log.gz', 'plain text, not gzip\n', 1);
    await staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
    await writeSegmentDay(root, D2, [{ cookie_id: A, segment_ids: [1001] }]);
    const err = await runRefresher(inlineRunner(), { storageRoot: root, date: D2, partners: PARTNERS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toMatch(/step "merge-store"/);
    expect((err as Error).message).toContain(`logs/dt=${D2}/hour=00/webapp-web-01.log.gz`);
    expect((err as Error).message).toMatch(/gzip/i);
    await expectNothingMarked(root, D2);
  });

  it('a segment file that is not Parquet fails the run naming the file, before the store is written', async () => {
    const root = toStorageUri(path.join(dir, 'not-parquet'));
    await writeLogDay(root, D2, { 'hour=00/webapp-web-01.log.gz': [syncLine('2026-11-23T00:01:00.000Z', A, 17, 'PA')] });
    const uri = joinUri(root, 'segments', `dt=${D2}`);
    const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
    await staging.addFile('part-00000.parquet', 'cookie_id,segment_ids\nabc,1001\n', 1);
    await staging.commit({ kind: 'parquet', schema: [...segmentDataSchema.fields] });
    for (const runner of [inlineRunner(), localRunner({ workers: 2 }), streamingRunner({ workers: 2 })]) {
      const err = await runRefresher(runner, { storageRoot: root, date: D2, partners: PARTNERS }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobError);
      expect((err as Error).message).toContain(`segments/dt=${D2}/part-00000.parquet cannot be read as Parquet`);
      await expectNothingMarked(root, D2);
    }
  }, 60_000);

  it('missing segment data for the day fails naming the dataset, before the store is written', async () => {
    const root = toStorageUri(path.join(dir, 'no-segments'));
    await writeLogDay(root, D2, { 'hour=00/webapp-web-01.log.gz': [syncLine('2026-11-23T00:01:00.000Z', A, 17, 'PA')] });
    const err = await runRefresher(inlineRunner(), { storageRoot: root, date: D2, partners: PARTNERS }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(new RegExp(`step "requests": input "segments": .*segments/dt=${D2}.*_SUCCESS`));
    await expectNothingMarked(root, D2);
  });
});
