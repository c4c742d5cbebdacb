import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSyntheticData,
  GenerateOptionError,
  OutputExistsError,
  segmentDataSchema,
  type GenerateOptions,
  type GenerateSummary,
} from '../../../jobs/synthetic/index.ts';
import { batchToRows, fileSystemFor, joinUri, localPath, readDataset, readMarker, toStorageUri, type Row } from '../../../storage/index.ts';
import { parseWebappLogLine, type WebappSyncRecord } from '../../../udfs/index.ts';

const LINES = 60_000;
const SEGMENTS = 3_000;
const DATES = ['2026-11-22', '2026-11-23'];

let dir: string;
let outA: string;
let summary: GenerateSummary;
const options = (out: string, more: Partial<GenerateOptions> = {}): GenerateOptions => ({
  out,
  logs: LINES,
  segments: SEGMENTS,
  partners: 3,
  configuredPartnerIds: [17, 42],
  configuredSegmentIds: [1001, 1002, 1003, 1004],
  days: 2,
  date: '2026-11-23',
  seed: 42,
  ...more,
});

interface DayLines {
  files: { path: string; rows: number; sha256: string; lines: string[] }[];
}

/** Reads every log file of a day through its marker, checking the marker's rows against the file. */
async function readDay(out: string, date: string): Promise<DayLines> {
  const uri = joinUri(out, 'logs', `dt=${date}`);
  const marker = await readMarker(fileSystemFor(uri), uri);
  expect(marker.kind).toBe('files');
  const files = [];
  for (const f of marker.files) {
    const bytes = await fs.readFile(localPath(joinUri(uri, f.path)));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    const text = gunzipSync(bytes).toString('utf8');
    const lines = text.length ? text.slice(0, -1).split('\n') : [];
    if (text.length) expect(text.endsWith('\n')).toBe(true);
    files.push({ path: f.path, rows: f.rows, sha256: f.sha256, lines });
  }
  return { files };
}

