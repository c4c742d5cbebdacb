/**
 * The bad-input corpora (test/fixtures/corpora, cases in corpus-cases.ts) through the refresher's inputs: each
 * log line ends in a counted rejection sampled to the quarantine with its file and line, each damaged gzip
 * stream and each bad segment file in a located error (file, line or row, column, what to do), never a crash
 * or a hang; and around the bad lines the job goes on with the good ones, counted exactly.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineRunner, JobError, localRunner, streamingRunner } from '../../engine/index.ts';
import { refresherDatasets, runRefresher, type RefresherSummary } from '../../jobs/refresher/index.ts';
import { SYNC_TIME_SLACK_MS } from '../../jobs/refresher/refresher-job.ts';
import { segmentDataSchema } from '../../jobs/synthetic/index.ts';
import { DatasetStaging, fileSystemFor, joinUri, readLineFile, StorageError, toStorageUri, type DatasetFile } from '../../storage/index.ts';
import { normaliseCookieId, normalisePartnerUserId, parseWebappLogLine } from '../../udfs/index.ts';
import {
  CORPORA_DIR,
  CORPUS_DATE,
  GZIP_CASES,
  goodLines,
  LOG_LINE_CASES,
  PARQUET_CASES,
  SEGMENT_COOKIES,
  goodSyncLine,
  type LineOutcome,
} from '../fixtures/corpora/corpus-cases.ts';
import { storedLogLineBytes } from '../fixtures/corpora/make-corpora.ts';
import { readRows } from '../jobs/refresher/refresher-fixtures.ts';

/** Per case: a bound on the time it may take (a hang fails here, not at the suite timeout). */
const CASE_MS = 15_000;
const PARTNERS = [{ id: 17, segmentMap: { '1001': 'a1', '1002': 'a2', '1003': 'a3' }, expiryDays: 30 }];

/** What the refresher's merge-store mapper makes of one line (the same calls, in the same order). */
function outcomeOf(line: string): LineOutcome {
  const rec = parseWebappLogLine(line);
  if (rec.kind !== 'sync') return rec.kind === 'other' ? 'other' : rec.reason;
  const dayStart = Date.parse(`${CORPUS_DATE}T00:00:00Z`);
  if (rec.ts < dayStart - SYNC_TIME_SLACK_MS || rec.ts >= dayStart + 86_400_000 + SYNC_TIME_SLACK_MS) return 'timestamp-outside-day';
  if (!normaliseCookieId(rec.cookieId).ok) throw new Error(`unexpected cookie id rejection: ${rec.cookieId}`);
  const puid = normalisePartnerUserId(rec.partnerUserId);
  return puid.ok ? 'sync' : (`partner-user-id-${puid.reason}` as LineOutcome);
}

/** A committed corpus file as a listed dataset file (size and checksum of the bytes on disk). */
async function listed(rel: string): Promise<DatasetFile> {
  const file = path.join(CORPORA_DIR, rel);
  const bytes = await fs.readFile(file);
  return { uri: toStorageUri(file), path: rel, rows: 0, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), partition: {} };
}

async function readAllLines(file: DatasetFile): Promise<string[]> {
  const out: string[] = [];
  for await (const b of readLineFile(file)) out.push(...b.lines);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-corpora-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sync-log line corpus, line by line through the line reader and the parser', () => {
  for (const c of LOG_LINE_CASES) {
    it(
      `${c.kind}: ${c.file} (${c.what}) → ${c.outcomes.join(', ')}`,
      async () => {
        const rel = `sync-log/lines/${c.file}`;
        // The committed file is what the generator writes (the corpus is reproducible).
        expect(createHash('sha256').update(await fs.readFile(path.join(CORPORA_DIR, rel))).digest('hex')).toBe(
          createHash('sha256').update(storedLogLineBytes(c.bytes(), c.file)).digest('hex'),
        );
        const lines = await readAllLines(await listed(rel));
        expect(lines.map(outcomeOf)).toEqual(c.outcomes);
      },
      CASE_MS,
    );
  }
});

