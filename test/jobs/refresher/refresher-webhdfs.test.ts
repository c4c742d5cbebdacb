/**
 * The refresher with a webhdfs:// storage root, against the stand-in cluster built to the WebHDFS REST API
 * document (test/support/webhdfs-server.ts; no Hadoop runs here): two daily runs on the local runner (worker
 * threads, which get the WebHDFS settings through the environment), the inline runner and the streaming runner
 * (stage bundles as child processes) write the same datasets, row for row and file for file, as the same runs on
 * a file:// root.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineRunner, localRunner, streamingRunner, type JobRunner } from '../../../engine/index.ts';
import { refresherDatasets, runRefresher, type RefresherSummary } from '../../../jobs/refresher/index.ts';
import { configureWebHdfs, fileSystemFor, joinUri, readMarker, toStorageUri } from '../../../storage/index.ts';
import { startWebHdfsServer, type WebHdfsTestServer } from '../../support/webhdfs-server.ts';
import { cookieNamed, pageLine, readRows, syncLine, writeLogDay, writeSegmentDay } from './refresher-fixtures.ts';

const D1 = '2026-11-22';
const D2 = '2026-11-23';
const PARTNERS: { id: number; segmentMap: Record<string, string>; expiryDays: number; deltas?: boolean }[] = [
  { id: 17, segmentMap: { '1001': 'auto', '1002': 'travel', '1003': 'sport' }, expiryDays: 30 },
  { id: 42, segmentMap: { '1001': 'a1', '1002': 'a2', '1004': 'a4' }, expiryDays: 14, deltas: true },
];
const A = cookieNamed('A');
const B = cookieNamed('B');
const C = cookieNamed('C');
const N = cookieNamed('N');

async function writeInputs(root: string): Promise<void> {
  await writeLogDay(root, D1, {
    'hour=10/webapp-web-01.log.gz': [syncLine('2026-11-22T10:00:00.000Z', A, 17, 'PA1'), syncLine('2026-11-22T10:10:00.000Z', B, 17, 'PB'), pageLine('2026-11-22T10:11:00.000Z', B), 'garbage\tline'],
    'hour=11/webapp-web-01.log.gz': [syncLine('2026-11-22T11:00:00.000Z', B, 42, 'PB42'), syncLine('2026-11-22T11:10:00.000Z', C, 17, 'PC')],
  });
  await writeSegmentDay(root, D1, [
    { cookie_id: A, segment_ids: [1001] },
    { cookie_id: B, segment_ids: [1001, 1002], email: 'b@example.com' },
    { cookie_id: C, segment_ids: [1003] },
  ]);
  await writeLogDay(root, D2, { 'hour=08/webapp-web-01.log.gz': [syncLine('2026-11-23T08:00:00.000Z', A, 17, 'PA2'), syncLine('2026-11-23T08:10:00.000Z', N, 42, 'PN')] });
  await writeSegmentDay(root, D2, [
    { cookie_id: A, segment_ids: [1001] },
    { cookie_id: B, segment_ids: [1002, 1004] },
    { cookie_id: C, segment_ids: [1003] },
    { cookie_id: N, segment_ids: [1001, 1002] },
  ]);
}

interface Day {
  summary: RefresherSummary;
  store: Record<string, unknown>[];
  requests: Record<string, unknown>[];
  /** Each output's files as the marker lists them: path and rows (bytes and hashes differ with writers' metadata). */
  files: Record<string, [string, number][]>;
}

/** The summary with the root and run ids (in quarantine URIs) written the same way for both roots. */
const comparable = (summary: RefresherSummary, root: string): unknown =>
  JSON.parse(JSON.stringify(summary).replaceAll(root, '<root>').replace(/\d{8}T\d{6}Z-[0-9a-f]+/g, '<run>'));

async function runDays(runner: JobRunner, root: string): Promise<Day[]> {
  const out: Day[] = [];
  for (const date of [D1, D2]) {
    const { summary: raw } = await runRefresher(runner, { storageRoot: root, date, partners: PARTNERS, refreshEveryDays: 3 });
    const summary = comparable(raw, root) as RefresherSummary;
    const ds = refresherDatasets(date).outputs;
    const files: Day['files'] = {};
    for (const [name, rel] of Object.entries(ds)) {
      const uri = joinUri(root, rel);
      files[name] = (await readMarker(fileSystemFor(uri), uri)).files.map((f) => [f.path, f.rows]);
    }
    out.push({ summary, store: await readRows(joinUri(root, ds.store)), requests: await readRows(joinUri(root, ds.requests)), files });
  }
  return out;
}

const RUNNERS = [
  ['local', () => localRunner({ workers: 2 })],
  ['inline', () => inlineRunner()],
  ['streaming', () => streamingRunner({ workers: 2 })],
] as const;

let server: WebHdfsTestServer;
let dir: string;
/** The same runs on a file:// root, per runner (the local runner's reducers name their files part-r…). */
const onFile: Record<string, Day[]> = {};

beforeAll(async () => {
  // Anonymous requests refused: a worker thread that missed the settings would fail, not write as dr.who.
  server = await startWebHdfsServer({ auth: { security: 'off', anonymous: false } });
  configureWebHdfs({ user: 'courier', retryDelayMs: 5 });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-refresher-webhdfs-'));
  for (const [name, runner] of RUNNERS) {
    const fileRoot = toStorageUri(path.join(dir, name));
    await writeInputs(fileRoot);
    onFile[name] = await runDays(runner(), fileRoot);
  }
}, 120_000);
afterAll(async () => {
  configureWebHdfs({});
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('refresher with a webhdfs:// storage root (stand-in cluster built to the WebHDFS REST API document)', () => {
  for (const [name, runner] of RUNNERS) {
    it(`two daily runs on the ${name} runner write the same datasets as on file://`, async () => {
      server.seedDirectory(`/courier-${name}`, 'courier');
      const root = `webhdfs://${server.authority}/courier-${name}`;
      await writeInputs(root);
      const onHdfs = await runDays(runner(), root);
      for (const [i, day] of onHdfs.entries()) {
        expect(day.store).toEqual(onFile[name]![i]!.store);
        expect(day.requests).toEqual(onFile[name]![i]!.requests);
        expect(day.files).toEqual(onFile[name]![i]!.files);
        expect(day.summary).toEqual(onFile[name]![i]!.summary);
      }
      expect(onHdfs[1]!.summary).toMatchObject({ previousStoreDate: D1, previousSegmentsDate: D1 });
      expect(onHdfs[1]!.requests.length).toBeGreaterThan(0);
      // Every dataset is marked, no staging or work directory is left behind, and everything is owned by the configured user.
      const tree = server.walk(`/courier-${name}`);
      expect(tree.filter((p) => /\/_tmp\.|\.tmp-|\/_shuffle|\/_spill/.test(p))).toEqual([]);
      for (const date of [D1, D2]) {
        for (const rel of Object.values(refresherDatasets(date).outputs)) expect(tree).toContain(`/courier-${name}/${rel}/_SUCCESS`);
      }
      expect(new Set(tree.map((p) => server.ownerOf(p.replace(/\/$/, ''))!.owner))).toEqual(new Set(['courier']));
      // Data went the two-step way: the namenode redirected, the datanode took and served the bytes.
      expect(server.requests.some((r) => r.listener === 'datanode' && r.op === 'CREATE' && r.path.startsWith(`/courier-${name}/`) && r.status === 201)).toBe(true);
      expect(server.requests.some((r) => r.listener === 'datanode' && r.op === 'OPEN' && r.path.startsWith(`/courier-${name}/`))).toBe(true);
    }, 120_000);
  }
});
