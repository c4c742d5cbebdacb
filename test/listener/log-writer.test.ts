import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drainRing, LogRing, LogWriter, startListener, type LogRecord } from '../../listener/index.ts';
import { drainRingRaw } from '../../listener/log-ring.ts';
import { LogLines } from '../../listener/log-lines.ts';
import { buildFixtureSnapshot, listenerSettings, silentLogger, tempRoot } from './listener-fixtures.ts';
import { RawConnection } from './raw-http.ts';

const T1 = Date.parse('2026-11-23T23:59:59.500Z');
const T2 = Date.parse('2026-11-24T00:00:00.250Z');

/** The lines of a gzip file, decoding up to the last sync flush when the file is not closed yet. */
async function lines(file: string): Promise<string[]> {
  const text = gunzipSync(await readFile(file), { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
  return text === '' ? [] : text.trimEnd().split('\n');
}

let t: Awaited<ReturnType<typeof tempRoot>>;
beforeEach(async () => {
  t = await tempRoot();
});
afterEach(() => t.done());

describe('log ring', () => {
  it('hands records to the drain in order, cutting over-long ids and answers, and counts drops when full', () => {
    const ring = new LogRing(65536);
    const answer = Buffer.from(Array.from({ length: 400 }, (_, i) => `code-${i}\n`).join(''));
    expect(ring.append('hit', T1, 1500, 'nym', '1610818136837885133', Buffer.from('a\nb\n'))).toBe(true);
    expect(ring.append('miss', T1, 900, '', 'x'.repeat(400), undefined)).toBe(true);
    expect(ring.append('hit', T2, 0, 'ams', 'u', answer)).toBe(true);
    const got: LogRecord[] = [];
    expect(drainRing(ring.memory, (r) => got.push(r))).toBe(3);
    expect(got[0]).toEqual({ outcome: 'hit', timeMs: T1, handlerNs: 1500, region: 'nym', userId: '1610818136837885133', codes: ['a', 'b'] });
    expect(got[1]!.userId).toBe('x'.repeat(255));
    expect(got[2]!.codes.length).toBeLessThan(400);
    expect(got[2]!.codes.at(-1)).toMatch(/^code-\d+$/);
    // Fill it without draining: records beyond the capacity are dropped and counted, never blocking.
    let kept = 0;
    for (let i = 0; i < 5000; i++) if (ring.append('hit', T1, 0, 'nym', `user-${i}`, Buffer.from('a\n'))) kept++;
    expect(ring.dropped).toBe(5000 - kept);
    expect(kept).toBeGreaterThan(1000);
    // Wrapping around the end: everything kept comes out, in order.
    const ids: string[] = [];
    drainRing(ring.memory, (r) => ids.push(r.userId));
    expect(ids).toEqual(Array.from({ length: kept }, (_, i) => `user-${i}`));
    for (let i = 0; i < 3000; i++) ring.append('miss', T1, 0, '', `again-${i}`, undefined);
    const again: string[] = [];
    drainRing(ring.memory, (r) => again.push(r.userId));
    expect(again[0]).toBe('again-0');
  });
});

describe('log lines', () => {
  it('formats raw records byte by byte as the decoded records would read, control characters as ?', () => {
    const ring = new LogRing(65536);
    const records: [Parameters<LogRing['append']>[0], number, number, string, string, Buffer | undefined][] = [
      ['hit', T1, 1499, 'nym', '1610818136837885133', Buffer.from('4412001\n4412004\n')],
      ['miss', T1 + 1, 0, '', 'u\t\x7f\n2', undefined],
      ['hit', T1 + 499, 123_456_789, 'zürich', 'idé-€', Buffer.from('a\x01b\nc\n')],
      ['bad-request', T2, 500, '', '', undefined],
      ['not-ready', Date.parse('2027-01-05T03:04:05.007Z'), 2_000_000_000, 'ams', 'x'.repeat(300), undefined],
    ];
    for (const r of records) ring.append(...r);
    const clean = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, '?');
    const expected: string[] = [];
    drainRing(ring.memory, (r) =>
      expected.push(`${new Date(r.timeMs).toISOString()}\t${r.outcome}\t${clean(r.region)}\t${clean(r.userId)}\t${r.codes.map(clean).join(',')}\t${Math.round(r.handlerNs / 1000)}`),
    );
    for (const r of records) ring.append(...r);
    const out = new LogLines();
    const days: string[] = [];
    drainRingRaw(ring.memory, (r) => {
      days.push(out.dayOf(r.timeMs));
      out.add(r);
    });
    expect(out.take().toString('utf8').trimEnd().split('\n')).toEqual(expected);
    expect(expected[0]).toBe('2026-11-23T23:59:59.500Z\thit\tnym\t1610818136837885133\t4412001,4412004\t1');
    expect(expected[2]).toBe('2026-11-23T23:59:59.999Z\thit\tzürich\tidé-€\ta?b,c\t123457');
    expect(days).toEqual(['2026-11-23', '2026-11-23', '2026-11-23', '2026-11-24', '2027-01-05']);
  });
});

describe('log writer', () => {
  it('flushes to disk while running, rotates at the UTC day and closes complete gzip files on stop', async () => {
    const writer = await LogWriter.start({ dir: t.logDir, fileStem: 'listener-test', bufferBytes: 1 << 20, flushMs: 30 });
    writer.ring.append('hit', T1, 2000, 'nym', 'u1', Buffer.from('4412001\n'));
    const day1 = path.join(t.logDir, 'dt=2026-11-23', 'listener-test.tsv.gz');
    // A crash now would lose nothing already flushed: the open file decodes up to the last flush.
    const deadline = Date.now() + 5000;
    while ((await lines(day1).catch(() => [])).length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await lines(day1)).toEqual(['2026-11-23T23:59:59.500Z\thit\tnym\tu1\t4412001\t2']);
    writer.ring.append('miss', T2, 1000, '', 'u\t2', undefined);
    await writer.stop();
    expect(await lines(path.join(t.logDir, 'dt=2026-11-24', 'listener-test.tsv.gz'))).toEqual(['2026-11-24T00:00:00.250Z\tmiss\t\tu?2\t\t1']);
    // Closed files are whole gzip streams.
    expect(gunzipSync(await readFile(day1)).toString()).toContain('\tu1\t');
    expect(writer.written).toBe(2);
  });

  it('a graceful stop of the listener writes every answered request', async () => {
    await buildFixtureSnapshot(t.root, '2026-11-23');
    // A flush interval far longer than the test: only the stop can have written the records.
    const listener = await startListener(listenerSettings(t.root, t.logDir, { log: { dir: t.logDir, bufferBytes: 1 << 20, flushMs: 600_000 } }), silentLogger);
    const c = await RawConnection.open(listener.port);
    for (let i = 0; i < 50; i++) await c.get(`/segments?uid=${i % 2 ? '2222222222222222222' : 'nobody'}&region=nym`);
    await listener.stop();
    const [dayDir] = await readdir(t.logDir);
    const [file] = await readdir(path.join(t.logDir, dayDir!));
    const got = await lines(path.join(t.logDir, dayDir!, file!));
    expect(got).toHaveLength(50);
    expect(got.filter((l) => l.includes('\thit\tnym\t2222222222222222222\t4412002,4412004\t'))).toHaveLength(25);
    expect(got.filter((l) => l.includes('\tmiss\tnym\tnobody\t\t'))).toHaveLength(25);
  });
});