describe('gzip stream corpus through the line reader', () => {
  for (const c of GZIP_CASES) {
    const o = c.outcome;
    it(
      `${c.file} (${c.what}) → ${o.kind === 'lines' ? `${o.lines} lines` : `located error ${o.message}`}`,
      async () => {
        const rel = `sync-log/gzip/${c.file}`;
        expect(Buffer.compare(await fs.readFile(path.join(CORPORA_DIR, rel)), c.bytes())).toBe(0);
        const file = await listed(rel);
        const seen: string[] = [];
        const err = await (async () => {
          for await (const b of readLineFile(file, { batchRows: 16 })) seen.push(...b.lines);
        })().catch((e: unknown) => e);
        if (o.kind === 'lines') {
          expect(err).toBeUndefined();
          expect(seen).toHaveLength(o.lines);
          expect(seen.every((l) => outcomeOf(l) === 'sync')).toBe(true);
          return;
        }
        expect(err).toBeInstanceOf(StorageError);
        const e = err as StorageError;
        expect(e.uri).toBe(file.uri);
        expect(e.message).toContain(file.uri);
        expect(e.message).toMatch(o.message);
        expect(e.hint).toMatch(/re-copy the file/);
        // "at line N" names the first line not read; lines before it were handed out whole (a file that is not
        // gzip at all names no line).
        const at = /at line (\d+)/.exec(e.message);
        if (at) {
          if (o.linesBefore >= 0) expect(Number(at[1])).toBe(o.linesBefore);
          expect(seen.length).toBeLessThanOrEqual(Number(at[1]));
        } else {
          expect(o.linesBefore).toBe(0);
          expect(e.message).toMatch(/is not gzip data/);
        }
        if (!o.damagedLines) expect(seen.every((l) => outcomeOf(l) === 'sync')).toBe(true);
      },
      CASE_MS,
    );
  }
});

/**
 * Writes the corpus log day: good files around the line cases, one file per case under its own hour (or the
 * cases spread over `caseFiles` files: the streaming runner starts a process per file).
 */
async function writeCorpusLogDay(root: string, extra: Record<string, Buffer> = {}, caseFiles = LOG_LINE_CASES.length): Promise<Map<string, string>> {
  const uri = joinUri(root, 'logs', `dt=${CORPUS_DATE}`);
  const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
  const byCase = new Map<string, string>();
  const gzipOf = (raw: Buffer): Buffer => storedLogLineBytes(raw, 'x.gz');
  await staging.addFile('hour=00/webapp-good-01.log.gz', gzipOf(Buffer.from(`${goodLines(50, 'day-a').join('\n')}\n`)), 50);
  const files = new Map<string, { parts: Buffer[]; lines: number }>();
  for (const [i, c] of LOG_LINE_CASES.entries()) {
    const k = i % caseFiles;
    const name = `hour=${String(1 + (k % 22)).padStart(2, '0')}/webapp-case-${String(k).padStart(2, '0')}.log.gz`;
    // Each case is framed by a good line at both ends; a case that does not end its last line gets the newline
    // the line reader's end of file gave it, so the closing frame stays a line of its own.
    const frame = goodSyncLine(0, SEGMENT_COOKIES[0], 17, `case-${i}`);
    const bytes = c.bytes();
    const close = `${bytes.at(-1) === 0x0a ? '' : '\n'}${frame}\n`;
    const file = files.get(name) ?? { parts: [], lines: 0 };
    file.parts.push(Buffer.from(`${frame}\n`), bytes, Buffer.from(close));
    file.lines += c.outcomes.length + 2;
    files.set(name, file);
    byCase.set(c.file, name);
  }
  for (const [name, f] of files) await staging.addFile(name, gzipOf(Buffer.concat(f.parts)), f.lines);
  await staging.addFile('hour=23/webapp-good-02.log.gz', gzipOf(Buffer.from(`${goodLines(30, 'day-b').join('\n')}\n`)), 30);
  for (const [name, bytes] of Object.entries(extra)) await staging.addFile(name, bytes, 0);
  await staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
  return byCase;
}

