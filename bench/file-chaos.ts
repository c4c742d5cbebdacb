/**
 * npm run chaos (second half): `courier deliver --watch` against a real OpenSSH sshd, SIGKILLed at random during
 * 200+ uploads while new days of batch files keep arriving in the store (written with the batch formatter's own
 * staging: data file, manifest, `_SUCCESS` last). Meanwhile a watcher looks at the remote directory as the partner
 * would: a file under its final name must be whole, and never replaced. At the end OpenSSH's own `sftp` client
 * lists and fetches what arrived; each file's sha256 is checked against its `_SUCCESS` marker; no partial or
 * temporary file may be left; the delivery ledger must match the remote side. One JSON line per figure; exit 1 on
 * any miss.
 *   tsx bench/file-chaos.ts [--days 120] [--partners 2] [--seed 1] [--kill-every-ms 800] [--max-minutes 15]
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { DeliveryLedger } from '../deliverer/file/index.ts';
import { fileSystemFor, joinUri, readMarker, toStorageUri } from '../storage/index.ts';
import { batchText, writeBatch } from '../test/deliverer/file/batch-fixtures.ts';
import { ensureBinary } from '../test/support/system-binaries.ts';
import { startSshd, type TestSshd } from '../test/support/sshd-server.ts';
import { startCourier, type CourierProcess } from '../test/system/streaming-fixtures.ts';
import { report } from './bench-report.ts';
import { seededRandom } from './seeded-random.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '120' },
    partners: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    'kill-every-ms': { type: 'string', default: '800' },
    'max-minutes': { type: 'string', default: '15' },
  },
});
const days = Number(args.days);
const partnerCount = Number(args.partners);
const killEveryMs = Number(args['kill-every-ms']);
let deadline = Date.now() + Number(args['max-minutes']) * 60_000;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (deadline = 0));

const random = seededRandom(Number(args.seed));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (message: string) => process.stderr.write(`file-chaos ${new Date().toISOString().slice(11, 19)} ${message}\n`);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const partners = Array.from({ length: partnerCount }, (_, i) => `partner${i + 1}`);
const periodOf = (d: number) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);

const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-file-chaos-'));
let sshd: TestSshd | undefined;
let deliverer: CourierProcess | undefined;
let stopping = false;
let exitCode = 1;
try {
  sshd = await startSshd();
  const sftp = await ensureBinary('sftp', 'openssh-client');
  const root = toStorageUri(path.join(dir, 'data'));
  const remoteOf = (p: string) => path.join(sshd!.dir, 'remote', p);
  const partnerYaml = partners
    .map(
      (name, i) => `  - id: ${101 + i}
    name: ${name}
    delivery: batch
    segmentMap: { 1: A }
    batch:
      sftp:
        host: 127.0.0.1
        port: ${sshd!.port}
        user: ${sshd!.user}
        privateKey: { file: ${sshd!.userKeyPath} }
        hostKeySha256: ${sshd!.hostKeySha256}
      remoteDir: ${remoteOf(name)}
      template:
        fields: [partner_user_id, segments]`,
    )
    .join('\n');
  await fsp.writeFile(path.join(dir, 'courier.yaml'), `storage:\n  root: ./data\npartners:\n${partnerYaml}\n`);
  for (const p of partners) await fsp.mkdir(remoteOf(p), { recursive: true });

  // The producer: a new day for every partner every 200-600 ms, files of 20 to 300 kB (most uploads take a while
  // at the rate cap below, so kills land mid-upload).
  const expected = new Map<string, { partner: string; dataset: string; file: string }>();
  let produced = 0;
  const producing = (async () => {
    for (let d = 0; d < days && !stopping; d++) {
      for (const partner of partners) {
        const approx = 20_000 + Math.floor(random() * 280_000);
        const b = await writeBatch(root, { partner, period: periodOf(d), text: batchText(Math.max(1, Math.round(approx / 50)), `${partner}${d}`) });
        expected.set(`${partner}/${b.fileName}`, { partner, dataset: b.path, file: b.fileName });
        produced++;
      }
      await sleep(200 + random() * 400);
    }
  })();

  // The partner's view while it runs: a final name is whole when it first shows, and never changes after.
  const firstSeen = new Map<string, { size: number; mtimeMs: number; ino: number; sha: string }>();
  const violations: string[] = [];
  let sawPartial = 0;
  const look = async () => {
    for (const partner of partners) {
      for (const name of await fsp.readdir(remoteOf(partner)).catch(() => [] as string[])) {
        const key = `${partner}/${name}`;
        if (name.endsWith('.part') || name.startsWith('.')) {
          sawPartial++;
          continue;
        }
        const st = await fsp.stat(path.join(remoteOf(partner), name)).catch(() => undefined);
        if (!st) continue;
        const seen = firstSeen.get(key);
        if (!seen) {
          const bytes = await fsp.readFile(path.join(remoteOf(partner), name)).catch(() => undefined);
          if (!bytes) continue;
          firstSeen.set(key, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha: sha256(bytes) });
        } else if (seen.ino !== st.ino || seen.mtimeMs !== st.mtimeMs || seen.size !== st.size) {
          violations.push(`${key} changed after it was first seen (delivered twice?)`);
          firstSeen.set(key, { ...seen, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
        }
      }
    }
  };
  const watching = (async () => {
    while (!stopping) {
      await look();
      await sleep(25);
    }
  })();

  let delivererStartedAt = 0;
  const startDeliverer = () => {
    delivererStartedAt = Date.now();
    deliverer = startCourier(['deliver', '--watch', '--interval', '0.5', '--limit-rate', '0.2'], dir);
    const p = deliverer;
    void p.exited.then((code) => {
      if (stopping || p !== deliverer || code === null || code === 0) return;
      log(`deliverer exited by itself (${code}): ${p.output().stderr.trim().split('\n').slice(-5).join(' | ')}`);
    });
  };
  startDeliverer();
  const started = Date.now();
  let kills = 0;
  const ledger = new DeliveryLedger(root);
  const deliveredCount = async () => (await ledger.list()).filter((e) => e.state === 'delivered').length;
  let nextKill = Date.now() + killEveryMs;
  const total = days * partners.length;
  while (Date.now() < deadline) {
    await sleep(50);
    const delivered = await deliveredCount().catch(() => 0);
    if (produced >= total && delivered >= total) break;
    // Kills land during uploads (a .part file at the partner), at random moments, until the last few datasets.
    if (Date.now() < nextKill || delivered >= total - 2) continue;
    // Only an upload of this deliverer: a .part written to since it started (a killed one's stay behind).
    let uploading = false;
    for (const p of partners) {
      for (const n of await fsp.readdir(remoteOf(p)).catch(() => [] as string[])) {
        if (!n.endsWith('.part')) continue;
        const st = await fsp.stat(path.join(remoteOf(p), n)).catch(() => undefined);
        if (st && st.mtimeMs > delivererStartedAt && st.size > 0) uploading = true;
      }
    }
    if (!uploading) continue;
    await sleep(random() * 300);
    deliverer!.child.kill('SIGKILL');
    await deliverer!.exited;
    kills++;
    startDeliverer();
    nextKill = Date.now() + killEveryMs * (0.5 + random());
  }
  const seconds = (Date.now() - started) / 1000;
  stopping = true;
  await producing;
  await watching;
  await look();
  deliverer!.child.kill('SIGTERM');
  await deliverer!.exited;
  log(`the last deliverer's stderr ends: ${deliverer!.output().stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 1500)}`);

  // OpenSSH's own client: list every partner directory and fetch its files.
  const fetched = path.join(dir, 'fetched');
  const sftpBatch = async (name: string, commands: string[]) => {
    const file = path.join(dir, name);
    await fsp.writeFile(file, commands.join('\n') + '\n');
    const sshOptions = ['-o', `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=accept-new', '-o', 'BatchMode=yes'];
    return (await run(sftp, ['-q', '-b', file, '-P', String(sshd!.port), '-i', sshd!.userKeyPath, ...sshOptions, `${sshd!.user}@127.0.0.1`], { maxBuffer: 64 << 20 })).stdout;
  };
  const listing = await sftpBatch('sftp-ls', partners.map((p) => `ls -1a ${remoteOf(p)}`));
  const listed = listing
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('sftp>'))
    .map((l) => path.basename(l))
    .filter((n) => n !== '.' && n !== '..');
  for (const p of partners) await fsp.mkdir(path.join(fetched, p), { recursive: true });
  await sftpBatch('sftp-get', partners.flatMap((p) => [`lcd ${path.join(fetched, p)}`, `get ${remoteOf(p)}/*`]));

  let verified = 0;
  const problems: string[] = [...violations];
  for (const [key, e] of expected) {
    const dataset = joinUri(root, e.dataset);
    const marker = await readMarker(fileSystemFor(dataset), dataset).catch(() => undefined);
    const remoteName = path.join(fetched, e.partner, e.file);
    const bytes = await fsp.readFile(remoteName).catch(() => undefined);
    const want = marker?.files.find((f) => f.path === e.file);
    if (!bytes) problems.push(`${key}: not at the partner`);
    else if (!want) problems.push(`${key}: no entry in its _SUCCESS marker`);
    else if (sha256(bytes) !== want.sha256 || bytes.length !== want.bytes) problems.push(`${key}: sha256/size differs from its _SUCCESS marker`);
    else if (!(await fsp.stat(path.join(fetched, e.partner, `${e.file}.manifest.json`)).catch(() => undefined))) problems.push(`${key}: manifest missing`);
    else verified++;
    const seen = firstSeen.get(key);
    if (seen && want && seen.sha !== want.sha256) problems.push(`${key}: was visible under its final name with other bytes (partial?)`);
  }
  const leftovers = listed.filter((n) => n.endsWith('.part') || n.startsWith('.'));
  for (const n of leftovers) problems.push(`temporary file left visible: ${n}`);
  const expectedNames = new Set([...expected.values()].flatMap((e) => [e.file, `${e.file}.manifest.json`]));
  for (const n of listed) if (!expectedNames.has(n) && !leftovers.includes(n)) problems.push(`unexpected remote file: ${n}`);

  // The ledger against the remote side: every delivered entry's files are there with its sha256, one entry a dataset.
  const entries = await ledger.list();
  let ledgerMatches = 0;
  for (const e of entries) {
    if (e.state !== 'delivered') {
      problems.push(`ledger: ${e.partner} ${e.dataset} still ${e.state}${e.lastError ? `: ${e.lastError}` : ''}`);
      continue;
    }
    let ok = true;
    for (const f of e.files) {
      const bytes = await fsp.readFile(path.join(fetched, e.partner, path.basename(f.remotePath))).catch(() => undefined);
      if (!bytes || sha256(bytes) !== f.sha256) {
        ok = false;
        problems.push(`ledger: ${f.remotePath} differs from the remote file`);
      }
    }
    if (ok) ledgerMatches++;
  }
  const attempts = entries.flatMap((e) => e.files.map((f) => f.attempts ?? 1));
  report({ bench: 'file-chaos', metric: 'batch files', value: expected.size, unit: 'files', uploads: 2 * expected.size, seconds, partners: partners.length, days });
  report({ bench: 'file-chaos', metric: 'verified at the partner (sftp get, sha256 = _SUCCESS)', value: verified, unit: 'files', goal: String(expected.size) });
  report({ bench: 'file-chaos', metric: 'deliverer SIGKILLs', value: kills, unit: 'kills during uploads', partialsSeenWhileRunning: sawPartial, largestAttempts: Math.max(0, ...attempts) });
  report({ bench: 'file-chaos', metric: 'ledger entries matching the remote side', value: ledgerMatches, unit: 'datasets', of: entries.length });
  report({ bench: 'file-chaos', metric: 'problems', value: problems.length, unit: 'problems', goal: '0', sample: problems.slice(0, 10) });
  exitCode = problems.length === 0 && verified === expected.size && kills >= 1 ? 0 : 1;
} finally {
  stopping = true;
  if (deliverer && deliverer.child.exitCode === null && deliverer.child.signalCode === null) deliverer.child.kill('SIGKILL');
  await sshd?.stop();
  await fsp.rm(dir, { recursive: true, force: true });
  if (sshd) await fsp.rm(sshd.dir, { recursive: true, force: true });
}
process.exit(exitCode);
