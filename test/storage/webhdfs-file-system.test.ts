/**
 * The webhdfs:// file system against the stand-in cluster of test/support/webhdfs-server.ts, which follows the
 * WebHDFS REST API document (no Hadoop runs here): redirects, offsets and lengths, overwrite rules, rename of a
 * directory, delete, mkdirs, content summary, RemoteException bodies, retries and auth.
 */
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { configureWebHdfs, fileSystemFor, StorageError, WebHdfsFileSystem, type RetryEvent, type WebHdfsFileSystemOptions } from '../../storage/index.ts';
import { startWebHdfsServer, type WebHdfsServerOptions, type WebHdfsTestServer } from '../support/webhdfs-server.ts';
import { freePort } from '../support/system-binaries.ts';

let server: WebHdfsTestServer;
let client: WebHdfsFileSystem;
let base: string;
const opened: WebHdfsFileSystem[] = [];

async function start(options: WebHdfsServerOptions = {}): Promise<void> {
  server = await startWebHdfsServer(options);
  base = `webhdfs://${server.authority}/courier`;
}

function connect(options: WebHdfsFileSystemOptions = { user: 'courier' }): WebHdfsFileSystem {
  const fs = new WebHdfsFileSystem(server.authority, { retryDelayMs: 5, retryMaxDelayMs: 40, ...options });
  opened.push(fs);
  return fs;
}

async function caught(p: Promise<unknown>): Promise<StorageError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StorageError);
  return e as StorageError;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

afterEach(async () => {
  for (const fs of opened.splice(0)) await fs.close();
  await server?.close();
});