async function writeSegmentFile(root: string, bytes: Buffer): Promise<void> {
  const uri = joinUri(root, 'segments', `dt=${CORPUS_DATE}`);
  const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
  await staging.addFile('part-00000.parquet', bytes, 2);
  await staging.commit({ kind: 'parquet', schema: [...segmentDataSchema.fields] });
}

async function expectNothingMarked(root: string): Promise<void> {
  for (const out of Object.values(refresherDatasets(CORPUS_DATE).outputs)) expect(await fileSystemFor(root).exists(joinUri(root, out, '_SUCCESS'))).toBe(false);
}

describe('the refresher over a day mixing the whole line corpus with good lines (inline runner)', () => {
  let summary: RefresherSummary;
  let byCase: Map<string, string>;
  let root: string;
  beforeAll(async () => {
    root = toStorageUri(path.join(dir, 'mixed'));
    byCase = await writeCorpusLogDay(root);
    await writeSegmentFile(root, await fs.readFile(path.join(CORPORA_DIR, 'parquet', 'control-good.parquet')));
    ({ summary } = await runRefresher(inlineRunner(), { storageRoot: root, date: CORPUS_DATE, partners: PARTNERS }));
  }, 120_000);

  const expected = new Map<LineOutcome, number>();
  for (const c of LOG_LINE_CASES) for (const o of c.outcomes) expected.set(o, (expected.get(o) ?? 0) + 1);
  const bad = [...expected].filter(([o]) => o !== 'sync' && o !== 'other');
  const corpusSyncs = expected.get('sync') ?? 0;
  const framing = 2 * LOG_LINE_CASES.length;

  it('counts every rejection by reason, exactly', () => {
    const c = summary.counters['merge-store']!;
    expect(c['rejected']).toEqual(Object.fromEntries(bad));
  });

  it('goes on with the good lines: every sync and page view around the bad ones is counted and merged', () => {
    const c = summary.counters['merge-store']!;
    expect(c['extract']).toEqual({ 'sync-lines': 50 + 30 + framing + corpusSyncs, 'other-lines': expected.get('other') ?? 0 });
    // 80 distinct good cookies, plus the framing cookie and the corpus lines' cookie, all at partner 17.
    expect(summary.storeRows).toBe(80 + 2);
    expect(summary.requestRows).toBe(1); // the only synced cookie with segments is the framing cookie
  });

  for (const [name, make] of [
    ['local runner (two worker threads)', () => localRunner({ workers: 2 })],
    ['streaming runner (stage bundle over the streaming protocol)', () => streamingRunner({ workers: 2 })],
  ] as const) {
    it(`the ${name} counts the same and writes the same store`, async () => {
      const other = toStorageUri(path.join(dir, `mixed-${name.split(' ')[0]}`));
      await writeCorpusLogDay(other, {}, 3);
      await writeSegmentFile(other, await fs.readFile(path.join(CORPORA_DIR, 'parquet', 'control-good.parquet')));
      const run = await runRefresher(make(), { storageRoot: other, date: CORPUS_DATE, partners: PARTNERS });
      expect(run.summary.counters).toEqual(summary.counters);
      const store = refresherDatasets(CORPUS_DATE).outputs.store;
      expect(await readRows(joinUri(other, store))).toEqual(await readRows(joinUri(root, store)));
    }, 120_000);
  }

  it('samples each rejected line to the quarantine with its file, line number and reason', async () => {
    expect(summary.quarantines).toHaveLength(1);
    const rows = await readRows(summary.quarantines[0]!);
    const seen = rows.map((r) => `${String(r.file).replace(/^.*\/logs\/dt=[^/]+\//, '')}:${String(r.row)} ${String(r.reason)}`).sort();
    const want: string[] = [];
    for (const c of LOG_LINE_CASES) {
      c.outcomes.forEach((o, i) => {
        if (o !== 'sync' && o !== 'other') want.push(`${byCase.get(c.file)}:${i + 1} ${o}`);
      });
    }
    expect(seen).toEqual(want.sort());
    expect(rows.every((r) => r.phase === 'rejected' && typeof r.record_json === 'string')).toBe(true);
  });
});

