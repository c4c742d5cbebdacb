/**
 * Builds the listener's segment snapshot of a day from the refresher's outputs: the cookie-sync store
 * (cookie → the bus partner's user id) joined with the segment snapshot (cookie → our segment ids), mapped
 * through the partner's segmentMap, written as `<snapshotDataset>/dt=D/segments.snap` with a `_SUCCESS` marker.
 *
 * Why a builder here rather than an engine job: the join runs on 64-bit hashes in typed arrays (16 bytes per
 * store row, radix-sorted), never holding a cookie or user id string beyond its batch, so 50M users build in a
 * few GB on one machine (estimated 60-100 bytes per store row at peak, docs/listener.md); an engine shuffle would carry every id as a string through sort and spill, and the
 * output is not rows but one binary file in the listener's memory layout. It reads through storage, so it
 * works on any storage root.
 */
import { DatasetStaging, fileSystemFor, readDataset } from '../storage/index.ts';
import { KeyedValueList, lowerBound, sortByKey } from './key-sort.ts';
import { encodeSnapshot } from './segment-snapshot.ts';
import { datedUri, latestCompleteDay, SNAPSHOT_FILE } from './snapshot-datasets.ts';
import { hashUserId, userKey } from './user-id-hash.ts';

/** What to build: plain data the CLI maps from the config. */
export interface SnapshotBuildSettings {
  storageRoot: string;
  /** The day: reads `<storeDataset>/dt=D` and the latest complete segment snapshot on or before D. */
  date: string;
  /** The impression bus's partner: its rows of the store, its segmentMap. */
  partnerId: number;
  /** Our segment id (digits) → the partner's segment code. */
  segmentMap: Readonly<Record<string, string>>;
  storeDataset: string;
  segmentsDataset: string;
  snapshotDataset: string;
  /** Replace a complete snapshot of the same day. */
  overwrite?: boolean;
}

/** What a build did. */
export interface SnapshotBuildSummary {
  uri: string;
  date: string;
  segmentsDate: string;
  storeRows: number;
  /** Store rows of the partner (its synced cookies). */
  partnerCookies: number;
  /** Of those, cookies with at least one mapped segment. */
  cookiesWithCodes: number;
  /** Distinct partner user ids in the snapshot (a user synced from several cookies gets the union of codes). */
  users: number;
  answers: number;
  bytes: number;
  bytesPerUser: number;
  seconds: number;
}

const NONE = 0xffffffff;

/** Distinct answers (code sets), interned: each set once in the snapshot. */
class AnswerTable {
  readonly texts: string[] = [];
  readonly codes: string[][] = [];
  private readonly ids = new Map<string, number>();

  /** The id of the answer listing `codes` (sorted, unique, non-empty). */
  intern(codes: string[]): number {
    const text = codes.join('\n') + '\n';
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.ids.set(text, id);
      this.texts.push(text);
      this.codes.push(codes);
    }
    return id;
  }

  /** The id of the union of two answers. */
  union(a: number, b: number): number {
    if (a === b) return a;
    return this.intern([...new Set([...this.codes[a]!, ...this.codes[b]!])].sort());
  }
}