async function segmentRows(out: string, date = '2026-11-23'): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const b of readDataset(joinUri(out, 'segments', `dt=${date}`))) rows.push(...batchToRows(segmentDataSchema, b));
  return rows;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-generate-'));
  outA = toStorageUri(path.join(dir, 'a'));
  summary = await generateSyntheticData(options(outA));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('generateSyntheticData', () => {
  it('writes 24 hourly partitions x 4 hosts per day, each day marked with its files and line counts', async () => {
    let total = 0;
    for (const date of DATES) {
      const day = await readDay(outA, date);
      expect(day.files).toHaveLength(96);
      expect(new Set(day.files.map((f) => f.path.split('/')[0]))).toEqual(new Set(Array.from({ length: 24 }, (_, h) => `hour=${String(h).padStart(2, '0')}`)));
      expect(day.files.map((f) => f.path)).toContain('hour=07/webapp-web-03.log.gz');
      for (const f of day.files) {
        expect(f.lines).toHaveLength(f.rows);
        total += f.rows;
      }
    }
    expect(total).toBe(LINES);
    expect(summary).toMatchObject({ lines: LINES, logFiles: 192, segmentRows: SEGMENTS, segmentFiles: 2, files: 194, partnerIds: [17, 42, 43], dates: DATES });
  });

  it('writes lines the parser reads back with exactly the counted syncs, others and malformed lines', async () => {
    const tally = { sync: 0, other: 0, malformed: 0 };
    for (const date of DATES) for (const f of (await readDay(outA, date)).files) for (const l of f.lines) tally[parseWebappLogLine(l).kind]++;
    expect(tally).toEqual({ sync: summary.syncLines, other: summary.otherLines, malformed: summary.malformedLines });
    expect(summary.syncLines / LINES).toBeGreaterThan(0.12);
    expect(summary.syncLines / LINES).toBeLessThan(0.16);
    expect(summary.malformedLines / LINES).toBeGreaterThan(0.0035);
    expect(summary.malformedLines / LINES).toBeLessThan(0.0065);
    for (const n of Object.values(summary.malformedByKind)) expect(n).toBeGreaterThan(10);
  });

  it('keeps timestamps in their hour and ascending, with a diurnal curve', async () => {
    const day = await readDay(outA, '2026-11-23');
    const perHour = new Array(24).fill(0);
    for (const f of day.files) {
      const hour = Number(f.path.slice(5, 7));
      const start = Date.UTC(2026, 10, 23, hour);
      let last = start;
      for (const l of f.lines) {
        const r = parseWebappLogLine(l);
        if (r.kind !== 'sync') continue;
        expect(r.ts).toBeGreaterThanOrEqual(last);
        expect(r.ts).toBeLessThan(start + 3_600_000);
        expect(r.host).toBe(f.path.slice(f.path.indexOf('webapp-') + 7, -7));
        last = r.ts;
      }
      perHour[hour] += f.rows;
    }
    expect(perHour[20]).toBeGreaterThan(perHour[4] * 4);
  });

  it('re-uses cookies: several partners per cookie, and the same pairs again on the next day', async () => {
    const syncs: WebappSyncRecord[][] = [];
    for (const date of DATES) {
      const list: WebappSyncRecord[] = [];
      for (const f of (await readDay(outA, date)).files) for (const l of f.lines) {
        const r = parseWebappLogLine(l);
        if (r.kind === 'sync') list.push(r);
      }
      syncs.push(list);
    }
    const all = syncs.flat();
    expect(new Set(all.map((s) => s.partnerId))).toEqual(new Set([17, 42, 43]));
    const partnersOf = new Map<string, Set<number>>();
    for (const s of all) (partnersOf.get(s.cookieId) ?? partnersOf.set(s.cookieId, new Set()).get(s.cookieId)!).add(s.partnerId);
    const multi = [...partnersOf.values()].filter((p) => p.size >= 2).length;
    expect(multi / partnersOf.size).toBeGreaterThan(0.3);
    const pair = (s: WebappSyncRecord): string => `${s.cookieId} ${s.partnerId}`;
    const day1 = new Map(syncs[0]!.map((s) => [pair(s), s.partnerUserId]));
    const again = syncs[1]!.filter((s) => day1.has(pair(s)));
    expect(again.length).toBeGreaterThan(syncs[1]!.length * 0.2); // refreshes
    expect(again.length).toBeLessThan(syncs[1]!.length); // and new syncs
    const samePuid = again.filter((s) => day1.get(pair(s)) === s.partnerUserId).length;
    expect(samePuid / again.length).toBeGreaterThan(0.9);
    // Partner-specific id styles: 17 → 16 hex digits, 42 → 19 digits.
    expect(all.find((s) => s.partnerId === 17)!.partnerUserId).toMatch(/^[0-9A-F]{16}$/);
    expect(all.find((s) => s.partnerId === 42)!.partnerUserId).toMatch(/^[1-9]\d{18}$/);
    for (const s of all.slice(0, 100)) expect(s.cookieId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('writes segment data with PII on ~30% of rows, configured segment ids, and cookies from the logs', async () => {
    const rows = await segmentRows(outA);
    expect(rows).toHaveLength(SEGMENTS);
    const marker = await readMarker(fileSystemFor(outA), joinUri(outA, 'segments', 'dt=2026-11-23'));
    expect(marker.schema?.map((f) => f.name)).toEqual(['cookie_id', 'segment_ids', 'updated_at', 'email', 'postal_address']);
    const pii = rows.filter((r) => r.email !== null || r.postal_address !== null);
    expect(pii.length).toBe(summary.piiRows);
    expect(pii.length / SEGMENTS).toBeGreaterThan(0.25);
    expect(pii.length / SEGMENTS).toBeLessThan(0.35);
    expect(rows.find((r) => r.email !== null)!.email).toMatch(/^[a-z]+[._][a-z]+\d*@[a-z.]*example(\.[a-z]+)?$/);
    expect(new Set(rows.map((r) => r.cookie_id)).size).toBe(SEGMENTS);
    const segs = new Set(rows.flatMap((r) => [...(r.segment_ids as Int32Array)]));
    for (const id of [1001, 1002, 1003, 1004]) expect(segs.has(id)).toBe(true);
    // Within the 30 days ending with the first day, or on a later day when the row changed or first appeared.
    const end = Date.UTC(2026, 10, 24);
    for (const r of rows) {
      expect(r.updated_at as number).toBeLessThan(end);
      expect(r.updated_at as number).toBeGreaterThanOrEqual(end - 31 * 86_400_000);
    }
    const logCookies = new Set<string>();
    for (const date of DATES) for (const f of (await readDay(outA, date)).files) for (const l of f.lines) {
      const r = parseWebappLogLine(l);
      if (r.kind === 'sync') logCookies.add(r.cookieId);
    }
    const overlap = rows.filter((r) => logCookies.has(r.cookie_id as string)).length;
    expect(overlap / SEGMENTS).toBeGreaterThan(0.6);
  });

  it('writes a snapshot for every day with a small churn: some cookies gain or lose segments, some are new', async () => {
    const [day1, day2] = [await segmentRows(outA, DATES[0]), await segmentRows(outA, DATES[1])];
    expect(summary.segmentRowsByDate).toEqual({ [DATES[0]!]: day1.length, [DATES[1]!]: day2.length });
    expect(day2).toHaveLength(SEGMENTS);
    const before = new Map(day1.map((r) => [r.cookie_id as string, r]));
    const fresh = day2.filter((r) => !before.has(r.cookie_id as string));
    // ~2% new cookies a day; every day-1 cookie is still there.
    expect(fresh.length).toBe(SEGMENTS - day1.length);
    expect(fresh.length / SEGMENTS).toBeGreaterThan(0.01);
    expect(fresh.length / SEGMENTS).toBeLessThan(0.03);
    for (const r of fresh) expect(r.updated_at as number).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 23));
    let gained = 0;
    let lost = 0;
    for (const r of day2) {
      const old = before.get(r.cookie_id as string);
      if (!old) continue;
      const [a, b] = [[...(old.segment_ids as Int32Array)], [...(r.segment_ids as Int32Array)]];
      if (b.some((x) => !a.includes(x))) gained++;
      if (a.some((x) => !b.includes(x))) lost++;
      if (a.join() !== b.join() || old.updated_at !== r.updated_at) expect(r.updated_at as number).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 23));
      // A cookie keeps its PII from day to day.
      expect([r.email, r.postal_address]).toEqual([old.email, old.postal_address]);
    }
    expect(gained).toBeGreaterThan(0);
    expect(lost).toBeGreaterThan(0);
    expect((gained + lost) / day1.length).toBeLessThan(0.05);
  });

  it('is reproducible: same options, byte-identical log files and identical segment rows; another seed differs', async () => {
    const outB = toStorageUri(path.join(dir, 'b'));
    const again = await generateSyntheticData(options(outB));
    expect({ ...again, out: '', datasets: [], seconds: 0, linesPerSecond: 0 }).toEqual({ ...summary, out: '', datasets: [], seconds: 0, linesPerSecond: 0 });
    for (const date of DATES) {
      const [a, b] = [await readDay(outA, date), await readDay(outB, date)];
      expect(b.files.map((f) => [f.path, f.sha256])).toEqual(a.files.map((f) => [f.path, f.sha256]));
    }
    for (const date of DATES) expect(await segmentRows(outB, date)).toEqual(await segmentRows(outA, date));

    const outC = toStorageUri(path.join(dir, 'c'));
    await generateSyntheticData(options(outC, { seed: 43, days: 1, logs: 5_000, segments: 100 }));
    const c = await readDay(outC, '2026-11-23');
    const a = await readDay(outA, '2026-11-23');
    expect(c.files[0]!.sha256).not.toBe(a.files[0]!.sha256);
  });

  it('refuses complete outputs without force, naming them; replaces them with force', async () => {
    const err = await generateSyntheticData(options(outA)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputExistsError);
    expect((err as OutputExistsError).datasets).toEqual([...DATES.map((d) => `${outA}/logs/dt=${d}`), ...DATES.map((d) => `${outA}/segments/dt=${d}`)]);
    expect((err as Error).message).toMatch(/already complete.*--force/);

    const before = await readDay(outA, '2026-11-23');
    const forced = await generateSyntheticData(options(outA, { force: true }));
    expect(forced.lines).toBe(LINES);
    const after = await readDay(outA, '2026-11-23');
    expect(after.files.map((f) => f.sha256)).toEqual(before.files.map((f) => f.sha256));
    expect((await fs.readdir(path.join(dir, 'a', 'logs'))).sort()).toEqual(DATES.map((d) => `dt=${d}`));
  });

  it('rejects bad options naming the option, and an unwritable --out', async () => {
    const cases: [Partial<GenerateOptions>, string][] = [
      [{ logs: -1 }, 'logs'],
      [{ logs: 1.5 }, 'logs'],
      [{ segments: Number.NaN }, 'segments'],
      [{ days: 0 }, 'days'],
      [{ partners: 0 }, 'partners'],
      [{ date: '2026-02-30' }, 'date'],
      [{ date: '23.11.2026' }, 'date'],
      [{ seed: -3 }, 'seed'],
    ];
    for (const [bad, option] of cases) {
      const err = await generateSyntheticData(options(outA, bad)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GenerateOptionError);
      expect((err as GenerateOptionError).option).toBe(option);
      expect((err as Error).message).toMatch(new RegExp(`^--${option}: `));
    }
    const file = path.join(dir, 'a-file');
    await fs.writeFile(file, 'not a directory');
    const err = await generateSyntheticData(options(toStorageUri(path.join(file, 'out')))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GenerateOptionError);
    expect((err as GenerateOptionError).option).toBe('out');
    expect((err as Error).message).toMatch(/--out: cannot write there: .*ENOTDIR/);
  });

  it('generates zero lines and zero rows as empty but complete datasets', async () => {
    const out = toStorageUri(path.join(dir, 'empty'));
    const s = await generateSyntheticData(options(out, { logs: 0, segments: 0, days: 1 }));
    expect(s).toMatchObject({ lines: 0, segmentRows: 0, logFiles: 96, segmentFiles: 0 });
    expect((await readDay(out, '2026-11-23')).files.every((f) => f.lines.length === 0)).toBe(true);
    expect(await segmentRows(out)).toEqual([]);
  });
});