describe('a damaged gzip file in the day fails the refresher naming the file and line, with nothing marked', () => {
  for (const c of GZIP_CASES.filter((g) => g.outcome.kind === 'error')) {
    it(
      c.file,
      async () => {
        const root = toStorageUri(path.join(dir, `gzip-${c.file}`));
        const name = `hour=12/${c.file.replace('.log.gz', '')}.log.gz`;
        await writeCorpusLogDay(root, { [name]: c.bytes() }, 3);
        await writeSegmentFile(root, await fs.readFile(path.join(CORPORA_DIR, 'parquet', 'control-good.parquet')));
        const err = await runRefresher(inlineRunner(), { storageRoot: root, date: CORPUS_DATE, partners: PARTNERS }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(JobError);
        const message = (err as Error).message;
        expect(message).toMatch(/step "merge-store"/);
        expect(message).toContain(`logs/dt=${CORPUS_DATE}/${name}`);
        expect(message).toMatch(c.file === 'not-gzip.log.gz' ? /is not gzip data/ : /at line \d+/);
        expect(message).toMatch(/re-copy the file/);
        await expectNothingMarked(root);
      },
      CASE_MS * 2,
    );
  }
});

describe('segment data corpus (Parquet) through the refresher', () => {
  for (const c of PARQUET_CASES) {
    const o = c.outcome;
    it(
      `${c.kind}: ${c.file} (${c.what}) → ${o.kind === 'ok' ? `${o.requests} requests` : `located error ${o.message}`}`,
      async () => {
        const root = toStorageUri(path.join(dir, `parquet-${c.file}`));
        const uri = joinUri(root, 'logs', `dt=${CORPUS_DATE}`);
        const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
        const lines = SEGMENT_COOKIES.map((cookie, i) => goodSyncLine(10 + i, cookie, 17, `S${i}`));
        await staging.addFile('hour=08/webapp-web-01.log.gz', storedLogLineBytes(Buffer.from(`${lines.join('\n')}\n`), 'x.gz'), 2);
        await staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
        await writeSegmentFile(root, await fs.readFile(path.join(CORPORA_DIR, 'parquet', c.file)));
        const run = await runRefresher(inlineRunner(), { storageRoot: root, date: CORPUS_DATE, partners: PARTNERS }).catch((e: unknown) => e);
        if (o.kind === 'ok') {
          expect(run).not.toBeInstanceOf(Error);
          expect((run as { summary: RefresherSummary }).summary.requestRows).toBe(o.requests);
          return;
        }
        expect(run).toBeInstanceOf(JobError);
        const message = (run as Error).message;
        expect(message).toContain(`segments/dt=${CORPUS_DATE}/part-00000.parquet`);
        expect(message).toMatch(o.message);
        if (o.whileReading) {
          expect(message).toMatch(/step "requests"/);
          expect(await fileSystemFor(root).exists(joinUri(root, refresherDatasets(CORPUS_DATE).outputs.requests, '_SUCCESS'))).toBe(false);
        } else {
          await expectNothingMarked(root);
        }
      },
      CASE_MS,
    );
  }
});

describe('segment data whose _SUCCESS marker declares another schema', () => {
  it('fails before anything is written, naming the dataset, the column and what to do', async () => {
    const root = toStorageUri(path.join(dir, 'marker-schema'));
    const uri = joinUri(root, 'logs', `dt=${CORPUS_DATE}`);
    const logs = await DatasetStaging.begin(fileSystemFor(uri), uri);
    await logs.addFile('hour=08/webapp-web-01.log.gz', storedLogLineBytes(Buffer.from(`${goodSyncLine(1, SEGMENT_COOKIES[0])}\n`), 'x.gz'), 1);
    await logs.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
    const segments = joinUri(root, 'segments', `dt=${CORPUS_DATE}`);
    const staging = await DatasetStaging.begin(fileSystemFor(segments), segments);
    await staging.addFile('part-00000.parquet', await fs.readFile(path.join(CORPORA_DIR, 'parquet', 'control-good.parquet')), 2);
    await staging.commit({ kind: 'parquet', schema: segmentDataSchema.fields.map((f) => (f.name === 'segment_ids' ? { ...f, type: 'list<string>' as const } : f)) });
    const err = await runRefresher(inlineRunner(), { storageRoot: root, date: CORPUS_DATE, partners: PARTNERS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toMatch(/_SUCCESS marker of .*segments\/dt=2026-11-23 column "segment_ids" is list<string>, segment data has list<int32>.*re-deliver/);
    await expectNothingMarked(root);
  });
});

describe("a damaged previous cookie-sync store (the refresher's own output, read back the next day)", () => {
  const D1 = '2026-11-22';
  /** Day 1 run normally; returns its store file. */
  async function dayOne(root: string): Promise<string> {
    for (const date of [D1, CORPUS_DATE]) {
      const uri = joinUri(root, 'logs', `dt=${date}`);
      const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
      await staging.addFile('hour=08/webapp-web-01.log.gz', storedLogLineBytes(Buffer.from(`${goodLines(20, `store-${date}`).map((l) => l.replace(CORPUS_DATE, date)).join('\n')}\n`), 'x.gz'), 20);
      await staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
      const seg = joinUri(root, 'segments', `dt=${date}`);
      const s = await DatasetStaging.begin(fileSystemFor(seg), seg);
      await s.addFile('part-00000.parquet', await fs.readFile(path.join(CORPORA_DIR, 'parquet', 'control-good.parquet')), 2);
      await s.commit({ kind: 'parquet', schema: [...segmentDataSchema.fields] });
    }
    await runRefresher(inlineRunner(), { storageRoot: root, date: D1, partners: PARTNERS });
    const dir = path.join(new URL(joinUri(root, 'cookie-sync-store', `dt=${D1}`)).pathname);
    const [name] = (await fs.readdir(dir)).filter((n) => n.endsWith('.parquet'));
    return path.join(dir, name!);
  }

  it('cut short: day 2 fails naming the file, its size against the marker, and what to do; nothing marked', async () => {
    const root = toStorageUri(path.join(dir, 'store-cut'));
    const file = await dayOne(root);
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 100));
    const err = await runRefresher(inlineRunner(), { storageRoot: root, date: CORPUS_DATE, partners: PARTNERS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toMatch(/step "merge-store".*cookie-sync-store\/dt=2026-11-22\/.*\.parquet: has \d+ bytes, the marker says \d+.*re-run the stage that writes it/s);
    await expectNothingMarked(root);
  });

  it('overwritten with junk of its size: day 2 fails naming the file as not readable Parquet; nothing marked', async () => {
    const root = toStorageUri(path.join(dir, 'store-junk'));
    const file = await dayOne(root);
    await fs.writeFile(file, Buffer.alloc((await fs.stat(file)).size, 0x33));
    const err = await runRefresher(inlineRunner(), { storageRoot: root, date: CORPUS_DATE, partners: PARTNERS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect((err as Error).message).toMatch(/step "merge-store".*cookie-sync-store\/dt=2026-11-22\/.*\.parquet: is not a readable Parquet file/s);
    await expectNothingMarked(root);
  });
});
