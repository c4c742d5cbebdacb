/**
 * The property-based part of the bad-input corpora (issue 16): arbitrary strings, bytes and mutated valid lines
 * into the log line parser, the line reader and the refresher (inline runner). The parser always answers a sync,
 * another request or a known reason, with a sync's fields in range; the reader hands out every line, bounded in
 * length; the refresher accounts for every line (synced, other or rejected into the quarantine with file and line)
 * and keeps every good sync around the junk.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineRunner } from '../../engine/index.ts';
import { runRefresher } from '../../jobs/refresher/index.ts';
import { segmentDataSchema } from '../../jobs/synthetic/index.ts';
import { DatasetStaging, fileSystemFor, joinUri, readLineFile, toStorageUri, type DatasetFile } from '../../storage/index.ts';
import { isWellFormedCookieId, MALFORMED_REASONS, MAX_PARTNER_USER_ID_LENGTH, parseWebappLogLine } from '../../udfs/index.ts';
import { CORPORA_DIR, CORPUS_DATE, corpusCookie, goodSyncLine } from '../fixtures/corpora/corpus-cases.ts';
import { readRows } from '../jobs/refresher/refresher-fixtures.ts';

const REASONS = new Set<string>(MALFORMED_REASONS);

/** Fails unless `line` parses to a well-formed answer. */
function expectSaneParse(line: string): void {
  const r = parseWebappLogLine(line);
  if (r.kind === 'malformed') expect(REASONS.has(r.reason), r.reason).toBe(true);
  else if (r.kind === 'sync') {
    expect(Number.isSafeInteger(r.ts)).toBe(true);
    expect(isWellFormedCookieId(r.cookieId)).toBe(true);
    expect(Number.isInteger(r.partnerId) && r.partnerId >= 1 && r.partnerId <= 2147483647).toBe(true);
    expect(r.partnerUserId.length).toBeGreaterThan(0);
    expect(r.partnerUserId.length).toBeLessThanOrEqual(MAX_PARTNER_USER_ID_LENGTH);
    expect(/[\u0000-\u001f\u007f\ufffd ]/.test(r.partnerUserId)).toBe(false);
    expect(r.host.length).toBeGreaterThan(0);
  } else expect(r).toEqual({ kind: 'other' });
}

/** Characters that break lines in interesting ways. */
const NASTY = ['\t', '\r', '\u0000', '\u001b', '\u007f', '\ufffd', '%', '%2', '%0A', '%09', '%C2%85', '&', '=', '?', ' ', '+', '-', 'é', '\u{1f600}', '\ud800', '/sync', 'partner=', 'puid='];

const GOOD = goodSyncLine(3, corpusCookie('prop'), 17, 'PUID-42');

/** A valid line with 1-5 random edits: cuts, insertions of nasty pieces, duplicated or swapped fields. */
const mutatedLine: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.record({ op: fc.constant('cut' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 4, unit: 'binary' })) }),
      fc.record({ op: fc.constant('swap' as const), i: fc.nat(7), j: fc.nat(7) }),
      fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((edits) => {
    let s = GOOD;
    for (const e of edits) {
      if (e.op === 'swap') {
        const f = s.split('\t');
        if (e.i < f.length && e.j < f.length) [f[e.i], f[e.j]] = [f[e.j]!, f[e.i]!];
        s = f.join('\t');
        continue;
      }
      const at = e.at % (s.length + 1);
      if (e.op === 'cut') s = s.slice(0, at) + s.slice(at + e.n);
      else if (e.op === 'insert') s = s.slice(0, at) + e.s + s.slice(at);
      else s = s.slice(0, at);
    }
    return s;
  });

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-bad-input-prop-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('fast-check: the webapp log line parser', () => {
  it('any string: a sync with its fields in range, another request, or a known reason; never a throw', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 200 })), expectSaneParse), { numRuns: 3000 });
  });

  it('mutated valid lines', () => {
    fc.assert(fc.property(mutatedLine, expectSaneParse), { numRuns: 20_000 });
  });

  it('bytes decoded as the reader decodes them (invalid UTF-8 becomes U+FFFD: garbage, never a sync)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const line = Buffer.from(bytes).toString('utf8').split('\n')[0]!;
        expectSaneParse(line);
        if (line.includes('\ufffd')) expect(parseWebappLogLine(line)).toMatchObject({ kind: 'malformed' });
      }),
      { numRuns: 3000 },
    );
  });
});

