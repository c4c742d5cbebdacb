/**
 * `courier` with `storage.root: webhdfs://…` against the stand-in cluster built to the WebHDFS REST API document
 * (test/support/webhdfs-server.ts; no Hadoop runs here), security on: the CLI reads the delegation token from
 * storage.webhdfs.delegationToken and hands the settings to the local engine's worker threads. daily-refresh
 * writes the same datasets as the same run on a file:// root.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticData } from '../../jobs/synthetic/index.ts';
import { configureWebHdfs, listDatasets, toStorageUri } from '../../storage/index.ts';
import { readRows } from '../engine/conformance/fixtures.ts';
import { startWebHdfsServer, type WebHdfsTestServer } from '../support/webhdfs-server.ts';
import { MAPPED_SEGMENT_IDS, STREAMING_AND_BATCH_PARTNERS } from '../support/workflow-config.ts';
import { runCourier } from './run-courier.ts';

const D = '2026-11-23';
const TOKEN = 'HAAEY291cmllcgRjb3VyaWVyAIoBlV4';
let dir: string;
let server: WebHdfsTestServer;
let hdfsRoot: string;

const generate = (out: string) =>
  generateSyntheticData({ out, logs: 20_000, segments: 2_000, partners: 2, configuredPartnerIds: [17, 42], configuredSegmentIds: MAPPED_SEGMENT_IDS, days: 1, date: D, seed: 11 });

beforeAll(async () => {
  server = await startWebHdfsServer({ auth: { security: 'on', tokens: { [TOKEN]: 'courier' } } });
  server.seedDirectory('/courier', 'courier');
  hdfsRoot = `webhdfs://${server.authority}/courier`;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-webhdfs-cli-'));
  const engine = 'engine:\n  kind: local\n  local: { workers: 2 }\n';
  for (const name of ['file', 'webhdfs']) {
    await fs.mkdir(path.join(dir, name));
    await fs.writeFile(path.join(dir, name, 'pw.txt'), 'secret\n');
  }
  await fs.writeFile(path.join(dir, 'file', 'courier.yaml'), `storage:\n  root: ./data\n${engine}${STREAMING_AND_BATCH_PARTNERS}`);
  await fs.writeFile(path.join(dir, 'webhdfs', 'hdfs.token'), `${TOKEN}\n`);
  await fs.writeFile(
    path.join(dir, 'webhdfs', 'courier.yaml'),
    `storage:\n  root: ${hdfsRoot}\n  webhdfs:\n    delegationToken: { file: ./hdfs.token }\n    retryDelayMs: 5\n${engine}${STREAMING_AND_BATCH_PARTNERS}`,
  );
  await generate(toStorageUri(path.join(dir, 'file', 'data')));
  configureWebHdfs({ delegationToken: TOKEN });
  await generate(hdfsRoot);
}, 120_000);
afterAll(async () => {
  configureWebHdfs({});
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('courier with a webhdfs:// storage root (stand-in cluster built to the WebHDFS REST API document)', () => {
  it('run daily-refresh writes the same datasets as on file://, authenticated by the configured delegation token', async () => {
    const onFile = await runCourier(['run', 'daily-refresh', '--date', D], { cwd: path.join(dir, 'file') });
    expect(onFile.code, onFile.stderr).toBe(0);
    const before = server.requests.length;
    const onHdfs = await runCourier(['run', 'daily-refresh', '--date', D], { cwd: path.join(dir, 'webhdfs') });
    expect(onHdfs.code, onHdfs.stderr).toBe(0);
    expect(onHdfs.stdout).toMatch(new RegExp(`^daily-refresh ${D}: succeeded in `));
    const sent = server.requests.slice(before);
    expect(sent.length).toBeGreaterThan(100);
    expect(sent.every((r) => r.query['delegation'] === TOKEN && r.query['user.name'] === undefined)).toBe(true);

    const complete = async (root: string) => (await listDatasets(root)).filter((d) => d.state === 'complete' && !d.path.startsWith('_')).map((d) => d.path);
    const fileRoot = toStorageUri(path.join(dir, 'file', 'data'));
    const paths = await complete(fileRoot);
    expect(await complete(hdfsRoot)).toEqual(paths);
    expect(paths).toEqual(expect.arrayContaining([`cookie-sync-store/dt=${D}`, `requests/dt=${D}`]));
    for (const p of paths.filter((p) => p.startsWith('cookie-sync-store/') || p.startsWith('requests/'))) {
      expect(await readRows(`${hdfsRoot}/${p}`), p).toEqual(await readRows(`${fileRoot}/${p}`));
    }
    // The batch files (gzipped, written through CREATE) are byte for byte those of the file:// run.
    const batchOnFile = (await fs.readdir(path.join(dir, 'file', 'data', 'batch'), { recursive: true })).filter((f) => f.endsWith('.gz')).sort();
    expect(batchOnFile.length).toBeGreaterThan(0);
    for (const f of batchOnFile) {
      expect(server.fileData(`/courier/batch/${f}`)?.equals(await fs.readFile(path.join(dir, 'file', 'data', 'batch', f))), f).toBe(true);
    }
    // A second run finds every output complete through its _SUCCESS marker and skips.
    const again = await runCourier(['--json', 'run', 'daily-refresh', '--date', D], { cwd: path.join(dir, 'webhdfs') });
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { state: string }).state).toBe('skipped');
  }, 240_000);

  it('config check refuses a user and a token together, and a binary token file is named with what to store instead', async () => {
    const cwd = path.join(dir, 'webhdfs');
    await fs.writeFile(path.join(cwd, 'both.yaml'), `storage:\n  root: ${hdfsRoot}\n  webhdfs:\n    user: courier\n    delegationToken: { file: ./hdfs.token }\n${STREAMING_AND_BATCH_PARTNERS}`);
    const both = await runCourier(['--config', 'both.yaml', 'config', 'check'], { cwd });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/storage\.webhdfs\.user.*give user or delegationToken, not both/);
    await fs.writeFile(path.join(cwd, 'missing.yaml'), `storage:\n  root: ${hdfsRoot}\n  webhdfs:\n    delegationToken: { env: COURIER_TEST_NO_SUCH_TOKEN }\n${STREAMING_AND_BATCH_PARTNERS}`);
    const missing = await runCourier(['--config', 'missing.yaml', 'config', 'check'], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/storage\.webhdfs\.delegationToken.*COURIER_TEST_NO_SUCH_TOKEN/);
    await fs.writeFile(path.join(cwd, 'binary.token'), Buffer.from('HDTS\u0000\u0001\u0002binary'));
    await fs.writeFile(path.join(cwd, 'binary.yaml'), `storage:\n  root: ${hdfsRoot}\n  webhdfs:\n    delegationToken: { file: ./binary.token }\n${STREAMING_AND_BATCH_PARTNERS}`);
    const binary = await runCourier(['--config', 'binary.yaml', 'datasets'], { cwd });
    expect(binary.code).toBe(2);
    expect(binary.stderr).toMatch(/binary\.yaml: storage\.webhdfs\.delegationToken: the secret is not a URL-safe token string.*GETDELEGATIONTOKEN/);
  }, 60_000);
});
