// A small cookie-sync store and segment snapshot on a temporary storage root, and the listener settings to serve it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { defineSchema, rowsToBatch, toStorageUri, writeDataset } from '../../storage/index.ts';
import { buildSegmentSnapshot, startListener, type ListenerSettings, type RunningListener, type SnapshotBuildSettings } from '../../listener/index.ts';

export const XANDR = 50;
export const SEGMENT_MAP = { '1001': '4412001', '1002': '4412002', '1004': '4412004' };

const storeSchema = defineSchema({ cookie_id: 'string', partner_id: 'int32', partner_user_id: 'string', first_seen: 'timestamp_ms', last_seen: 'timestamp_ms' });
const segmentSchema = defineSchema({ cookie_id: 'string', segment_ids: 'list<int32>', updated_at: 'timestamp_ms' });

/** Cookie `c<i>` padded to 22 characters. */
export const cookie = (i: number) => `c${String(i).padStart(21, '0')}`;

/** Store rows: (cookie, partner, user id). */
export type StoreRow = [number, number, string];
/** Segment rows: (cookie, our segment ids). */
export type SegmentRow = [number, number[]];

/** The store of the fixture day: three Xandr users with codes, one user from two cookies, other partners' rows. */
export const STORE: StoreRow[] = [
  [1, XANDR, '1610818136837885133'], // 1001, 1003 → 4412001
  [2, XANDR, '2222222222222222222'], // 1002, 1004 → 4412002, 4412004
  [3, XANDR, '3333333333333333333'], // 1003 only: unmapped → not in the snapshot
  [4, XANDR, '4444444444444444444'], // 1001 (cookie 4) and 1004 (cookie 5) → union
  [5, XANDR, '4444444444444444444'],
  [6, XANDR, '6666666666666666666'], // no segment row
  [7, 17, '1610818136837885133'], // another partner: never in the snapshot
  [8, XANDR, '8888888888888888888'], // 1001, 1002 like cookie 2's set shape but different codes
];
export const SEGMENTS: SegmentRow[] = [
  [1, [1001, 1003]],
  [2, [1002, 1004]],
  [3, [1003]],
  [4, [1001]],
  [5, [1004]],
  [7, [1001, 1002, 1004]],
  [8, [1001, 1002]],
  [9, [1001]], // never synced
];

export async function writeInputs(root: string, day: string, store: StoreRow[] = STORE, segments: SegmentRow[] = SEGMENTS): Promise<void> {
  const t = Date.parse(`${day}T12:00:00Z`);
  await writeDataset(
    `${root}/cookie-sync-store/dt=${day}`,
    storeSchema,
    [rowsToBatch(storeSchema, store.map(([c, p, u]) => ({ cookie_id: cookie(c), partner_id: p, partner_user_id: u, first_seen: t, last_seen: t })))],
    { overwrite: true },
  );
  await writeDataset(
    `${root}/segments/dt=${day}`,
    segmentSchema,
    [rowsToBatch(segmentSchema, segments.map(([c, ids]) => ({ cookie_id: cookie(c), segment_ids: Int32Array.from(ids), updated_at: t })))],
    { overwrite: true },
  );
}

export function buildSettings(root: string, date: string): SnapshotBuildSettings {
  return {
    storageRoot: root,
    date,
    partnerId: XANDR,
    segmentMap: SEGMENT_MAP,
    storeDataset: 'cookie-sync-store',
    segmentsDataset: 'segments',
    snapshotDataset: 'listener-snapshot',
    overwrite: true,
  };
}

export async function buildFixtureSnapshot(root: string, day: string): Promise<void> {
  await writeInputs(root, day);
  await buildSegmentSnapshot(buildSettings(root, day));
}

/** A temporary directory with a storage root and a log directory; `done` removes it. */
export interface TempRoot {
  dir: string;
  root: string;
  logDir: string;
  done: () => Promise<void>;
}

export async function tempRoot(): Promise<TempRoot> {
  const dir = await mkdtemp(path.join(tmpdir(), 'courier-listener-'));
  return { dir, root: toStorageUri(path.join(dir, 'data')), logDir: path.join(dir, 'logs'), done: () => rm(dir, { recursive: true, force: true }) };
}

export function listenerSettings(root: string, logDir: string, overrides: Partial<ListenerSettings> = {}): ListenerSettings {
  return {
    host: '127.0.0.1',
    port: 0,
    readyPath: '/ready',
    bidUri: '/segments?uid=${USER_ID}&region=${REGION}',
    keepAliveTimeoutMs: 150_000,
    headersTimeoutMs: 500,
    maxHeaderBytes: 2048,
    storageRoot: root,
    snapshotDataset: 'listener-snapshot',
    pollMs: 100,
    log: { dir: logDir, bufferBytes: 1 << 20, flushMs: 50 },
    stopGraceMs: 500,
    ...overrides,
  };
}

export const silentLogger = pino({ level: 'silent' });

/** A listener (one process, fixture settings) serving the fixture snapshot of `day` on a fresh temporary root. */
export interface FixtureListener {
  readonly t: TempRoot;
  readonly listener: RunningListener;
  /** Stops the listener and removes the root. */
  stop(): Promise<void>;
}

export async function startFixtureListener(day = '2026-11-23', overrides: Partial<ListenerSettings> = {}): Promise<FixtureListener> {
  const t = await tempRoot();
  await buildFixtureSnapshot(t.root, day);
  const listener = await startListener(listenerSettings(t.root, t.logDir, overrides), silentLogger);
  return {
    t,
    listener,
    async stop() {
      await listener.stop();
      await t.done();
    },
  };
}

/** For a describe block: a fixture listener started before its tests (handed to `started`) and stopped after them. */
export function useFixtureListener(started: (listener: RunningListener) => void): void {
  let fx: FixtureListener | undefined;
  beforeAll(async () => {
    fx = await startFixtureListener();
    started(fx.listener);
  });
  afterAll(() => fx?.stop());
}

