import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPath } from '../../storage/index.ts';
import {
  buildSegmentSnapshot,
  EMPTY_ANSWER,
  encodeSnapshot,
  KeyedValueList,
  loadSnapshot,
  SegmentSnapshot,
  seededKeys,
  sortByKey,
  userKey,
  hashUserId,
  userKeyHex,
} from './snapshot-test-kit.ts';
import { buildSettings, STORE, tempRoot, writeInputs } from './listener-fixtures.ts';

const golden = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
const DAY = '2026-11-23';

describe('user id keys', () => {
  it('are pinned: the snapshot file format depends on them', () => {
    expect(['', '1610818136837885133', 'CAESEhpCgOVnc6pyVDbxSb03mdQ', 'é'].map(userKeyHex)).toMatchInlineSnapshot(`
      [
        "b385ced3b8b595e5",
        "68b78991c10788cb",
        "bdcd3d8194e84b92",
        "20bbdfbf6ec0c21b",
      ]
    `);
  });

  it('do not collide on 200k similar ids', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(userKeyHex(String(1_000_000_000_000_000_000n + BigInt(i))));
    expect(seen.size).toBe(200_000);
  });
});

describe('radix sort of 64-bit keys', () => {
  it('orders like a comparator sort and keeps equal keys stable', () => {
    const list = new KeyedValueList();
    const keys = seededKeys(5000, 7);
    for (let i = 0; i < 5000; i++) list.push(keys[2 * i]!, i % 7 === 0 ? 0 : keys[2 * i + 1]!, i);
    const sorted = sortByKey(list);
    const expected = [...Array(5000).keys()].sort((a, b) => {
      const ka = [list.keys[2 * a]!, list.keys[2 * a + 1]!];
      const kb = [list.keys[2 * b]!, list.keys[2 * b + 1]!];
      return ka[0]! - kb[0]! || ka[1]! - kb[1]! || a - b;
    });
    expect([...sorted.values]).toEqual(expected);
  });
});

describe('snapshot file', () => {
  it('round-trips region tables: a region of its own, "*" for the others, misses empty', () => {
    const table = (region: string, ids: [string, number][]) => {
      const list = new KeyedValueList();
      for (const [id, answer] of ids) {
        hashUserId(id);
        list.push(userKey.hi, userKey.lo, answer);
      }
      const s = sortByKey(list);
      return { region, keys: s.keys, answerIds: s.values, count: s.length };
    };
    const bytes = encodeSnapshot(['a\n', 'a\nb\n'], [table('*', [['u1', 0], ['u2', 1]]), table('nym', [['u1', 1]])]);
    const snap = new SegmentSnapshot(bytes, 'memory', DAY);
    expect(snap.regions).toEqual(['*', 'nym']);
    expect(snap.lookup('nym', 'u1').toString()).toBe('a\nb\n');
    expect(snap.lookup('ams', 'u1').toString()).toBe('a\n');
    expect(snap.lookup('', 'u2').toString()).toBe('a\nb\n');
    expect(snap.lookup('nym', 'u2')).toBe(EMPTY_ANSWER);
    expect(snap.lookup('', 'u3')).toBe(EMPTY_ANSWER);
  });

  it('refuses damaged bytes, naming the file', () => {
    const bytes = encodeSnapshot(['a\n'], []);
    expect(() => new SegmentSnapshot(Buffer.from('not a snapshot at all, really not'), 'x.snap', DAY)).toThrow(/x\.snap: not a segment snapshot/);
    const cut = Buffer.allocUnsafeSlow(bytes.length - 4);
    bytes.copy(cut, 0, 0, cut.length);
    expect(() => new SegmentSnapshot(cut, 'y.snap', DAY)).toThrow(/y\.snap: .*rebuild it with `courier listen snapshot`/);
  });
});

describe('snapshot build from the cookie-sync store and segments', () => {
  let t: Awaited<ReturnType<typeof tempRoot>>;
  beforeAll(async () => {
    t = await tempRoot();
    await writeInputs(t.root, DAY);
  });
  afterAll(() => t.done());

  it('answers the golden codes per user id', async () => {
    const summary = await buildSegmentSnapshot(buildSettings(t.root, DAY));
    expect(summary).toMatchObject({ date: DAY, segmentsDate: DAY, storeRows: STORE.length, partnerCookies: 7, cookiesWithCodes: 5, users: 4, answers: 5 });
    const snap = await loadSnapshot({ storageRoot: t.root, snapshotDataset: 'listener-snapshot' }, DAY);
    const ids = [...new Set(STORE.map(([, , u]) => u)), '9999999999999999999'];
    const answers = ids.map((id) => `${id} ${JSON.stringify(snap.lookup('nym', id).toString())}`).join('\n') + '\n';
    const file = path.join(golden, 'answers.txt');
    if (process.env['UPDATE_GOLDEN']) await writeFile(file, answers);
    expect(answers).toBe(await readFile(file, 'utf8'));
  });

  it('fails naming the segments dataset when none is complete, and refuses a tampered snapshot file', async () => {
    await expect(buildSegmentSnapshot({ ...buildSettings(t.root, '2026-11-01') })).rejects.toThrow(/no complete segments\/dt=<day> on or before 2026-11-01/);
    const file = path.join(localPath(t.root), 'listener-snapshot', `dt=${DAY}`, 'segments.snap');
    const bytes = await readFile(file);
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(file, bytes);
    await expect(loadSnapshot({ storageRoot: t.root, snapshotDataset: 'listener-snapshot' }, DAY)).rejects.toThrow(/segments\.snap: sha256 differs from its _SUCCESS marker/);
  });
});
