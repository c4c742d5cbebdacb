import * as fsp from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadRecordRateError, inlineRunner, localRunner, QUARANTINE_SCHEMA, streamingRunner, type JobRunner } from '../../../engine/index.ts';
import { batchToRows, fileSystemFor, isComplete, joinUri, localPath, readDataset, type Row } from '../../../storage/index.ts';
import { batchFormatterDatasets, runBatchFormatter, type BatchPartnerInput } from '../../../jobs/batch-formatter/index.ts';
import { expectConsistentDataset, expectGolden, makeTempRoot, removeTempRoot, writeRequests, type RequestSpec, type TempRoot } from './batch-fixtures.ts';

/** The shipped example's batch partner: one row per cookie, header, a literal and an epoch-seconds expiry, gzip. */
const globex: BatchPartnerInput = {
  id: 42,
  name: 'globex-dmp',
  template: {
    groupBy: 'cookie',
    fields: ['partner_user_id', 'segments'],
    header: ['#provider=courier partner=${PARTNER_NAME} id=${PARTNER_ID} date=${DATE}', '#rows=${ROWS}'],
    extraFields: { source: { value: 'courier' }, expiry: { expiresAt: { format: 'epoch-seconds' } } },
  },
};

/** One row per segment listing partner user ids, plain text, an ISO expiry after the partner id. */
const initech: BatchPartnerInput = {
  id: 43,
  name: 'initech',
  template: {
    groupBy: 'segment',
    fields: ['segment', 'partner_user_id', 'expires_at', 'partner_id'],
    header: ['segment\tusers\texpires\tpartner\tttl'],
    extraFields: { ttl: { expiresAt: { format: 'iso8601' } } },
    compression: 'none',
    fileNamePattern: '${PARTNER_NAME}_${DATE}.tsv',
  },
};

/** A pipe-delimited file with `;` inside lists, its own file name, no header. */
const hooli: BatchPartnerInput = {
  id: 44,
  name: 'hooli',
  template: {
    fields: ['cookie_id', 'segments', 'expires_at', 'request_id', 'partner_id'],
    delimiter: '|',
    segmentDelimiter: ';',
    extraFields: { ms: { expiresAt: { format: 'epoch-millis' } } },
    fileNamePattern: 'audience-${PARTNER_ID}-${DATE}.psv.gz',
  },
};

/** Monthly, by cookie. */
const umbrella: BatchPartnerInput = {
  id: 45,
  name: 'umbrella',
  schedule: 'monthly',
  template: {
    fields: ['cookie_id', 'partner_user_id', 'segments', 'request_id'],
    header: ['#month=${DATE} rows=${ROWS}'],
  },
};

const DAY = '2026-11-23';
// Cookie ids chosen so code-unit order ('Z' < 'a') differs from insertion and from locale order.
const day: RequestSpec[] = [
  { cookie: 'rzhqEqt2G_Luy5kC9riKeg', puid: '6534AF5EB025DB35', segments: ['GX-AUTO', 'GX-SPORTS'], priority: 'high' },
  { cookie: 'ZamKF6ajyszpXpA09A7XAA', puid: 'ü-1610818136837885133', segments: ['GX-SPORTS'], expiresAt: '2027-01-30T00:00:00Z' },
  { cookie: 'a5nBn1EuF_FXMziRFyoWJO', puid: 'CAESEhpCgOVnc6pyVDbxSb03mdQ', segments: [] },
  { cookie: 'XmxKIxN06I-Pvwq8FyIifQ', puid: 'other-partner', segments: ['acme-travel'], partner: 17 },
  { cookie: 'rzhqEqt2G_Luy5kC9riKeg', puid: 'i-43-r', segments: ['S2', 'S1'], partner: 43 },
  { cookie: 'ZamKF6ajyszpXpA09A7XAA', puid: 'i-43-z', segments: ['S2'], partner: 43, priority: 'high', expiresAt: '2027-02-01T00:00:00Z' },
  { cookie: 'a5nBn1EuF_FXMziRFyoWJO', puid: 'i-43-a', segments: ['S1', 'S1', 'S3,x'], partner: 43 },
  { cookie: 'rzhqEqt2G_Luy5kC9riKeg', segments: ['h-1', 'h-2'], partner: 44, requestId: 'req-r' },
  { cookie: 'ZamKF6ajyszpXpA09A7XAA', segments: ['h-2'], partner: 44, requestId: 'req-z' },
];