/** Builds and writes the snapshot of `settings.date`; fails naming the missing input when one is not complete. */
export async function buildSegmentSnapshot(settings: SnapshotBuildSettings): Promise<SnapshotBuildSummary> {
  const started = performance.now();
  const storeUri = datedUri(settings.storageRoot, settings.storeDataset, settings.date);
  const segmentsDate = await latestCompleteDay(settings.storageRoot, settings.segmentsDataset, settings.date);
  if (segmentsDate === null) {
    throw new Error(`no complete ${settings.segmentsDataset}/dt=<day> on or before ${settings.date} under ${settings.storageRoot}; generate or import segment data first`);
  }
  const codeOf = new Map(Object.entries(settings.segmentMap).map(([id, code]) => [Number(id), code]));

  // 1. The partner's cookies: (cookie key → user key), in store order.
  const cookies = new KeyedValueList();
  const userKeys = new KeyedValueList();
  let storeRows = 0;
  for await (const batch of readDataset(storeUri, { columns: ['cookie_id', 'partner_id', 'partner_user_id'] })) {
    const cookieIds = batch.columns['cookie_id'] as (string | null)[];
    const partners = batch.columns['partner_id'] as Int32Array;
    const users = batch.columns['partner_user_id'] as (string | null)[];
    storeRows += batch.numRows;
    for (let i = 0; i < batch.numRows; i++) {
      const cookie = cookieIds[i];
      const user = users[i];
      if (partners[i] !== settings.partnerId || !cookie || !user) continue;
      const row = cookies.length;
      hashUserId(cookie);
      cookies.push(userKey.hi, userKey.lo, row);
      hashUserId(user);
      userKeys.push(userKey.hi, userKey.lo, row);
    }
  }
  const byCookie = sortByKey(cookies);

  // 2. Each such cookie's codes, from the segment snapshot.
  const answers = new AnswerTable();
  const answerOfRow = new Uint32Array(cookies.length).fill(NONE);
  for await (const batch of readDataset(datedUri(settings.storageRoot, settings.segmentsDataset, segmentsDate), { columns: ['cookie_id', 'segment_ids'] })) {
    const cookieIds = batch.columns['cookie_id'] as (string | null)[];
    const segmentIds = batch.columns['segment_ids'] as (Int32Array | null)[];
    for (let i = 0; i < batch.numRows; i++) {
      const cookie = cookieIds[i];
      const ids = segmentIds[i];
      if (!cookie || !ids) continue;
      hashUserId(cookie);
      const { hi, lo } = userKey;
      let at = lowerBound(byCookie.keys, byCookie.length, hi, lo);
      if (at === byCookie.length || byCookie.keys[2 * at] !== hi || byCookie.keys[2 * at + 1] !== lo) continue;
      const codes: string[] = [];
      for (const id of ids) {
        const code = codeOf.get(id);
        if (code !== undefined && !codes.includes(code)) codes.push(code);
      }
      if (codes.length === 0) continue;
      const answer = answers.intern(codes.sort());
      for (; at < byCookie.length && byCookie.keys[2 * at] === hi && byCookie.keys[2 * at + 1] === lo; at++) {
        const row = byCookie.values[at]!;
        answerOfRow[row] = answerOfRow[row] === NONE ? answer : answers.union(answerOfRow[row]!, answer);
      }
    }
  }

  // 3. Users with codes, sorted by key; a user reached from several cookies gets the union of their codes.
  const byUser = sortByKey(userKeys);
  const keys = new Uint32Array(2 * byUser.length);
  const answerIds = new Uint32Array(byUser.length);
  let users = 0;
  let cookiesWithCodes = 0;
  for (let i = 0; i < byUser.length; i++) {
    const answer = answerOfRow[byUser.values[i]!]!;
    if (answer === NONE) continue;
    cookiesWithCodes++;
    const hi = byUser.keys[2 * i]!;
    const lo = byUser.keys[2 * i + 1]!;
    if (users > 0 && keys[2 * users - 2] === hi && keys[2 * users - 1] === lo) {
      answerIds[users - 1] = answers.union(answerIds[users - 1]!, answer);
      continue;
    }
    keys[2 * users] = hi;
    keys[2 * users + 1] = lo;
    answerIds[users++] = answer;
  }

  const bytes = encodeSnapshot(answers.texts, [{ region: '*', keys, answerIds, count: users }]);
  const uri = datedUri(settings.storageRoot, settings.snapshotDataset, settings.date);
  const staging = await DatasetStaging.begin(fileSystemFor(uri), uri, { overwrite: settings.overwrite });
  try {
    await staging.addFile(SNAPSHOT_FILE, bytes, users);
    const summary: SnapshotBuildSummary = {
      uri,
      date: settings.date,
      segmentsDate,
      storeRows,
      partnerCookies: cookies.length,
      cookiesWithCodes,
      users,
      answers: answers.texts.length,
      bytes: bytes.length,
      bytesPerUser: users === 0 ? 0 : bytes.length / users,
      seconds: 0,
    };
    await staging.commit({
      kind: 'files',
      extra: {
        format: 'courier-segment-snapshot/1',
        partnerId: settings.partnerId,
        store: `${settings.storeDataset}/dt=${settings.date}`,
        segments: `${settings.segmentsDataset}/dt=${segmentsDate}`,
        users,
        answers: summary.answers,
      },
    });
    return { ...summary, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    await staging.abort();
    throw error;
  }
}