describe('WebHDFS file system (stand-in cluster built to the REST API document)', () => {
  beforeEach(async () => {
    await start();
    server.seedDirectory('/courier', 'courier');
    client = connect();
  });

  it('writes with two-step CREATE: the namenode answers 307 without data, the bytes go to the datanode, which answers 201', async () => {
    const written = await client.create(`${base}/a/b/hello.txt`, 'Hello, webhdfs user!');
    expect(written).toEqual({ uri: `${base}/a/b/hello.txt`, bytes: 20, sha256: sha('Hello, webhdfs user!') });
    expect(server.fileData('/courier/a/b/hello.txt')?.toString()).toBe('Hello, webhdfs user!');
    const creates = server.requests.filter((r) => r.op === 'CREATE');
    expect(creates.map((r) => [r.listener, r.method, r.status])).toEqual([
      ['namenode', 'PUT', 307],
      ['datanode', 'PUT', 201],
    ]);
    expect(creates[0]!.query).toMatchObject({ op: 'CREATE', overwrite: 'false', 'user.name': 'courier' });
    // The client sent the redirect's own URL: the namenode's parameters reached the datanode unchanged.
    expect(creates[1]!.query).toMatchObject({ op: 'CREATE', overwrite: 'false', 'user.name': 'courier', namenoderpcaddress: expect.any(String) });
    // Parents are made as WebHDFS CREATE makes them, owned by the writer; files get 644.
    expect(server.ownerOf('/courier/a/b')).toEqual({ owner: 'courier', permission: '755' });
    expect(server.ownerOf('/courier/a/b/hello.txt')).toEqual({ owner: 'courier', permission: '644' });
  });

  it('keeps the overwrite rule: overwrite=false on an existing file is FileAlreadyExistsException (403), overwrite=true replaces', async () => {
    await client.create(`${base}/x.txt`, 'first');
    const e = await caught(client.create(`${base}/x.txt`, 'second'));
    expect(e.uri).toBe(`${base}/x.txt`);
    expect(e.message).toContain('writing failed: HTTP 403 FileAlreadyExistsException: /courier/x.txt for client 127.0.0.1 already exists');
    expect(e.message).toMatch(/already exists; remove it or write under another name/);
    expect(server.fileData('/courier/x.txt')?.toString()).toBe('first');
    await client.create(`${base}/x.txt`, 'second', { overwrite: true });
    expect(server.fileData('/courier/x.txt')?.toString()).toBe('second');
    // A directory is never overwritten by a file.
    await client.mkdirs(`${base}/d`);
    const dir = await caught(client.create(`${base}/d`, 'z', { overwrite: true }));
    expect(dir.message).toContain('/courier/d already exists as a directory');
  });

  it('writeAtomic writes a temp name, renames it over the target, and leaves no temp file; streams are accepted', async () => {
    await client.writeAtomic(`${base}/m/_SUCCESS`, '{"rows":1}');
    const w = await client.writeAtomic(`${base}/m/_SUCCESS`, Readable.from([Buffer.from('{"rows":'), Buffer.from('2}')]));
    expect(w).toMatchObject({ bytes: 10, sha256: sha('{"rows":2}') });
    expect(server.fileData('/courier/m/_SUCCESS')?.toString()).toBe('{"rows":2}');
    expect(server.walk('/courier/m')).toEqual(['/courier/m/_SUCCESS']);
    const renames = server.requests.filter((r) => r.op === 'RENAME');
    expect(renames.length).toBe(2);
    expect(renames[0]!.path).toMatch(/^\/courier\/m\/\._SUCCESS\.tmp-[0-9a-f]{8}$/);
    expect(renames[0]!.query['destination']).toBe('/courier/m/_SUCCESS');
  });

  it('reads through the 307 to the datanode, with offset and length passed on', async () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    server.seedFile('/courier/data.bin', data, 'courier');
    expect(await client.readBytes(`${base}/data.bin`)).toEqual(data);
    const part: Buffer[] = [];
    for await (const c of await client.openRead(`${base}/data.bin`, { offset: 1000, length: 300 })) part.push(c as Buffer);
    expect(Buffer.concat(part)).toEqual(data.subarray(1000, 1300));
    const opens = server.requests.filter((r) => r.op === 'OPEN');
    expect(opens.map((r) => [r.listener, r.status])).toEqual([
      ['namenode', 307],
      ['datanode', 200],
      ['namenode', 307],
      ['datanode', 200],
    ]);
    expect(opens[2]!.query).toMatchObject({ offset: '1000', length: '300' });
    expect(opens[3]!.query).toMatchObject({ offset: '1000', length: '300' });
    // From an offset to the end, and a length past the end (the datanode stops at the file's end).
    const tail: Buffer[] = [];
    for await (const c of await client.openRead(`${base}/data.bin`, { offset: 4990, length: 100 })) tail.push(c as Buffer);
    expect(Buffer.concat(tail)).toEqual(data.subarray(4990));
    // Past the end is the datanode's IOException (403); a missing file the namenode's FileNotFoundException (404).
    const past = await caught(client.openRead(`${base}/data.bin`, { offset: 6000 }));
    expect(past.message).toContain('opening for read failed: HTTP 403 IOException: Offset=6000 out of the range [0, 5000]');
    const e = await caught(client.readBytes(`${base}/missing.bin`));
    expect(e.message).toContain('opening for read failed: HTTP 404 FileNotFoundException: File does not exist: /courier/missing.bin');
    expect(e.message).toMatch(/check storage.root and the dataset path/);
  });

  it('appends with two-step APPEND (POST 307, then POST to the datanode, 200); appending to a missing file names it', async () => {
    await client.create(`${base}/log.txt`, 'one\n');
    expect(await client.append(`${base}/log.txt`, 'two\n')).toEqual({ bytes: 4 });
    expect(server.fileData('/courier/log.txt')?.toString()).toBe('one\ntwo\n');
    expect(server.requests.filter((r) => r.op === 'APPEND').map((r) => [r.listener, r.method, r.status])).toEqual([
      ['namenode', 'POST', 307],
      ['datanode', 'POST', 200],
    ]);
    const e = await caught(client.append(`${base}/nope.txt`, 'x'));
    expect(e.uri).toBe(`${base}/nope.txt`);
    expect(e.message).toContain('appending failed: HTTP 404 FileNotFoundException');
  });

  it('renames a directory with everything below it, and refuses what HDFS would do differently from file://', async () => {
    await client.create(`${base}/_tmp.ds/dt=1/part-0.parquet`, 'p0');
    await client.create(`${base}/_tmp.ds/dt=2/part-0.parquet`, 'p1');
    await client.rename(`${base}/_tmp.ds`, `${base}/out/ds`);
    expect(server.walk('/courier')).toEqual([
      '/courier/out/',
      '/courier/out/ds/',
      '/courier/out/ds/dt=1/',
      '/courier/out/ds/dt=1/part-0.parquet',
      '/courier/out/ds/dt=2/',
      '/courier/out/ds/dt=2/part-0.parquet',
    ]);
    // HDFS would move the source *into* an existing directory: refused instead, naming what to do.
    await client.mkdirs(`${base}/other`);
    const intoDir = await caught(client.rename(`${base}/out/ds`, `${base}/other`));
    expect(intoDir.message).toMatch(/the target exists as a directory/);
    expect(server.walk('/courier/other')).toEqual([]);
    // A file over a file replaces it (HDFS answers false there).
    await client.create(`${base}/f1`, 'new');
    await client.create(`${base}/f2`, 'old');
    await client.rename(`${base}/f1`, `${base}/f2`);
    expect(server.fileData('/courier/f2')?.toString()).toBe('new');
    expect(server.fileData('/courier/f1')).toBeUndefined();
    const missing = await caught(client.rename(`${base}/gone`, `${base}/f3`));
    expect(missing.uri).toBe(`${base}/gone`);
    expect(missing.message).toMatch(/the source does not exist/);
    // The namenode answered {"boolean": false} for a missing source; RENAME itself never failed with an exception.
    expect(server.requests.filter((r) => r.op === 'RENAME').every((r) => r.status === 200)).toBe(true);
  });

  it('deletes recursively; a non-empty directory without recursive is PathIsNotEmptyDirectoryException; a missing path is fine', async () => {
    await client.create(`${base}/t/a/1`, '1');
    await client.create(`${base}/t/b`, '2');
    const e = await caught(client.delete(`${base}/t`));
    expect(e.message).toContain('deleting failed: HTTP 403 PathIsNotEmptyDirectoryException');
    expect(e.message).toMatch(/delete it recursively/);
    await client.delete(`${base}/t/b`);
    expect(server.walk('/courier/t')).toEqual(['/courier/t/a/', '/courier/t/a/1']);
    await client.delete(`${base}/t`, { recursive: true });
    expect(await client.exists(`${base}/t`)).toBe(false);
    await client.delete(`${base}/never-there`, { recursive: true });
  });

  it('makes directories (mkdir -p, 755) and lists and stats them; a file in the way is named', async () => {
    await client.mkdirs(`${base}/p/q/r`);
    await client.mkdirs(`${base}/p/q/r`);
    expect(server.ownerOf('/courier/p/q/r')).toEqual({ owner: 'courier', permission: '755' });
    await client.create(`${base}/p/file`, 'abc');
    const flat = await client.list(`${base}/p`);
    expect(flat.map((e) => [e.name, e.isDirectory, e.size])).toEqual([
      ['file', false, 3],
      ['q', true, 0],
    ]);
    expect((await client.list(`${base}/p`, { recursive: true })).map((e) => e.uri)).toEqual([`${base}/p/file`, `${base}/p/q`, `${base}/p/q/r`]);
    expect(await client.list(`${base}/none`)).toEqual([]);
    const st = await client.stat(`${base}/p/file`);
    expect(st).toMatchObject({ uri: `${base}/p/file`, name: 'file', isDirectory: false, size: 3 });
    expect(st!.modifiedMs).toBeGreaterThan(0);
    expect(await client.stat(`${base}/p/none`)).toBeUndefined();
    const blocked = await caught(client.mkdirs(`${base}/p/file/sub`));
    expect(blocked.message).toContain('ParentNotDirectoryException: Parent path is not a directory: /courier/p/file');
    expect(blocked.message).toMatch(/a parent of this path is a file/);
    const listFile = await caught(client.list(`${base}/p/file`));
    expect(listFile.message).toMatch(/it is a file, not a directory/);
  });

  it('summarises a directory with GETCONTENTSUMMARY', async () => {
    await client.create(`${base}/s/a/1`, '12345');
    await client.create(`${base}/s/b/2`, '123');
    await client.create(`${base}/s/3`, '1');
    expect(await client.contentSummary(`${base}/s`)).toMatchObject({ directoryCount: 3, fileCount: 3, length: 9, quota: -1, spaceQuota: -1 });
    const e = await caught(client.contentSummary(`${base}/nothing`));
    expect(e.message).toContain('summarising failed: HTTP 404 FileNotFoundException');
  });

  it('turns AccessControlException into an error naming the path, the user and what to check', async () => {
    server.seedDirectory('/locked', 'alice', '755');
    const e = await caught(client.create(`webhdfs://${server.authority}/locked/x`, 'x'));
    expect(e.uri).toBe(`webhdfs://${server.authority}/locked/x`);
    expect(e.message).toContain('HTTP 403 AccessControlException: Permission denied: user=courier, access=WRITE, inode="/locked":alice:supergroup:drwxr-xr-x');
    expect(e.message).toMatch(/check the owner and mode of the path \(hdfs dfs -ls\) and storage.webhdfs.user/);
    const list = await caught(client.mkdirs(`webhdfs://${server.authority}/locked/y`));
    expect(list.message).toContain('creating the directory failed: HTTP 403 AccessControlException');
  });

  it('turns a bad parameter into IllegalArgumentException (400) and a non-WebHDFS answer into a plain status', async () => {
    const e = await caught(client.openRead(`${base}/x`, { offset: -1 }));
    expect(e.message).toContain('HTTP 400 IllegalArgumentException: Invalid value for webhdfs parameter "offset"');
    expect(e.message).toMatch(/this is a Courier bug if the path is valid/);
  });

  it('passes a cluster with CSRF prevention on (dfs.webhdfs.rest-csrf.enabled): the X-XSRF-HEADER goes with every request', async () => {
    await server.close();
    await start({ restCsrf: true });
    server.seedDirectory('/courier', 'courier');
    const fs = connect();
    await fs.writeAtomic(`${base}/d/f`, 'x');
    await fs.append(`${base}/d/f`, 'y');
    await fs.delete(`${base}/d`, { recursive: true });
    expect(server.requests.filter((r) => r.method !== 'GET').every((r) => r.status !== 400)).toBe(true);
    // The stand-in does refuse a request without it.
    const res = await fetch(`http://${server.authority}/webhdfs/v1/courier/x?op=MKDIRS&user.name=courier`, { method: 'PUT' });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('Missing Required Header for CSRF Vulnerability Protection');
  });

  it('maps datanode names the client cannot resolve through datanodeAddresses', async () => {
    await server.close();
    await start({ datanodeAdvertisedHost: 'datanode-7.cluster.invalid' });
    server.seedDirectory('/courier', 'courier');
    const unmapped = connect({ user: 'courier', retries: 0 });
    const e = await caught(unmapped.create(`${base}/f`, 'x'));
    expect(e.message).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(e.message).toMatch(/map it in storage.webhdfs.datanodeAddresses \("datanode-7.cluster.invalid:\d+"/);
    const mapped = connect({ user: 'courier', datanodeAddresses: { [`datanode-7.cluster.invalid:${server.datanodePort}`]: `127.0.0.1:${server.datanodePort}` } });
    await mapped.create(`${base}/f`, 'x');
    expect(await mapped.readBytes(`${base}/f`)).toEqual(Buffer.from('x'));
  });

  it('keeps local copies within their budget, least recently used dropped first, never one handed out in the last 5 minutes', async () => {
    const small = connect({ user: 'courier', localCopyMb: 10 / (1024 * 1024) });
    for (const n of ['a', 'b', 'c']) await small.create(`${base}/${n}.parquet`, `PAR1-${n}-PAR1`);
    const a = await small.localPathFor(`${base}/a.parquet`);
    const b = await small.localPathFor(`${base}/b.parquet`);
    // Over budget, but both were handed out just now: a reader may be about to open them.
    expect(await fsp.readFile(a, 'utf8')).toBe('PAR1-a-PAR1');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      await small.localPathFor(`${base}/b.parquet`);
      const c = await small.localPathFor(`${base}/c.parquet`);
      await expect(fsp.stat(a)).rejects.toThrow(/ENOENT/);
      expect(await fsp.readFile(b, 'utf8')).toBe('PAR1-b-PAR1');
      expect(await fsp.readFile(c, 'utf8')).toBe('PAR1-c-PAR1');
    } finally {
      vi.useRealTimers();
    }
  });

  it('copies a file locally once per version for path readers, and uploads a local write on commit', async () => {
    // Copies left by a process that is gone (killed, so it never cleaned up) are swept by the next one.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const leftover = path.join(os.tmpdir(), `courier-webhdfs-${gone}`);
    await fsp.mkdir(path.join(leftover, 't0-x'), { recursive: true });
    await fsp.writeFile(path.join(leftover, 't0-x', 'old.parquet'), 'old');
    await client.create(`${base}/c.parquet`, 'PAR1....PAR1');
    const p1 = await client.localPathFor(`${base}/c.parquet`);
    const p2 = await client.localPathFor(`${base}/c.parquet`);
    expect(p2).toBe(p1);
    expect(await fsp.readFile(p1, 'utf8')).toBe('PAR1....PAR1');
    expect(p1.startsWith(path.join(os.tmpdir(), `courier-webhdfs-${process.pid}`, 't'))).toBe(true);
    await expect(fsp.stat(leftover)).rejects.toThrow(/ENOENT/);
    expect(server.requests.filter((r) => r.op === 'OPEN' && r.listener === 'datanode').length).toBe(1);
    await client.create(`${base}/c.parquet`, 'PAR1.changed.PAR1', { overwrite: true });
    expect(await fsp.readFile(await client.localPathFor(`${base}/c.parquet`), 'utf8')).toBe('PAR1.changed.PAR1');

    const out = await client.localFileForWrite(`${base}/w/part-0.parquet`);
    await fsp.writeFile(out.path, 'written by duckdb');
    expect(await client.exists(`${base}/w/part-0.parquet`)).toBe(false);
    expect(await out.commit()).toMatchObject({ bytes: 17, sha256: sha('written by duckdb') });
    expect(server.fileData('/courier/w/part-0.parquet')?.toString()).toBe('written by duckdb');
    await expect(fsp.stat(out.path)).rejects.toThrow();
  });
});

