import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticData } from '../../jobs/synthetic/index.ts';
import { listDatasets, toStorageUri } from '../../storage/index.ts';
import { readRows } from '../engine/conformance/fixtures.ts';
import { runCourier, runNode } from './run-courier.ts';
import { MAPPED_SEGMENT_IDS, STREAMING_AND_BATCH_PARTNERS } from '../support/workflow-config.ts';

const D = '2026-11-23';
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-streaming-cli-'));
  for (const name of ['local', 'streaming']) {
    await fs.mkdir(path.join(dir, name));
    await fs.writeFile(path.join(dir, name, 'courier.yaml'), `storage:\n  root: ./data\nengine:\n  kind: local\n  local: { workers: 2 }\n${STREAMING_AND_BATCH_PARTNERS}`);
    await fs.writeFile(path.join(dir, name, 'pw.txt'), 'secret\n');
    await generateSyntheticData({ out: toStorageUri(path.join(dir, name, 'data')), logs: 20_000, segments: 2_000, partners: 2, configuredPartnerIds: [17, 42], configuredSegmentIds: MAPPED_SEGMENT_IDS, days: 1, date: D, seed: 11 });
  }
}, 120_000);
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

describe('courier run --engine streaming', () => {
  it('daily-refresh writes the same datasets as the local engine, row for row, and byte-identical batch files', async () => {
    const local = await runCourier(['run', 'daily-refresh', '--date', D], { cwd: path.join(dir, 'local') });
    expect(local.code, local.stderr).toBe(0);
    const streaming = await runCourier(['run', 'daily-refresh', '--date', D, '--engine', 'streaming'], { cwd: path.join(dir, 'streaming') });
    expect(streaming.code, streaming.stderr).toBe(0);
    const complete = async (name: string) =>
      (await listDatasets(toStorageUri(path.join(dir, name, 'data')))).filter((d) => d.state === 'complete' && !d.path.startsWith('_')).map((d) => d.path);
    const paths = await complete('local');
    expect(await complete('streaming')).toEqual(paths);
    expect(paths).toEqual(expect.arrayContaining([`cookie-sync-store/dt=${D}`, `requests/dt=${D}`]));
    for (const p of paths.filter((p) => !p.startsWith('logs/') && !p.startsWith('segments/'))) {
      const [a, b] = await Promise.all(['local', 'streaming'].map(async (name) => {
        const uri = toStorageUri(path.join(dir, name, 'data', p));
        return readRows(uri).catch(async () => (await fs.readdir(path.join(dir, name, 'data', p), { recursive: true })).sort());
      }));
      expect(b, p).toEqual(a);
    }
    const batchFiles = async (name: string) => {
      const base = path.join(dir, name, 'data', 'batch');
      const files = (await fs.readdir(base, { recursive: true })).filter((f) => !f.endsWith('_SUCCESS')).sort();
      return Promise.all(files.map(async (f) => [f, (await fs.stat(path.join(base, f))).isFile() ? (await fs.readFile(path.join(base, f))).toString('base64') : 'dir']));
    };
    const [lb, sb] = [await batchFiles('local'), await batchFiles('streaming')];
    expect(sb.map(([f]) => f)).toEqual(lb.map(([f]) => f));
    for (const [i, [f, bytes]] of lb.entries()) if (!f!.endsWith('.json')) expect(sb[i]![1], f).toBe(bytes);
  }, 180_000);

  it('courier bundle writes self-contained bundles that run with plain node outside the project', async () => {
    const out = path.join(dir, 'stages');
    const r = await runCourier(['--json', 'bundle', '--out', out], { cwd: path.join(dir, 'local') });
    expect(r.code, r.stderr).toBe(0);
    const { bundles } = JSON.parse(r.stdout) as { bundles: { job: string; file: string }[] };
    expect(bundles.map((b) => b.job)).toEqual(['refresher', 'batch-formatter']);
    // Copied where no node_modules can be found, it still describes its steps.
    const lone = path.join(os.tmpdir(), `courier-lone-${process.pid}`);
    await fs.mkdir(lone, { recursive: true });
    await fs.copyFile(bundles[0]!.file, path.join(lone, 'refresher.stage.js'));
    await fs.writeFile(path.join(lone, 'package.json'), '{"type":"commonjs"}');
    const d = await runNode([path.join(lone, 'refresher.stage.js'), 'describe', '--params', JSON.stringify({ date: D, partners: [{ id: 17, segmentMap: { '1001': 'A' } }] })], { cwd: lone });
    await fs.rm(lone, { recursive: true, force: true });
    expect(d.code, d.stderr).toBe(0);
    expect((JSON.parse(d.stdout) as { steps: { name: string }[] }).steps.map((s) => s.name)).toContain('requests');
  }, 120_000);
});
