// The deliverer against a file:// target (a local directory standing in for the partner's server): discovery,
// ledger, manifest last, reconcile of interrupted runs, conflicts, header adding and the spool's disk check.
// The SFTP path is proven against a real sshd in sftp-delivery.test.ts.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliverBatches, watchBatches, DelivererMetrics, DeliveryLedger, type DelivererOptions, type FilePartner, type LedgerEntry } from '../../../deliverer/file/index.ts';
import { capturedLogger, readJson, sha256, tempStore, writeBatch } from './batch-fixtures.ts';
import { newEntryFor } from './ledger-fixtures.ts';

let dir: string;
let root: string;
let outbox: string;

beforeEach(async () => {
  ({ dir, root } = await tempStore('courier-deliver-local-'));
  outbox = path.join(dir, 'outbox');
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const partner = (name: string, extra: Partial<FilePartner> = {}): FilePartner => ({
  id: 42,
  name,
  target: { kind: 'local', dirUri: pathToFileURL(outbox).href },
  remoteDir: `/incoming/${name}`,
  header: ['#partner=${PARTNER_NAME} date=${DATE}', '#rows=${ROWS}'],
  maxConnections: 2,
  ...extra,
});
const options = (partners: FilePartner[], extra: Partial<DelivererOptions> = {}): DelivererOptions => ({
  storageRoot: root,
  partners,
  logger: capturedLogger().logger,
  spoolDir: path.join(dir, 'spool'),
  retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
  ...extra,
});
const remote = (...parts: string[]) => path.join(outbox, 'incoming', ...parts);
const ledgerFile = (p: string, period: string) => path.join(dir, 'store', '_deliveries', 'ledger', p, `dt=${period}.json`);

describe('file deliverer, local target', () => {
  it('delivers each complete dataset once, manifest included, and records it in the ledger', async () => {
    const a = await writeBatch(root, { partner: 'globex', period: '2026-11-22' });
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    // An unfinished dataset (no _SUCCESS) is not touched.
    await fs.mkdir(path.join(dir, 'store', 'batch', 'globex', 'dt=2026-11-24'), { recursive: true });
    await fs.writeFile(path.join(dir, 'store', 'batch', 'globex', 'dt=2026-11-24', 'globex_2026-11-24.tsv.gz'), 'partial');

    const metrics = new DelivererMetrics();
    const report = await deliverBatches(options([partner('globex')], { metrics }));
    expect(report.pending).toEqual([]);
    expect(report.delivered.map((d) => d.dataset).sort()).toEqual([a.path, b.path]);
    expect((await fs.readdir(remote('globex'))).sort()).toEqual([
      'globex_2026-11-22.tsv.gz',
      'globex_2026-11-22.tsv.gz.manifest.json',
      'globex_2026-11-23.tsv.gz',
      'globex_2026-11-23.tsv.gz.manifest.json',
    ]);
    expect(sha256(await fs.readFile(remote('globex', a.fileName)))).toBe(a.sha256);
    expect(await readJson(remote('globex', `${b.fileName}.manifest.json`))).toEqual(b.manifest);

    const entry = await readJson<LedgerEntry>(ledgerFile('globex', '2026-11-23'));
    expect(entry).toMatchObject({ format: 'courier-delivery-ledger/1', partner: 'globex', dataset: b.path, period: '2026-11-23', state: 'delivered', target: pathToFileURL(outbox).href });
    expect(entry.files.map((f) => [f.name, f.role, f.state, f.how, f.remotePath, f.attempts])).toEqual([
      [b.fileName, 'data', 'delivered', 'uploaded', `/incoming/globex/${b.fileName}`, 1],
      [`${b.fileName}.manifest.json`, 'manifest', 'delivered', 'uploaded', `/incoming/globex/${b.fileName}.manifest.json`, 1],
    ]);
    expect(entry.files[0]?.sha256).toBe(b.sha256);
    expect(Date.parse(entry.files[1]!.deliveredAt!)).toBeGreaterThanOrEqual(Date.parse(entry.files[0]!.deliveredAt!));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/courier_deliver_files_total\{partner="globex",role="data",how="uploaded"\} 2/);
    expect(text).toMatch(/courier_deliver_pending_datasets\{partner="globex"\} 0/);

    const again = await deliverBatches(options([partner('globex')]));
    expect(again).toMatchObject({ delivered: [], pending: [], alreadyDelivered: 2 });
  });

  it('refuses a second deliverer on the same store while one watches it, naming it; a pass runs once the watcher stops', async () => {
    await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    const controller = new AbortController();
    let passed!: () => void;
    const firstPass = new Promise<void>((resolve) => (passed = resolve));
    const watcher = watchBatches({ ...options([partner('globex')]), intervalMs: 20, signal: controller.signal, onPass: () => passed() });
    await firstPass;
    await expect(deliverBatches(options([partner('globex')]))).rejects.toThrow(
      new RegExp(`_deliveries: the file deliverer cannot start: the file deliverer \\(pid ${process.pid} on .*\\) holds this store's lock \\(run one per storage root`),
    );
    controller.abort();
    await watcher;
    const report = await deliverBatches(options([partner('globex')]));
    expect(report).toMatchObject({ delivered: [], pending: [], alreadyDelivered: 1 });
    // The lock is not taken for a ledger entry by `courier deliveries`.
    expect((await new DeliveryLedger(root).list()).map((e) => e.partner)).toEqual(['globex']);
  });

  it('lists partner directories that have no batch partner configured and delivers nothing for them', async () => {
    await writeBatch(root, { partner: 'stranger', period: '2026-11-23' });
    const report = await deliverBatches(options([partner('globex')]));
    expect(report.unconfigured).toEqual(['stranger']);
    expect(report.delivered).toEqual([]);
  });

  it('finishes the rename of a run killed after its upload was verified, without sending a second copy', async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    await deliverBatches(options([partner('globex')]));
    // Rewind to "verified under the temporary name, killed before the rename".
    const entry = await readJson<LedgerEntry>(ledgerFile('globex', '2026-11-23'));
    const data = entry.files[0]!;
    const tempPath = `/incoming/globex/.${b.fileName}.0badc0de.part`;
    await fs.rename(remote('globex', b.fileName), remote('globex', path.basename(tempPath)));
    await fs.rm(remote('globex', `${b.fileName}.manifest.json`));
    Object.assign(data, { state: 'renaming', tempPath, how: undefined });
    Object.assign(entry.files[1]!, { state: 'pending', how: undefined });
    entry.state = 'pending';
    await fs.writeFile(ledgerFile('globex', '2026-11-23'), JSON.stringify(entry));
    const before = await fs.stat(remote('globex', path.basename(tempPath)));

    const report = await deliverBatches(options([partner('globex')]));
    expect(report.delivered[0]?.files.map((f) => f.how)).toEqual(['reconciled', 'uploaded']);
    expect((await fs.readdir(remote('globex'))).sort()).toEqual([b.fileName, `${b.fileName}.manifest.json`]);
    // The same inode: renamed, not uploaded again.
    expect((await fs.stat(remote('globex', b.fileName))).ino).toBe(before.ino);
  });

  it('counts a rename that happened before the crash as delivered, also when the partner already took the file', async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    await deliverBatches(options([partner('globex')]));
    const entry = await readJson<LedgerEntry>(ledgerFile('globex', '2026-11-23'));
    Object.assign(entry.files[0]!, { state: 'renaming', tempPath: `/incoming/globex/.${b.fileName}.0badc0de.part`, how: undefined });
    entry.state = 'pending';
    await fs.writeFile(ledgerFile('globex', '2026-11-23'), JSON.stringify(entry));
    await fs.rm(remote('globex', b.fileName)); // picked up and moved away by the partner

    const report = await deliverBatches(options([partner('globex')]));
    expect(report.delivered[0]?.files.map((f) => f.how)).toEqual(['reconciled', 'uploaded']);
    expect(await fs.readdir(remote('globex'))).toEqual([`${b.fileName}.manifest.json`]);
  });

  it('sweeps a partial upload of a killed run and sends the file again from the first byte', async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    await fs.mkdir(remote('globex'), { recursive: true });
    const stale = `.${b.fileName}.1234abcd.part`;
    await fs.writeFile(remote('globex', stale), b.content.subarray(0, 100));
    const ledger = new DeliveryLedger(root);
    await ledger.write(newEntryFor(b, 'globex', { state: 'uploading', tempPath: `/incoming/globex/${stale}`, attempts: 1 }));

    const report = await deliverBatches(options([partner('globex')]));
    expect(report.delivered).toHaveLength(1);
    expect((await fs.readdir(remote('globex'))).sort()).toEqual([b.fileName, `${b.fileName}.manifest.json`]);
    expect(sha256(await fs.readFile(remote('globex', b.fileName)))).toBe(b.sha256);
    expect((await readJson<LedgerEntry>(ledgerFile('globex', '2026-11-23'))).files[0]?.attempts).toBe(2);
  });

  it("never overwrites a partner's file with other content; identical bytes count as delivered", async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    await fs.mkdir(remote('globex'), { recursive: true });
    await fs.writeFile(remote('globex', b.fileName), 'the partner wrote this');
    const report = await deliverBatches(options([partner('globex')]));
    expect(report.pending).toEqual([expect.objectContaining({ partner: 'globex', kind: 'conflict', error: expect.stringMatching(/already exists \(22 bytes\) with other content.*never overwrites/) })]);
    expect(await fs.readFile(remote('globex', b.fileName), 'utf8')).toBe('the partner wrote this');

    await fs.writeFile(remote('globex', b.fileName), b.content);
    const retry = await deliverBatches(options([partner('globex')]));
    expect(retry.delivered[0]?.files.map((f) => f.how)).toEqual(['found-on-remote', 'uploaded']);
  });

  it('adds the template header only when the manifest says the producer wrote none, and describes the file as sent', async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23', headerLines: 0, text: 'u1\tGX-AUTO\nu2\tGX-1\n' });
    const report = await deliverBatches(options([partner('globex')]));
    expect(report.pending).toEqual([]);
    const sent = await fs.readFile(remote('globex', b.fileName));
    expect(gunzipSync(sent).toString()).toBe('#partner=globex date=2026-11-23\n#rows=2\nu1\tGX-AUTO\nu2\tGX-1\n');
    const manifest = await readJson(remote('globex', `${b.fileName}.manifest.json`));
    expect(manifest).toMatchObject({ headerLines: 2, bytes: sent.length, sha256: sha256(sent), rows: 2 });
    const entry = await readJson<LedgerEntry>(ledgerFile('globex', '2026-11-23'));
    expect(entry.files[0]).toMatchObject({ bytes: sent.length, sha256: sha256(sent) });
    // The spool copy is gone.
    expect(await fs.readdir(path.join(dir, 'spool'))).toEqual([]);

    // A file whose manifest counts header lines goes as it is.
    const c = await writeBatch(root, { partner: 'globex', period: '2026-11-24', headerLines: 2 });
    await deliverBatches(options([partner('globex')]));
    expect(sha256(await fs.readFile(remote('globex', c.fileName)))).toBe(c.sha256);
  });

  it('checks the spool disk has room before copying and leaves the dataset pending when it has not', async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    const report = await deliverBatches(options([partner('globex')], { spool: 'always', reserveBytes: 2 ** 60 }));
    expect(report.pending).toEqual([
      expect.objectContaining({ kind: 'local', dataset: b.path, error: expect.stringMatching(/spool directory .* MiB free; copying .* needs .* MiB.*--spool-dir/) }),
    ]);
    expect(await fs.readdir(remote('globex')).catch(() => [])).toEqual([]);
    const ok = await deliverBatches(options([partner('globex')], { spool: 'always' }));
    expect(ok.delivered).toHaveLength(1);
    expect(sha256(await fs.readFile(remote('globex', b.fileName)))).toBe(b.sha256);
  });

  it('refuses a stored file that no longer matches its _SUCCESS marker and removes the temporary upload', async () => {
    const b = await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    const stored = path.join(dir, 'store', b.path, b.fileName);
    const bytes = await fs.readFile(stored);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 20) ^ 0xff, bytes.length - 20);
    await fs.writeFile(stored, bytes);
    const report = await deliverBatches(options([partner('globex')]));
    expect(report.pending).toEqual([expect.objectContaining({ kind: 'local', error: expect.stringMatching(/does not match|but its _SUCCESS marker lists/) })]);
    expect(await fs.readdir(remote('globex'))).toEqual([]);
  });

  it('reports a dataset re-written after delivery instead of sending the period twice', async () => {
    await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    await deliverBatches(options([partner('globex')]));
    await writeBatch(root, { partner: 'globex', period: '2026-11-23' });
    const report = await deliverBatches(options([partner('globex')]));
    expect(report.delivered).toEqual([]);
    expect(report.problems).toEqual([
      { path: 'batch/globex/dt=2026-11-23', message: expect.stringMatching(/re-written after it was delivered to globex.*delete _deliveries\/ledger\/globex\/dt=2026-11-23.json/) },
    ]);
  });

  it('uploads datasets of one partner over at most maxConnections connections at once, partners in parallel', async () => {
    for (const day of ['2026-11-20', '2026-11-21', '2026-11-22']) {
      await writeBatch(root, { partner: 'globex', period: day, approxBytes: 1_500_000 });
      await writeBatch(root, { partner: 'initech', period: day, approxBytes: 1_500_000 });
    }
    const seen = { globex: 0, initech: 0, both: false };
    let running = true;
    const watcher = (async () => {
      while (running) {
        const parts = (p: string) => fs.readdir(remote(p)).then((n) => n.filter((f) => f.endsWith('.part')).length, () => 0);
        const [g, i] = await Promise.all([parts('globex'), parts('initech')]);
        seen.globex = Math.max(seen.globex, g);
        seen.initech = Math.max(seen.initech, i);
        if (g > 0 && i > 0) seen.both = true;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const report = await deliverBatches(
      options([partner('globex', { maxConnections: 2 }), partner('initech', { maxConnections: 1 })], { maxBytesPerSecond: 3_000_000 }),
    );
    running = false;
    await watcher;
    expect(report.delivered).toHaveLength(6);
    expect(seen).toEqual({ globex: 2, initech: 1, both: true });
  });
});
