// The deliverer against a real OpenSSH sshd + internal sftp-server on 127.0.0.1 (started here; installed with
// apt-get when missing): byte-identical delivery, no partial file ever under the final name, pinned host keys,
// secrets kept out of errors and logs, dropped connections, a killed deliverer, full and read-only remote disks.
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  deliverBatches,
  DelivererMetrics,
  SecretValue,
  type DelivererOptions,
  type FilePartner,
  type LedgerEntry,
  type SftpSettings,
} from '../../../deliverer/file/index.ts';
import { startSshd, type TestSshd } from '../../support/sshd-server.ts';
import { capturedLogger, readJson, sha256, tempStore, waitFor, writeBatch } from './batch-fixtures.ts';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

let sshd: TestSshd;
let dir: string;
let root: string;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
  if (sshd) await fs.rm(sshd.dir, { recursive: true, force: true });
});
beforeEach(async () => {
  ({ dir, root } = await tempStore('courier-deliver-sftp-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const sftp = (extra: Partial<SftpSettings> = {}): SftpSettings => ({
  host: sshd.host,
  port: sshd.port,
  user: sshd.user,
  privateKey: new SecretValue(sshd.userPrivateKey),
  hostKeySha256: sshd.hostKeySha256,
  ...extra,
});
const partner = (name: string, remoteDir: string, extra: Partial<SftpSettings> = {}): FilePartner => ({
  id: 42,
  name,
  target: { kind: 'sftp', sftp: sftp(extra) },
  remoteDir,
  header: [],
  maxConnections: 2,
});
const options = (partners: FilePartner[], extra: Partial<DelivererOptions> = {}): DelivererOptions => ({
  storageRoot: root,
  partners,
  logger: capturedLogger().logger,
  retry: { maxAttempts: 6, baseDelayMs: 300, maxDelayMs: 2000 },
  connectTimeoutMs: 10_000,
  ...extra,
});
const ledgerOf = (p: string, period: string) => readJson<LedgerEntry>(path.join(dir, 'store', '_deliveries', 'ledger', p, `dt=${period}.json`));
const listDir = (d: string) => fs.readdir(d).catch(() => [] as string[]);
const parts = async (d: string) => (await listDir(d)).filter((n) => n.endsWith('.part'));

describe('file deliverer over SFTP (real sshd)', () => {
  it('delivers byte-identical files, manifest last, and records the sftp target in the ledger', async () => {
    const remoteDir = path.join(dir, 'remote', 'globex');
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23', approxBytes: 2_000_000 });
    const { logger, lines } = capturedLogger();
    const report = await deliverBatches(options([partner('globex', remoteDir)], { logger }));
    expect(report.pending).toEqual([]);
    expect((await listDir(remoteDir)).sort()).toEqual([b.fileName, `${b.fileName}.manifest.json`]);
    expect(sha256(await fs.readFile(path.join(remoteDir, b.fileName)))).toBe(b.sha256);
    expect(await readJson(path.join(remoteDir, `${b.fileName}.manifest.json`))).toEqual(b.manifest);
    const entry = await ledgerOf('globex', '2026-11-23');
    expect(entry).toMatchObject({ state: 'delivered', target: `sftp://${sshd.user}@127.0.0.1:${sshd.port}` });
    expect(entry.files.map((f) => [f.role, f.state, f.how, f.sha256])).toEqual([
      ['data', 'delivered', 'uploaded', b.sha256],
      ['manifest', 'delivered', 'uploaded', expect.stringMatching(/^[0-9a-f]{64}$/)],
    ]);
    const manifestAt = Date.parse(entry.files[1]!.deliveredAt!);
    expect(manifestAt).toBeGreaterThanOrEqual(Date.parse(entry.files[0]!.deliveredAt!));
    const keyBody = sshd.userPrivateKey.split('\n')[1]!;
    expect(lines.join('')).not.toContain(keyBody);
    expect(lines.some((l) => l.includes('"msg":"delivered globex_2026-11-23.tsv.gz to globex"'))).toBe(true);
  });

  it('delivers the same bytes with one write request at a time (writeWindowBytes 0, for servers that need it)', async () => {
    const remoteDir = path.join(dir, 'remote', 'globex');
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23', approxBytes: 3_000_000 });
    const report = await deliverBatches(options([partner('globex', remoteDir)], { writeWindowBytes: 0 }));
    expect(report.delivered).toHaveLength(1);
    expect(sha256(await fs.readFile(path.join(remoteDir, b.fileName)))).toBe(b.sha256);
  });

  it('never shows a partial file under the final name while an upload is under way', async () => {
    const remoteDir = path.join(dir, 'remote', 'globex');
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23', approxBytes: 4_000_000 });
    let running = true;
    const sawPartial: number[] = [];
    const finalSizes: number[] = [];
    const look = async () => {
      for (const name of await listDir(remoteDir)) {
        const st = await fs.stat(path.join(remoteDir, name)).catch(() => undefined);
        if (!st) continue;
        if (name === b.fileName) finalSizes.push(st.size);
        else if (name.endsWith('.part') && st.size < b.content.length) sawPartial.push(st.size);
      }
    };
    const poller = (async () => {
      while (running) {
        await look();
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await deliverBatches(options([partner('globex', remoteDir)], { maxBytesPerSecond: 2_000_000 }));
    running = false;
    await poller;
    // The poller may stop between the rename and its next look: one last look sees the final name.
    await look();
    expect(sawPartial.length).toBeGreaterThan(0);
    expect(finalSizes.length).toBeGreaterThan(0);
    expect(new Set(finalSizes)).toEqual(new Set([b.content.length]));
    expect(sha256(await fs.readFile(path.join(remoteDir, b.fileName)))).toBe(b.sha256);
  });

  it('refuses a server whose host key differs from the pinned one, naming partner, host and both fingerprints', async () => {
    const remoteDir = path.join(dir, 'remote', 'globex');
    await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    const pinned = 'SHA256:489ZXyGoi2SQDD5/xiu/9dbO7OxZpwUBcEgwWPTsiFE';
    const metrics = new DelivererMetrics();
    const report = await deliverBatches(options([partner('globex', remoteDir, { hostKeySha256: pinned })], { metrics }));
    expect(report.delivered).toEqual([]);
    expect(report.pending).toHaveLength(1);
    const { kind, error } = report.pending[0]!;
    expect(kind).toBe('host-key');
    expect(error).toContain('partner globex');
    expect(error).toContain(`127.0.0.1:${sshd.port}`);
    expect(error).toContain(`presented host key ${sshd.hostKeySha256}`);
    expect(error).toContain(`pins ${pinned}`);
    expect(await listDir(remoteDir)).toEqual([]);
    expect((await ledgerOf('globex', '2026-11-23')).files[0]).toMatchObject({ state: 'pending', lastError: error });
    // Not retried: the key will not change by waiting.
    expect(await metrics.registry.metrics()).toMatch(/courier_deliver_failures_total\{partner="globex",kind="host-key"\} 1\n/);
  });

  it('keeps passwords and keys out of errors and logs when the login is refused', async () => {
    const remoteDir = path.join(dir, 'remote', 'globex');
    await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    const password = 'hunter2-Correct-Horse';
    const { logger, lines } = capturedLogger();
    const p = partner('globex', remoteDir, { privateKey: undefined, password: new SecretValue(password) });
    logger.info({ partner: p }, 'settings as a careless caller might log them');
    const report = await deliverBatches(options([p], { logger }));
    expect(report.pending[0]).toMatchObject({ kind: 'auth', error: expect.stringContaining(`refused the login of user ${sshd.user}`) });
    const everything = JSON.stringify(report) + lines.join('') + (await fs.readFile(path.join(dir, 'store', '_deliveries', 'ledger', 'globex', 'dt=2026-11-23.json'), 'utf8'));
    expect(everything).not.toContain(password);
    expect(lines.join('')).toContain('"password":"<secret>"');
  });

  it('retries a connection dropped mid-upload (sshd stopped and restarted) and completes the file from the start', async () => {
    const remoteDir = path.join(dir, 'remote', 'globex');
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23', approxBytes: 3_000_000 });
    const metrics = new DelivererMetrics();
    // A 4 s upload: room for a loaded box to see it start and stop sshd before its end (at about 1 s, a run
    // under load dropped the connection only after the upload, during the rename).
    const delivery = deliverBatches(options([partner('globex', remoteDir)], { metrics, maxBytesPerSecond: Math.ceil(b.content.length / 4) }));
    await waitFor(async () => {
      for (const name of await parts(remoteDir)) if ((await fs.stat(path.join(remoteDir, name))).size > 0) return true;
      return undefined;
    }, 'the upload to start');
    await sshd.stop();
    await new Promise((r) => setTimeout(r, 700));
    await sshd.start();
    const report = await delivery;
    expect(report.pending).toEqual([]);
    expect((await listDir(remoteDir)).sort()).toEqual([b.fileName, `${b.fileName}.manifest.json`]);
    expect(sha256(await fs.readFile(path.join(remoteDir, b.fileName)))).toBe(b.sha256);
    const entry = await ledgerOf('globex', '2026-11-23');
    expect(entry.files[0]!.attempts).toBeGreaterThanOrEqual(2);
    expect(await metrics.registry.metrics()).toMatch(/courier_deliver_retries_total\{partner="globex"\} [1-9]/);
  });

  it('neither loses nor doubles a file when the deliverer is killed with SIGKILL mid-upload and started again', async () => {
    const remoteDir = path.join(dir, 'remote', 'globex');
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23', approxBytes: 3_000_000 });
    const args = {
      root,
      partner: 'globex',
      remoteDir,
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      keyPath: sshd.userKeyPath,
      hostKeySha256: sshd.hostKeySha256,
      maxBytesPerSecond: Math.ceil(b.content.length / 4), // a 4 s upload: the kill lands mid-upload even on a loaded box
    };
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'deliver-child.ts'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      await waitFor(async () => {
        for (const name of await parts(remoteDir)) if ((await fs.stat(path.join(remoteDir, name))).size > 0) return true;
        return undefined;
      }, `the child's upload to start (child output: ${output})`, 30_000);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    const killed = await ledgerOf('globex', '2026-11-23');
    expect(killed.files[0]).toMatchObject({ state: 'uploading', attempts: 1 });
    expect(await parts(remoteDir)).toHaveLength(1);
    expect(await listDir(remoteDir)).not.toContain(b.fileName);

    const report = await deliverBatches(options([partner('globex', remoteDir)]));
    expect(report.delivered).toHaveLength(1);
    expect((await listDir(remoteDir)).sort()).toEqual([b.fileName, `${b.fileName}.manifest.json`]);
    expect(sha256(await fs.readFile(path.join(remoteDir, b.fileName)))).toBe(b.sha256);
    expect((await ledgerOf('globex', '2026-11-23')).files[0]).toMatchObject({ state: 'delivered', how: 'uploaded', attempts: 2 });
    expect(await deliverBatches(options([partner('globex', remoteDir)]))).toMatchObject({ delivered: [], alreadyDelivered: 1 });
  });

  describe('remote disks that refuse writes (tmpfs mounts: needs root, as CI runs)', () => {
    const mounts: string[] = [];
    const mountTmpfs = async (at: string, size: string) => {
      if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs to play a full or read-only remote disk: run it as root (CI does)');
      await fs.mkdir(at, { recursive: true });
      await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at]);
      mounts.push(at);
    };
    afterEach(async () => {
      for (const at of mounts.splice(0)) await run('umount', [at]).catch(() => undefined);
    });

    it('reports a full remote disk, keeps the file pending and delivers the other partners', async () => {
      const full = path.join(dir, 'remote', 'full');
      await mountTmpfs(full, '1m');
      const other = path.join(dir, 'remote', 'initech');
      const a = await writeBatch(root, { partner: 'globex', period: '2026-11-23', approxBytes: 3_000_000 });
      const c = await writeBatch(root, { partner: 'initech', period: '2026-11-23' });
      const report = await deliverBatches(options([partner('globex', full), partner('initech', other)]));
      expect(report.delivered.map((d) => d.partner)).toEqual(['initech']);
      expect(sha256(await fs.readFile(path.join(other, c.fileName)))).toBe(c.sha256);
      expect(report.pending).toEqual([
        expect.objectContaining({ partner: 'globex', dataset: a.path, kind: 'remote-storage', error: expect.stringMatching(/remote disk of .* is full.*stays pending/) }),
      ]);
      expect(await listDir(full)).toEqual([]); // the partial temporary file was removed, freeing the partner's disk
      expect((await ledgerOf('globex', '2026-11-23')).state).toBe('pending');
    });

    it('reports a read-only remote file system and keeps the file pending', async () => {
      const ro = path.join(dir, 'remote', 'ro');
      await mountTmpfs(ro, '4m');
      await run('mount', ['-o', 'remount,ro', ro]);
      await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
      const report = await deliverBatches(options([partner('globex', ro)]));
      expect(report.pending).toEqual([expect.objectContaining({ kind: 'remote-storage', error: expect.stringMatching(/read-only/) })]);
      expect((await ledgerOf('globex', '2026-11-23')).files[0]).toMatchObject({ state: expect.stringMatching(/pending|uploading/), lastError: expect.stringMatching(/read-only/) });
    });
  });
});