describe('batch formatter', () => {
  let t: TempRoot;
  const inline = inlineRunner({ batchRows: 3 });
  beforeEach(async () => {
    t = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(t);
  });

  const run = (runner: JobRunner, partner: BatchPartnerInput, period: string, extra: { overwrite?: boolean; maxBadRecordRate?: number } = {}) =>
    runBatchFormatter(runner, { storageRoot: t.root, partner, period, ...extra });

  it('groupBy cookie: header macros, extra fields (literal, epoch seconds), gzip; other partners left out', async () => {
    await writeRequests(t, DAY, day);
    const result = await run(inline, globex, DAY);
    expect(result.dataset).toBe(joinUri(t.root, 'batch/globex-dmp/dt=2026-11-23'));
    expect(result.files.map((f) => f.path)).toEqual(['globex-dmp_2026-11-23.tsv.gz', 'globex-dmp_2026-11-23.tsv.gz.manifest.json']);
    const { text, manifest } = await expectConsistentDataset(result);
    await expectGolden('cookie-gzip.tsv', text);
    expect(manifest).toMatchObject({
      format: 'courier-batch-manifest/1',
      partner: { id: 42, name: 'globex-dmp' },
      schedule: 'daily',
      period: DAY,
      rows: 3,
      headerLines: 2,
      compression: 'gzip',
      groupBy: 'cookie',
      inputs: ['requests/dt=2026-11-23'],
      createdBy: { job: 'batch-formatter', runId: result.job.runId, runner: 'inline' },
    });
    expect(result.counters['batch']).toMatchObject({ requests: 3, badRequests: 0, cookies: 3, superseded: 0, rows: 3 });
    expect(result.quarantine).toBeUndefined();
    // The job's intermediate rows are gone once the file is complete.
    expect(await fsp.readdir(localPath(t.root) + '/_work/batch-formatter').catch(() => [])).toEqual([]);
  });

  it('groupBy segment: one row per segment, members sorted and unique, latest expiry; plain text', async () => {
    await writeRequests(t, DAY, day);
    const result = await run(inline, initech, DAY);
    expect(result.files[0].path).toBe('initech_2026-11-23.tsv');
    const { text, manifest } = await expectConsistentDataset(result);
    await expectGolden('segment-plain.tsv', text);
    expect(manifest).toMatchObject({ rows: 3, compression: 'none', groupBy: 'segment' });
    expect(result.counters['batch']).toMatchObject({ rows: 3, members: 5 });
  });

  it('groupBy segment with the member list first: an empty head survives the Parquet round trip', async () => {
    await writeRequests(t, DAY, day);
    const partner = { ...initech, template: { groupBy: 'segment' as const, fields: ['cookie_id' as const, 'segment' as const], compression: 'none' as const, fileNamePattern: 'x.tsv' } };
    const { text } = await expectConsistentDataset(await run(inline, partner, DAY));
    expect(text).toBe('a5nBn1EuF_FXMziRFyoWJO,rzhqEqt2G_Luy5kC9riKeg\tS1\nZamKF6ajyszpXpA09A7XAA,rzhqEqt2G_Luy5kC9riKeg\tS2\na5nBn1EuF_FXMziRFyoWJO\tS3,x\n');
  });

  it('custom delimiter, segment delimiter and file name pattern', async () => {
    await writeRequests(t, DAY, day);
    const result = await run(inline, hooli, DAY);
    expect(result.files[0].path).toBe('audience-44-2026-11-23.psv.gz');
    const { text } = await expectConsistentDataset(result);
    await expectGolden('custom-delimiter.psv', text);
  });

  it('monthly: every day of the month as one input, a cookie seen on several days keeps its latest request', async () => {
    const month = '2026-02';
    const { inputs, output } = batchFormatterDatasets({ name: 'umbrella', schedule: 'monthly' }, month);
    expect(inputs).toHaveLength(28);
    expect([inputs[0], inputs[27], output]).toEqual(['requests/dt=2026-02-01', 'requests/dt=2026-02-28', 'batch/umbrella/month=2026-02']);
    const byDay: Record<string, RequestSpec[]> = {
      '2026-02-03': [{ cookie: 'rzhqEqt2G_Luy5kC9riKeg', puid: 'old-puid', segments: ['A'], partner: 45, requestId: 'r-03' }],
      '2026-02-20': [{ cookie: 'rzhqEqt2G_Luy5kC9riKeg', puid: 'new-puid', segments: ['A', 'B'], partner: 45, requestId: 'r-20' }],
      '2026-02-10': [{ cookie: 'ZamKF6ajyszpXpA09A7XAA', puid: 'only-once', segments: ['B'], partner: 45, requestId: 'r-10' }],
      // Same sync time on two days: the larger request id wins, on every runner.
      '2026-02-05': [{ cookie: 'a5nBn1EuF_FXMziRFyoWJO', puid: 'tie-a', segments: ['A'], partner: 45, requestId: 'r-aaa', syncedAt: '2026-02-05T10:00:00Z' }],
      '2026-02-06': [{ cookie: 'a5nBn1EuF_FXMziRFyoWJO', puid: 'tie-b', segments: ['C'], partner: 45, requestId: 'r-bbb', syncedAt: '2026-02-05T10:00:00Z' }],
    };
    for (const input of inputs) {
      const date = input.slice('requests/dt='.length);
      await writeRequests(t, date, byDay[date] ?? []);
    }
    const result = await run(inline, umbrella, month);
    expect(result.dataset).toBe(joinUri(t.root, 'batch/umbrella/month=2026-02'));
    expect(result.files[0].path).toBe('umbrella_2026-02.tsv.gz');
    const { text, manifest } = await expectConsistentDataset(result);
    await expectGolden('monthly-cookie.tsv', text);
    expect(manifest).toMatchObject({ schedule: 'monthly', period: month, rows: 3 });
    expect(manifest.inputs).toEqual(inputs);
    expect(result.counters['batch']).toMatchObject({ requests: 5, cookies: 3, superseded: 2 });
  });

  it('an empty day is a valid file with the header and ${ROWS}=0', async () => {
    await writeRequests(t, DAY, day.filter((r) => r.partner === 17));
    const result = await run(inline, globex, DAY);
    const { text, manifest } = await expectConsistentDataset(result);
    await expectGolden('empty-day.tsv', text);
    expect(manifest.rows).toBe(0);
    expect(result.files[0].rows).toBe(0);
  });

  it('inline, local and streaming runners write byte-identical files', async () => {
    await writeRequests(t, DAY, day);
    const local = localRunner({ workers: 2, batchRows: 2 });
    const streaming = streamingRunner({ workers: 2, batchRows: 2 });
    const latestFiles: number[] = [];
    for (const partner of [globex, initech, hooli]) {
      const a = await run(inline, partner, DAY);
      const inlineBytes = await fsp.readFile(localPath(a.files[0].uri));
      const b = await run(local, partner, DAY, { overwrite: true });
      latestFiles.push(b.job.steps[0]!.marker.files.length);
      const localBytes = await fsp.readFile(localPath(b.files[0].uri));
      expect(localBytes.equals(inlineBytes), `${partner.name}: local file differs from inline`).toBe(true);
      expect(b.files[0].sha256).toBe(a.files[0].sha256);
      await expectConsistentDataset(b);
      const c = await run(streaming, partner, DAY, { overwrite: true });
      const streamingBytes = await fsp.readFile(localPath(c.files[0].uri));
      expect(streamingBytes.equals(inlineBytes), `${partner.name}: streaming file differs from inline`).toBe(true);
      await expectConsistentDataset(c);
    }
    // Step latest ran on two reducers, so the one-reducer format step really merged several runs into file order.
    expect(Math.max(...latestFiles)).toBe(2);
  });

  it('requests whose values would break a row are counted and quarantined, never written', async () => {
    const bad: RequestSpec[] = [
      { cookie: 'b1aaaaaaaaaaaaaaaaaaaa', puid: 'tab\there', segments: ['GX-AUTO'] },
      { cookie: 'b2aaaaaaaaaaaaaaaaaaaa', puid: 'fine', segments: ['GX,AUTO'] },
      { cookie: 'b3aaaaaaaaaaaaaaaaaaaa', puid: 'line\nbreak', segments: ['GX-AUTO'] },
    ];
    await writeRequests(t, DAY, [...day, ...bad]);
    const result = await run(inline, globex, DAY, { maxBadRecordRate: 0.5 });
    const { text } = await expectConsistentDataset(result);
    await expectGolden('cookie-gzip.tsv', text);
    expect(result.counters['batch']).toMatchObject({ requests: 6, badRequests: 3, rows: 3 });
    const quarantined: Row[] = [];
    for await (const batch of readDataset(result.quarantine!)) quarantined.push(...batchToRows(QUARANTINE_SCHEMA, batch));
    const errors = quarantined.map((r) => String(r['error'])).sort();
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/b1a+\): partner_user_id "tab\\there" contains the delimiter "\\t"/);
    expect(errors[1]).toMatch(/b2a+\): segments: value 0 "GX,AUTO" contains the list delimiter ","/);
    expect(errors[2]).toMatch(/b3a+\): partner_user_id "line\\nbreak" contains a line break/);
    expect(quarantined.every((r) => String(r['file']).includes('requests/dt=2026-11-23/partner=42/'))).toBe(true);
  });

  it('nothing is marked complete when the job fails', async () => {
    await writeRequests(t, DAY, [...day, { cookie: 'b1aaaaaaaaaaaaaaaaaaaa', puid: 'a,b', segments: ['S1'], partner: 43 }]);
    const error = await run(inline, initech, DAY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRecordRateError);
    expect((error as Error).message).toMatch(/contains the segment delimiter ","/);
    const uri = joinUri(t.root, 'batch/initech/dt=2026-11-23');
    expect(await isComplete(fileSystemFor(uri), uri)).toBe(false);
    expect(await fsp.readdir(localPath(joinUri(t.root, 'batch/initech'))).catch(() => [])).toEqual([]);
  });

  it('refuses to replace a complete period unless overwrite, and checks its parameters first', async () => {
    await writeRequests(t, DAY, day);
    const first = await run(inline, globex, DAY);
    await expect(run(inline, globex, DAY)).rejects.toThrow(/batch\/globex-dmp\/dt=2026-11-23 is already complete .*overwrite/);
    const again = await run(inline, globex, DAY, { overwrite: true });
    expect(again.files[0].sha256).toBe(first.files[0].sha256);
    await expect(run(inline, umbrella, DAY)).rejects.toThrow(/period: a monthly partner's period is a month YYYY-MM, got "2026-11-23"/);
    await expect(run(inline, { ...globex, template: { ...globex.template, fields: ['segment', 'cookie_id'] } }, DAY)).rejects.toThrow(
      /fields\[0\].*"segment" is a column of groupBy: segment rows/s,
    );
  });
});