describe('WebHDFS retries with backoff (stand-in cluster faults)', () => {
  beforeEach(async () => {
    await start();
    server.seedDirectory('/courier', 'courier');
  });

  it('retries a reset connection and a 503 with growing, bounded delays, then succeeds', async () => {
    const events: RetryEvent[] = [];
    client = connect({ user: 'courier', retries: 4, retryDelayMs: 20, retryMaxDelayMs: 50, onRetry: (e) => events.push(e) });
    server.seedFile('/courier/f', 'data', 'courier');
    server.inject({ listener: 'namenode', op: 'GETFILESTATUS', fault: 'reset', times: 2 });
    server.inject({ listener: 'namenode', op: 'GETFILESTATUS', fault: 'unavailable', times: 2 });
    expect(await client.stat(`${base}/f`)).toMatchObject({ size: 4 });
    expect(server.pendingFaults()).toEqual([]);
    expect(events.map((e) => [e.attempt, e.doing])).toEqual([
      [1, 'stat'],
      [2, 'stat'],
      [3, 'stat'],
      [4, 'stat'],
    ]);
    expect(events.slice(0, 2).every((e) => /ECONNRESET|UND_ERR_SOCKET/.test(e.code))).toBe(true);
    expect(events.slice(2).map((e) => e.code)).toEqual(['HTTP 503', 'HTTP 503']);
    // Exponential with jitter: attempt n waits between half and all of min(max, base * 2^(n-1)).
    const steps = [20, 40, 50, 50];
    events.forEach((e, i) => {
      expect(e.delayMs).toBeGreaterThanOrEqual(steps[i]! / 2);
      expect(e.delayMs).toBeLessThanOrEqual(steps[i]!);
    });
  });

  it('retries RetriableException (a namenode in startup safe mode)', async () => {
    client = connect({ user: 'courier' });
    server.inject({ listener: 'namenode', op: 'MKDIRS', fault: 'retriable', times: 2 });
    await client.mkdirs(`${base}/later`);
    expect(await client.exists(`${base}/later`)).toBe(true);
  });

  it('gives up after the configured retries, naming the host, the attempts and what to check', async () => {
    client = connect({ user: 'courier', retries: 2 });
    server.inject({ listener: 'namenode', fault: 'reset', times: 100 });
    const started = Date.now();
    const e = await caught(client.stat(`${base}/f`));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.message).toMatch(new RegExp(`stat failed: (ECONNRESET|UND_ERR_SOCKET) talking to ${server.authority.replace(/\./g, '\\.')} \\(3 attempts\\)`));
    expect(e.message).toMatch(/check that the namenode \(and its datanodes\) are up and reachable/);
    expect(server.requests.length).toBe(3);
  });

  it('retries a refused connection (namenode down) and says so when it stays down', async () => {
    const port = await freePort();
    const down = new WebHdfsFileSystem(`127.0.0.1:${port}`, { user: 'courier', retries: 2, retryDelayMs: 5 });
    opened.push(down);
    const events: RetryEvent[] = [];
    const withEvents = new WebHdfsFileSystem(`127.0.0.1:${port}`, { user: 'courier', retries: 2, retryDelayMs: 5, onRetry: (ev) => events.push(ev) });
    opened.push(withEvents);
    const e = await caught(withEvents.list(`webhdfs://127.0.0.1:${port}/courier`));
    expect(e.message).toContain(`listing failed: ECONNREFUSED talking to 127.0.0.1:${port} (3 attempts)`);
    expect(events.map((ev) => ev.code)).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
    await expect(down.exists(`webhdfs://127.0.0.1:${port}/x`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('re-sends an upload that can be repeated (CREATE with overwrite from a buffer) when the datanode cuts it', async () => {
    client = connect({ user: 'courier' });
    server.inject({ listener: 'datanode', op: 'CREATE', fault: 'reset', times: 1 });
    await client.writeAtomic(`${base}/retry.txt`, 'payload');
    expect(server.fileData('/courier/retry.txt')?.toString()).toBe('payload');
    // Two step-1 requests to the namenode (it is asked for a datanode again), two step-2 requests to the datanode.
    expect(server.requests.filter((r) => r.op === 'CREATE').map((r) => [r.listener, r.status])).toEqual([
      ['namenode', 307],
      ['datanode', 'fault'],
      ['namenode', 307],
      ['datanode', 201],
    ]);
  });

  it('does not repeat a cut CREATE without overwrite or a cut APPEND (the bytes may have landed): it fails naming the path', async () => {
    client = connect({ user: 'courier' });
    server.inject({ listener: 'datanode', op: 'CREATE', fault: 'reset', times: 1 });
    const e = await caught(client.create(`${base}/once.txt`, 'x'));
    expect(e.uri).toBe(`${base}/once.txt`);
    expect(e.message).toMatch(/writing failed: (ECONNRESET|UND_ERR_SOCKET|EPIPE) talking to 127\.0\.0\.1:\d+ \(1 attempt\)/);
    await client.create(`${base}/app.txt`, 'a');
    server.inject({ listener: 'datanode', op: 'APPEND', fault: 'reset', times: 1 });
    const a = await caught(client.append(`${base}/app.txt`, 'b'));
    expect(a.message).toMatch(/appending failed: .* \(1 attempt\)/);
  });

  it('never sends a caller\'s stream twice: after a cut it fails, where a buffer would be re-sent', async () => {
    client = connect({ user: 'courier' });
    server.inject({ listener: 'datanode', op: 'CREATE', fault: 'reset', times: 1 });
    const e = await caught(client.writeAtomic(`${base}/stream.txt`, Readable.from([Buffer.from('part one, '), Buffer.from('part two')])));
    expect(e.uri).toBe(`${base}/stream.txt`);
    expect(e.message).toMatch(/writing failed: (ECONNRESET|UND_ERR_SOCKET|EPIPE) talking to 127\.0\.0\.1:\d+ \(1 attempt\)/);
    expect(await client.exists(`${base}/stream.txt`)).toBe(false);
    // The payload rule itself: a stream handed to one attempt is spent, even if that attempt sent nothing.
    const { payloadOf } = await import('../../storage/webhdfs-payload.ts');
    const stream = payloadOf(Readable.from([Buffer.from('x')]));
    expect(stream.canResend()).toBe(true);
    (stream.body() as Readable).destroy();
    expect(stream.canResend()).toBe(false);
    const buffer = payloadOf('x');
    buffer.body();
    expect(buffer.canResend()).toBe(true);
  });

  it('resumes a read cut mid-body from the byte reached (a new OPEN with that offset)', async () => {
    client = connect({ user: 'courier' });
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256));
    server.seedFile('/courier/big.bin', data, 'courier');
    server.inject({ listener: 'datanode', op: 'OPEN', fault: 'cut-body', times: 1 });
    expect((await client.readBytes(`${base}/big.bin`)).equals(data)).toBe(true);
    const dn = server.requests.filter((r) => r.op === 'OPEN' && r.listener === 'datanode');
    expect(dn.length).toBe(2);
    const resumedAt = Number(dn[1]!.query['offset']);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(100_000);
  });
});

describe('WebHDFS HA nameservice: failover between two namenodes (two stand-in namenodes)', () => {
  let second: WebHdfsTestServer;
  afterEach(async () => second?.close());

  it('goes to the active namenode of webhdfs://<nameservice>/, fails over on StandbyException and on a namenode that is down', async () => {
    await start({ haState: 'standby' });
    second = await startWebHdfsServer();
    // Each stand-in has its own tree: the one a request reached is the one that holds its file.
    server.seedFile('/courier/which', 'nn1', 'courier');
    second.seedFile('/courier/which', 'nn2', 'courier');
    const events: RetryEvent[] = [];
    const fs = new WebHdfsFileSystem('mycluster', { user: 'courier', retryDelayMs: 5, nameservices: { mycluster: [server.authority, second.authority] }, onRetry: (e) => events.push(e) });
    opened.push(fs);
    expect((await fs.readBytes('webhdfs://mycluster/courier/which')).toString()).toBe('nn2');
    // nn1 answered StandbyException once, and the client went straight to nn2 (no backoff wait), then stayed there.
    expect(server.requests.map((r) => [r.op, r.status])).toEqual([['OPEN', 403]]);
    expect(events).toEqual([]);
    expect((await fs.readBytes('webhdfs://mycluster/courier/which')).toString()).toBe('nn2');
    expect(server.requests.length).toBe(1);
    // Failover: nn2 becomes standby, nn1 active.
    second.setHaState('standby');
    server.setHaState('active');
    expect((await fs.readBytes('webhdfs://mycluster/courier/which')).toString()).toBe('nn1');
    // nn1 goes down: the next request finds nn2 active again.
    second.setHaState('active');
    await server.close();
    expect((await fs.readBytes('webhdfs://mycluster/courier/which')).toString()).toBe('nn2');
    // Both standby: bounded by the retries, and the error says what to do.
    second.setHaState('standby');
    const e = await caught(fs.stat('webhdfs://mycluster/courier/which'));
    expect(e.message).toMatch(/stat failed: (HTTP 403 StandbyException: Operation category READ is not supported in state standby|ECONNREFUSED)/);
  });
});

describe('WebHDFS auth: user.name (security off) and delegation tokens (security on)', () => {
  it('sends user.name; files are owned by that user; a cluster refusing anonymous users answers 401', async () => {
    await start({ auth: { security: 'off', anonymous: false } });
    server.seedDirectory('/courier', 'etl');
    client = connect({ user: 'etl' });
    await client.create(`${base}/by-etl`, 'x');
    expect(server.ownerOf('/courier/by-etl')?.owner).toBe('etl');
    const anonymous = connect({});
    const e = await caught(anonymous.stat(`${base}/by-etl`));
    expect(e.message).toContain('stat failed: HTTP 401');
    expect(e.message).toMatch(/Kerberos \(SPNEGO\).*delegation token/);
  });

  it('sends the delegation token on every request, the namenode passes it on in its redirects, and no user.name goes with it', async () => {
    await start({ auth: { security: 'on', tokens: { 'KAAHaGRmcw-token-1': 'svc-courier' } } });
    server.seedDirectory('/courier', 'svc-courier');
    client = connect({ delegationToken: 'KAAHaGRmcw-token-1' });
    await client.create(`${base}/t.txt`, 'secure');
    expect(await client.readBytes(`${base}/t.txt`)).toEqual(Buffer.from('secure'));
    expect(server.ownerOf('/courier/t.txt')?.owner).toBe('svc-courier');
    for (const r of server.requests) {
      expect(r.query['delegation']).toBe('KAAHaGRmcw-token-1');
      expect(r.query['user.name']).toBeUndefined();
    }
    expect(server.requests.some((r) => r.listener === 'datanode')).toBe(true);
  });

  it('names an unknown token (InvalidToken) and a missing one (the cluster wants SPNEGO)', async () => {
    await start({ auth: { security: 'on', tokens: { good: 'svc' } } });
    const bad = connect({ delegationToken: 'expired-token' });
    const e = await caught(bad.stat(`${base}`));
    expect(e.message).toContain('HTTP 403 InvalidToken');
    expect(e.message).toMatch(/fetch a new one \(the urlString of GETDELEGATIONTOKEN\)/);
    const none = connect({ user: 'courier' });
    const n = await caught(none.stat(`${base}`));
    expect(n.message).toContain('HTTP 401');
    expect(n.message).toMatch(/use a delegation token \(storage.webhdfs.delegationToken\)/);
  });

  it('fileSystemFor serves webhdfs:// with the settings of configureWebHdfs, made afresh when they change', async () => {
    await start({ auth: { security: 'on', tokens: { tok: 'svc' } } });
    server.seedDirectory('/courier', 'svc');
    configureWebHdfs({ delegationToken: 'tok', retries: 1 });
    try {
      const fs = fileSystemFor(`${base}/a`);
      await fs.writeAtomic(`${base}/a`, 'via fileSystemFor');
      expect(server.ownerOf('/courier/a')?.owner).toBe('svc');
      configureWebHdfs({ user: 'nobody', retries: 0 });
      expect(fileSystemFor(`${base}/a`)).not.toBe(fs);
      await expect(fileSystemFor(`${base}/a`).readBytes(`${base}/a`)).rejects.toThrow(/HTTP 401/);
      expect(() => configureWebHdfs({ user: 'a', delegationToken: 'b' })).toThrow(/not both/);
    } finally {
      configureWebHdfs({});
    }
  });
});