describe('fast-check: the line reader over arbitrary gzipped bytes', () => {
  it('hands out every line, cut at maxLineChars, CR stripped, in order', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(Buffer.from('\n'), Buffer.from('\r\n'), Buffer.alloc(3000, 0x41))), { maxLength: 30 }),
        fc.integer({ min: 1, max: 4000 }),
        async (parts, maxLineChars) => {
          const bytes = Buffer.concat(parts);
          const file = path.join(dir, `r${n++}.log.gz`);
          const gz = gzipSync(bytes);
          await fs.writeFile(file, gz);
          const listed: DatasetFile = { uri: toStorageUri(file), path: 'x', rows: 0, bytes: gz.length, sha256: '', partition: {} };
          const got: string[] = [];
          for await (const b of readLineFile(listed, { batchRows: 7, maxLineChars })) got.push(...b.lines);
          const pieces = bytes.toString('utf8').split('\n');
          if (pieces.at(-1) === '') pieces.pop();
          const want = pieces.map((p) => {
            const cut = p.length > maxLineChars ? p.slice(0, maxLineChars) : p;
            return cut.endsWith('\r') ? cut.slice(0, -1) : cut;
          });
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);
});

describe('fast-check: the refresher over days of good lines mixed with junk (inline runner)', () => {
  it('accounts for every line, quarantines every rejection with file and line, and keeps every good sync', async () => {
    const junk = fc.oneof(mutatedLine, fc.string({ unit: 'binary', maxLength: 120 }), fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('latin1')));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), junk), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3 }), async (slots, files) => {
        // Good lines: distinct cookies nothing else uses, each its own puid.
        const good = new Map<string, string>();
        const lines: Buffer[] = slots.map(([isGood, j], i) => {
          if (isGood) {
            const cookie = corpusCookie(`prop-good-${i}`);
            good.set(cookie, `G${i}`);
            return Buffer.from(goodSyncLine(i % 60, cookie, 17, `G${i}`), 'utf8');
          }
          // Junk never holds a newline (the count below is per line); bytes are written as they are.
          return Buffer.from(j.replaceAll('\n', ' '), typeof j === 'string' && /[\u0100-\uffff]/.test(j) ? 'utf8' : 'latin1');
        });
        const root = toStorageUri(path.join(dir, `day-${run++}`));
        const uri = joinUri(root, 'logs', `dt=${CORPUS_DATE}`);
        const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
        const perFile = Math.ceil(lines.length / files);
        for (let f = 0; f * perFile < lines.length; f++) {
          const chunk = lines.slice(f * perFile, (f + 1) * perFile);
          await staging.addFile(`hour=0${f}/webapp-web-01.log.gz`, gzipSync(Buffer.concat(chunk.flatMap((l) => [l, Buffer.from('\n')]))), chunk.length);
        }
        await staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
        const segments = joinUri(root, 'segments', `dt=${CORPUS_DATE}`);
        const seg = await DatasetStaging.begin(fileSystemFor(segments), segments);
        await seg.addFile('part-00000.parquet', await fs.readFile(path.join(CORPORA_DIR, 'parquet', 'control-good.parquet')), 2);
        await seg.commit({ kind: 'parquet', schema: [...segmentDataSchema.fields] });

        const { summary } = await runRefresher(inlineRunner(), { storageRoot: root, date: CORPUS_DATE, partners: [{ id: 17, segmentMap: { '1001': 'a' }, expiryDays: 30 }] });
        const c = summary.counters['merge-store']!;
        const rejected = Object.values(c['rejected'] ?? {}).reduce((a, b) => a + b, 0);
        const extracted = (c['extract']?.['sync-lines'] ?? 0) + (c['extract']?.['other-lines'] ?? 0);
        expect(extracted + rejected).toBe(lines.length);
        expect(c['extract']?.['sync-lines'] ?? 0).toBeGreaterThanOrEqual(good.size);
        const quarantined = summary.quarantines.length ? await readRows(summary.quarantines[0]!) : [];
        expect(quarantined).toHaveLength(rejected);
        for (const q of quarantined) {
          expect(String(q.file)).toMatch(/logs\/dt=2026-11-23\/hour=0\d\/webapp-web-01\.log\.gz$/);
          expect(Number(q.row)).toBeGreaterThanOrEqual(0);
          expect(Number(q.row)).toBeLessThan(perFile);
        }
        const store = new Map((await readRows(joinUri(root, 'cookie-sync-store', `dt=${CORPUS_DATE}`))).map((r) => [`${String(r.cookie_id)}/${String(r.partner_id)}`, r.partner_user_id]));
        for (const [cookie, puid] of good) expect(store.get(`${cookie}/17`)).toBe(puid);
      }),
      { numRuns: 30 },
    );
  }, 240_000);
});
