// `courier deliver` and `courier deliveries` as users run them (the real executable), against the file:// target
// the demo uses; the SFTP path is proven in test/deliverer/file/sftp-delivery.test.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256, waitFor, writeBatch } from '../deliverer/file/batch-fixtures.ts';
import { repoRoot, runCourier } from './run-courier.ts';

const CONFIG = `storage:
  root: ./data
partners:
  - id: 42
    name: globex
    delivery: batch
    segmentMap: { 1001: GX-AUTO }
    expiryDays: 60
    batch:
      sftp:
        host: 127.0.0.1
        user: courier
        password: { env: GLOBEX_SFTP_PASSWORD }
        hostKeySha256: SHA256:489ZXyGoi2SQDD5/xiu/9dbO7OxZpwUBcEgwWPTsiFE
      remoteDir: /incoming
      target: ./outbox
      template:
        fields: [partner_user_id, segments]
        header: ["#partner=\${PARTNER_NAME}"]
`;

let dir: string;
let root: string;
const env = { GLOBEX_SFTP_PASSWORD: 'not-used-for-a-local-target' };

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-deliver-cli-'));
  await fs.writeFile(path.join(dir, 'courier.yaml'), CONFIG);
  root = pathToFileURL(path.join(dir, 'data')).href;
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('courier deliver', () => {
  it('delivers finished batch files once, prints the report and shows the ledger', async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    const first = await runCourier(['--json', 'deliver'], { cwd: dir, env });
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { delivered: { dataset: string; files: { remotePath: string }[] }[]; pending: unknown[] };
    expect(report.delivered.map((d) => d.dataset)).toEqual([b.path]);
    expect(report.delivered[0]!.files.map((f) => f.remotePath)).toEqual([`/incoming/${b.fileName}`, `/incoming/${b.fileName}.manifest.json`]);
    expect(sha256(await fs.readFile(path.join(dir, 'outbox', 'incoming', b.fileName)))).toBe(b.sha256);

    const again = await runCourier(['deliver'], { cwd: dir, env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 datasets delivered, 0 pending, 1 delivered before');

    const ledger = await runCourier(['deliveries'], { cwd: dir, env });
    expect(ledger.code).toBe(0);
    expect(ledger.stdout).toContain(`delivered  globex  ${b.path}  -> ${pathToFileURL(path.join(dir, 'outbox')).href}`);
    expect(ledger.stdout).toMatch(new RegExp(`delivered +/incoming/${b.fileName.replaceAll('.', '\\.')}  ${b.content.length} bytes  sha256 ${b.sha256.slice(0, 16)}`));
  });

  it('exits 1 naming the pending dataset and why, and 2 for a partner that is not a batch partner', async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    await fs.mkdir(path.join(dir, 'outbox', 'incoming'), { recursive: true });
    await fs.writeFile(path.join(dir, 'outbox', 'incoming', b.fileName), 'someone else');
    const run = await runCourier(['deliver'], { cwd: dir, env });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`PENDING    globex  ${b.path}  partner globex:`);
    expect(run.stderr).toContain('1 datasets left pending');

    const usage = await runCourier(['deliver', '--partner', 'acme'], { cwd: dir, env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('no batch partner named acme; batch partners in the config: globex');
  });

  it('--watch delivers files as they appear, serves metrics, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/courier.js'), 'deliver', '--watch', '--interval', '0.2', '--metrics-port', '0'], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await waitFor(async () => /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(stderr)?.[1], `the metrics url in the log (${stderr})`);
      const b = await writeBatch(root, { partner: 'globex', period: '2026-11-24' });
      const delivered = path.join(dir, 'outbox', 'incoming', `${b.fileName}.manifest.json`);
      await waitFor(() => fs.access(delivered).then(() => true, () => undefined), 'the watcher to deliver the new dataset');
      const metrics = await (await fetch(url)).text();
      expect(metrics).toMatch(/courier_deliver_files_total\{partner="globex",role="manifest",how="uploaded"\} 1/);
      expect(metrics).toMatch(/courier_deliver_passes_total [1-9]/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopping after the current pass');
  });
});
