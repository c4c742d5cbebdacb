/**
 * webhdfs:// storage over the WebHDFS REST API (hadoop-hdfs WebHDFS.html), on undici. Reads and writes go
 * the way the document says: OPEN, CREATE and APPEND are sent to the namenode, which answers 307 with the
 * datanode to talk to; the data goes there. Errors carry the path and what to do; requests that got no
 * answer are retried with backoff. The npm `webhdfs` client is built on the dead `request` library, hence
 * this one.
 */
import * as fsp from 'node:fs/promises';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { isMainThread, threadId } from 'node:worker_threads';
import type { Agent, Dispatcher } from 'undici';
import type { FileEntry, FileSystem, LocalWrite, ReadRange, WriteSource, WrittenFile } from './file-system.ts';
import { StorageError } from './storage-error.ts';
import { baseName, parentUri } from './storage-uri.ts';
import type { WebHdfsOptions } from './webhdfs-options.ts';
import { filePayload, payloadOf, type UploadPayload } from './webhdfs-payload.ts';
import { connectionErrorCode, parseRemoteException, RETRIABLE_EXCEPTIONS, webHdfsAnswerError, webHdfsConnectionError } from './webhdfs-errors.ts';

/** One WebHDFS `FileStatus` object (the fields Courier reads). */
interface HdfsFileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  modificationTime: number;
}

/** A `ContentSummary` object: what is below a directory. */
export interface ContentSummary {
  directoryCount: number;
  fileCount: number;
  length: number;
  quota: number;
  spaceConsumed: number;
  spaceQuota: number;
}

/** What a retry is about to do, for logs and tests. */
export interface RetryEvent {
  uri: string;
  doing: string;
  attempt: number;
  delayMs: number;
  code: string;
}

/** Options of one WebHDFS file system beyond the shared settings. */
export interface WebHdfsFileSystemOptions extends WebHdfsOptions {
  /** Called before each retry's backoff sleep. */
  onRetry?: (event: RetryEvent) => void;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A webhdfs:// file system for one namenode (`host:port` of its HTTP address). */
export class WebHdfsFileSystem implements FileSystem {
  /** The connection pool, made on first request: undici is loaded then (~60 ms), not by every process importing storage. */
  private agent: Promise<{ agent: Agent; request: typeof import('undici').request }> | undefined;
  private readonly cache: LocalCopies;
  /** HTTP addresses of this authority's namenodes: one, or the HA pair of a nameservice, tried in turn. */
  private readonly namenodes: readonly string[];
  /** Index in `namenodes` of the one that last answered as active. */
  private active = 0;

  constructor(
    /** `host:port` as written in the URIs this file system serves. */
    readonly authority: string,
    private readonly options: WebHdfsFileSystemOptions = {},
  ) {
    this.cache = new LocalCopies((options.localCopyMb ?? 2048) * 1024 * 1024);
    const ha = options.nameservices?.[authority];
    // Hadoop's default namenode HTTP port when the URI names none.
    this.namenodes = ha && ha.length > 0 ? [...ha] : [/:\d+$/.test(authority) ? authority : `${authority}:9870`];
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    if (this.agent) await (await this.agent).agent.close();
  }

  async list(uri: string, options: { recursive?: boolean } = {}): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    const walk = async (dirUri: string): Promise<void> => {
      const statuses = await this.listStatus(dirUri);
      if (statuses === undefined) return;
      for (const s of statuses) {
        if (s.pathSuffix === '') {
          throw new StorageError(dirUri, 'listing failed: it is a file, not a directory', 'list its parent directory instead');
        }
        const entry = this.toEntry(`${dirUri.replace(/\/+$/, '')}/${s.pathSuffix}`, s);
        out.push(entry);
        if (options.recursive && entry.isDirectory) await walk(entry.uri);
      }
    };
    await walk(uri.replace(/\/+$/, ''));
    return out.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async stat(uri: string): Promise<FileEntry | undefined> {
    const answer = await this.namenode(uri, 'GET', 'GETFILESTATUS', {}, 'stat', { idempotent: true, missingOk: true });
    if (answer === undefined) return undefined;
    const { FileStatus } = (await answer.body.json()) as { FileStatus: HdfsFileStatus };
    return this.toEntry(uri.replace(/\/+$/, ''), FileStatus);
  }

  async exists(uri: string): Promise<boolean> {
    return (await this.stat(uri)) !== undefined;
  }

  /** The file's bytes from `offset` (default 0), at most `length` of them; a cut connection resumes where it stopped. */
  async openRead(uri: string, range: ReadRange = {}): Promise<Readable> {
    const offset = range.offset ?? 0;
    // Opened here, not lazily, so a missing file fails now, naming the URI, not inside a pipeline.
    const first = await this.openAt(uri, offset, range.length);
    const retries = this.options.retries ?? 4;
    const self = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      let body: Readable = first;
      let position = offset;
      let remaining = range.length;
      for (let attempt = 1; ; attempt++) {
        try {
          for await (const chunk of body) {
            const buf = chunk as Buffer;
            position += buf.length;
            if (remaining !== undefined) remaining -= buf.length;
            yield buf;
          }
          return;
        } catch (e) {
          const code = connectionErrorCode(e);
          if (code === undefined) throw new StorageError(uri, `reading failed at byte ${position}: ${(e as Error).message}`, undefined, { cause: e });
          if (attempt > retries) throw webHdfsConnectionError(uri, `reading at byte ${position}`, self.authority, code, attempt, e);
          await self.backoff(uri, `reading at byte ${position}`, attempt, code);
          if (remaining === 0) return;
          body = await self.openAt(uri, position, remaining);
        }
      }
    }
    return Readable.from(bytes(), { objectMode: false, highWaterMark: 1 << 20 });
  }

  async readBytes(uri: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of await this.openRead(uri)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  async writeAtomic(uri: string, data: WriteSource): Promise<WrittenFile> {
    return this.writeThroughTemp(uri, payloadOf(data));
  }

  /** Writes a file with two-step CREATE: the namenode names a datanode (307), the bytes go there (201). */
  async create(uri: string, data: WriteSource, options: { overwrite?: boolean } = {}): Promise<WrittenFile> {
    return this.upload(uri, 'CREATE', payloadOf(data), options.overwrite === true);
  }

  /** Appends to an existing file with two-step APPEND (307 to a datanode, then 200). */
  async append(uri: string, data: WriteSource): Promise<{ bytes: number }> {
    const { bytes } = await this.upload(uri, 'APPEND', payloadOf(data), false);
    return { bytes };
  }

  async rename(from: string, to: string): Promise<void> {
    const doing = `renaming to ${to}`;
    // HDFS moves a source *into* an existing destination directory and refuses an existing file; neither is
    // what callers of rename mean, so the destination is looked at first.
    const target = await this.stat(to);
    if (target?.isDirectory) {
      throw new StorageError(from, `${doing} failed: the target exists as a directory`, 'delete the target first (a dataset is replaced whole)');
    }
    if (target) {
      const source = await this.stat(from);
      if (source === undefined) throw new StorageError(from, `${doing} failed: the source does not exist`, 'check the path; it may have been moved already');
      if (source.isDirectory) throw new StorageError(from, `${doing} failed: the target is a file and the source a directory`, 'delete the target file first');
      await this.delete(to);
    }
    if (await this.renameOnce(from, to)) return;
    // {"boolean": false}: the source is missing, the target's parent is missing, or the target appeared meanwhile.
    if (!(await this.exists(from))) throw new StorageError(from, `${doing} failed: the source does not exist`, 'check the path; it may have been moved already');
    if (await this.exists(to)) throw new StorageError(from, `${doing} failed: the target exists (written by someone else meanwhile)`, 'make sure one run writes this path at a time');
    await this.mkdirs(parentUri(to));
    if (!(await this.renameOnce(from, to))) {
      throw new StorageError(from, `${doing} failed: the namenode answered {"boolean": false}`, 'check both paths with hdfs dfs -ls and the namenode log');
    }
  }

  async delete(uri: string, options: { recursive?: boolean } = {}): Promise<void> {
    // {"boolean": false} means there was nothing to delete, which is not an error here.
    const answer = await this.namenode(uri, 'DELETE', 'DELETE', { recursive: String(options.recursive ?? false) }, 'deleting', { idempotent: true });
    await answer!.body.json();
  }

  async mkdirs(uri: string): Promise<void> {
    const answer = await this.namenode(uri, 'PUT', 'MKDIRS', {}, 'creating the directory', { idempotent: true });
    const { boolean } = (await answer!.body.json()) as { boolean: boolean };
    if (!boolean) throw new StorageError(uri, 'creating the directory failed: the namenode answered {"boolean": false}', 'check the parent path with hdfs dfs -ls');
  }

  /** Files, directories and bytes below a directory (GETCONTENTSUMMARY), e.g. for a dataset's size. */
  async contentSummary(uri: string): Promise<ContentSummary> {
    const answer = await this.namenode(uri, 'GET', 'GETCONTENTSUMMARY', {}, 'summarising', { idempotent: true });
    return ((await answer!.body.json()) as { ContentSummary: ContentSummary }).ContentSummary;
  }

  /** A local copy of the file for DuckDB, downloaded once per version (size and modification time). */
  async localPathFor(uri: string): Promise<string> {
    const entry = await this.stat(uri);
    if (!entry) throw new StorageError(uri, 'copying locally failed: the file does not exist', 'check the storage root and the dataset path');
    if (entry.isDirectory) throw new StorageError(uri, 'copying locally failed: it is a directory', 'only files can be copied for local readers');
    return this.cache.get(uri, entry, async (target) => {
      const source = await this.openRead(uri);
      await fsp.writeFile(target, source);
      const { size } = await fsp.stat(target);
      if (size !== entry.size) throw new StorageError(uri, `copying locally got ${size} bytes, the namenode said ${entry.size}`, 'the file changed while copied; re-run');
    });
  }

  /** A local temp file that `commit` uploads to `uri` (temp name, then rename) and removes. */
  async localFileForWrite(uri: string): Promise<LocalWrite> {
    const dir = await fsp.mkdtemp(path.join(this.cache.root(), 'w-'));
    const local = path.join(dir, baseName(uri));
    const discard = () => fsp.rm(dir, { recursive: true, force: true });
    return {
      path: local,
      commit: async () => {
        try {
          return await this.writeThroughTemp(uri, filePayload(local));
        } finally {
          await discard();
        }
      },
      discard,
    };
  }

  // ---- the REST calls ----

  private async writeThroughTemp(uri: string, payload: UploadPayload): Promise<WrittenFile> {
    const tmp = `${parentUri(uri)}/.${baseName(uri)}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      const written = await this.upload(tmp, 'CREATE', payload, true);
      await this.rename(tmp, uri);
      return { uri, bytes: written.bytes, sha256: written.sha256 };
    } catch (e) {
      await this.delete(tmp).catch(() => undefined);
      if (e instanceof StorageError && e.uri === tmp) throw new StorageError(uri, e.message.slice(tmp.length + 2), undefined, { cause: e });
      throw e;
    }
  }

  private async renameOnce(from: string, to: string): Promise<boolean> {
    // A retried RENAME whose first try did arrive answers false (the source is gone): only refused connects are retried.
    const answer = await this.namenode(from, 'PUT', 'RENAME', { destination: this.hdfsPath(to) }, `renaming to ${to}`, { idempotent: false });
    return ((await answer!.body.json()) as { boolean: boolean }).boolean;
  }

  private async listStatus(uri: string): Promise<HdfsFileStatus[] | undefined> {
    const answer = await this.namenode(uri, 'GET', 'LISTSTATUS', {}, 'listing', { idempotent: true, missingOk: true });
    if (answer === undefined) return undefined;
    return ((await answer.body.json()) as { FileStatuses: { FileStatus: HdfsFileStatus[] } }).FileStatuses.FileStatus;
  }

  /** OPEN from `offset`: the namenode's 307 names the datanode; HttpFS-style servers may answer 200 with the data. */
  private async openAt(uri: string, offset: number, length: number | undefined): Promise<Readable> {
    const params: Record<string, string> = { offset: String(offset) };
    if (length !== undefined) params['length'] = String(length);
    const first = await this.namenode(uri, 'GET', 'OPEN', params, 'opening for read', { idempotent: true, redirect: true });
    if (first!.status === 200) return first!.body;
    const location = await this.redirectTarget(uri, first!, 'opening for read');
    const data = await this.send(uri, 'opening for read', location, 'GET', undefined, { idempotent: true });
    if (data.status !== 200) throw webHdfsAnswerError(uri, 'opening for read', data.status, await data.body.text());
    return data.body;
  }

  /** Two-step CREATE or APPEND; the datanode's answer (201 or 200) ends it. */
  private async upload(uri: string, op: 'CREATE' | 'APPEND', payload: UploadPayload, overwrite: boolean): Promise<WrittenFile> {
    const doing = op === 'CREATE' ? 'writing' : 'appending';
    const method = op === 'CREATE' ? 'PUT' : 'POST';
    const params: Record<string, string> = op === 'CREATE' ? { overwrite: String(overwrite) } : {};
    const retries = this.options.retries ?? 4;
    for (let attempt = 1; ; attempt++) {
      // Step 1 carries no data: the namenode only picks a datanode, so it is always safe to repeat.
      const first = await this.namenode(uri, method, op, params, doing, { idempotent: true, redirect: true });
      const location = await this.redirectTarget(uri, first!, doing);
      try {
        const answer = await this.request(location, method, payload.body(), { 'content-type': 'application/octet-stream' });
        const ok = op === 'CREATE' ? answer.status === 201 : answer.status === 200;
        if (!ok) throw webHdfsAnswerError(uri, doing, answer.status, await answer.body.text());
        await answer.body.dump();
        return { uri, ...payload.written() };
      } catch (e) {
        const code = connectionErrorCode(e);
        if (code === undefined) throw e instanceof StorageError ? e : this.unreachable(uri, doing, location, e);
        // A CREATE with overwrite from a payload that can be sent again is safe to repeat; an APPEND only if it never connected.
        const repeatable = payload.canResend() && ((op === 'CREATE' && overwrite) || code === 'ECONNREFUSED');
        if (!repeatable || attempt > retries) throw webHdfsConnectionError(uri, doing, new URL(location).host, code, attempt, e);
        await this.backoff(uri, doing, attempt, code);
      }
    }
  }

  private async redirectTarget(uri: string, answer: Answer, doing: string): Promise<string> {
    let location = answer.headers['location'];
    if (answer.status === 200 && location === undefined) {
      // noredirect=true style: {"Location": "..."}.
      location = ((await answer.body.json()) as { Location?: string }).Location;
    } else {
      await answer.body.dump();
    }
    if (answer.status !== 307 && answer.status !== 200) {
      throw new StorageError(uri, `${doing} failed: the namenode answered HTTP ${answer.status} without a datanode redirect`, 'check that storage.root points at the namenode HTTP address (dfs.namenode.http-address, port 9870)');
    }
    if (typeof location !== 'string' || location === '') {
      throw new StorageError(uri, `${doing} failed: the namenode redirect has no Location`, 'this is not a WebHDFS namenode; check storage.root');
    }
    return this.rewriteDatanode(location);
  }

  /** A request that failed before any answer for a reason other than a dropped connection (most often a name that does not resolve here). */
  private unreachable(uri: string, doing: string, url: string, e: unknown): StorageError {
    const host = new URL(url).host;
    const code = (e as { code?: string }).code;
    const isNamenode = this.namenodes.some((n) => n.toLowerCase() === host.toLowerCase());
    const hint = isNamenode
      ? 'check the namenode host:port in storage.root'
      : code === 'ENOTFOUND'
        ? `the namenode redirected to datanode ${host}, whose name does not resolve here; map it in storage.webhdfs.datanodeAddresses ("${host}": "<reachable host:port>")`
        : 'check that the datanodes the namenode redirects to are reachable from this machine (storage.webhdfs.datanodeAddresses)';
    return new StorageError(uri, `${doing} failed: ${(e as Error).message} (${isNamenode ? 'namenode' : 'datanode'} ${host})`, hint, { cause: e });
  }

  /** Datanodes advertise names that may not resolve here (container or private DNS names): map them as configured. */
  private rewriteDatanode(location: string): string {
    const map = this.options.datanodeAddresses;
    if (!map) return location;
    const url = new URL(location);
    const to = map[url.host] ?? map[url.hostname];
    if (to === undefined) return location;
    if (to.includes(':')) url.host = to;
    else url.hostname = to;
    return url.href;
  }

  /**
   * A namenode call with the auth parameters. Error answers become StorageErrors; a 404 FileNotFoundException
   * is `undefined` when `missingOk`. With `redirect` a 307 is handed back for the caller to follow.
   */
  private async namenode(
    uri: string,
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    op: string,
    params: Record<string, string>,
    doing: string,
    how: { idempotent: boolean; missingOk?: boolean; redirect?: boolean },
  ): Promise<Answer | undefined> {
    // A builder, not a URL: after a failover the next attempt goes to the other namenode.
    const answer = await this.send(uri, doing, (namenode) => this.restUrl(uri, op, params, namenode), method, undefined, how);
    if (how.redirect && answer.status === 307) return answer;
    if (answer.status >= 200 && answer.status < 300) return answer;
    const text = await answer.body.text();
    if (how.missingOk && answer.status === 404 && parseRemoteException(text)?.exception === 'FileNotFoundException') return undefined;
    throw webHdfsAnswerError(uri, doing, answer.status, text);
  }

  /**
   * One request with retries: no answer (refused, reset, timed out), 503 and RetriableException answers are tried
   * again. Namenode requests (`target` a builder) fail over to the next namenode of an HA nameservice on a
   * connection failure or a StandbyException; a namenode not yet tried in this request is tried without waiting.
   */
  private async send(
    uri: string,
    doing: string,
    target: string | ((namenode: string) => string),
    method: string,
    body: Buffer | undefined,
    how: { idempotent: boolean },
  ): Promise<Answer> {
    const retries = this.options.retries ?? 4;
    const tried = new Set<number>();
    for (let attempt = 1; ; attempt++) {
      const used = this.active;
      tried.add(used);
      const url = typeof target === 'string' ? target : target(this.namenodes[used]!);
      // Moves on to the next namenode (once per failure, however many requests saw it); true if that one is untried here.
      const failover = (): boolean => {
        if (typeof target === 'string' || this.namenodes.length < 2) return false;
        if (this.active === used) this.active = (used + 1) % this.namenodes.length;
        return !tried.has(this.active);
      };
      let answer: Answer;
      try {
        answer = await this.request(url, method, body, {});
      } catch (e) {
        const code = connectionErrorCode(e);
        if (code === undefined) throw this.unreachable(uri, doing, url, e);
        // A request that never connected was not seen by the server: any of them can be sent again.
        if ((!how.idempotent && code !== 'ECONNREFUSED') || attempt > retries) {
          throw webHdfsConnectionError(uri, doing, new URL(url).host, code, attempt, e);
        }
        if (!failover()) await this.backoff(uri, doing, attempt, code);
        continue;
      }
      if (answer.status === 403 || answer.status === 503) {
        const text = await answer.body.text();
        const remote = parseRemoteException(text);
        const standby = remote?.exception === 'StandbyException' && this.namenodes.length > 1 && typeof target !== 'string';
        // 503 means the request was not served (a namenode starting, a proxy without a backend): safe to send again.
        const retriable = standby || answer.status === 503 || (remote !== undefined && RETRIABLE_EXCEPTIONS.has(remote.exception));
        if (retriable && attempt <= retries) {
          if (!(standby && failover())) await this.backoff(uri, doing, attempt, remote?.exception ?? `HTTP ${answer.status}`);
          continue;
        }
        throw webHdfsAnswerError(uri, doing, answer.status, text);
      }
      return answer;
    }
  }

  private async request(url: string, method: string, body: Buffer | Readable | undefined, headers: Record<string, string>): Promise<Answer> {
    // The CSRF header (dfs.webhdfs.rest-csrf.enabled) is sent always: only its presence counts, and servers without the filter ignore it.
    const all = { 'x-xsrf-header': 'courier', ...headers };
    this.agent ??= import('undici').then(({ Agent, request }) => {
      const timeout = this.options.timeoutMs ?? 60_000;
      return { agent: new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connectTimeout: Math.min(timeout, 30_000), keepAliveTimeout: 10_000 }), request };
    });
    const { agent, request } = await this.agent;
    const res = await request(url, { method: method as Dispatcher.HttpMethod, dispatcher: agent, headers: all, ...(body !== undefined ? { body } : {}) });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  private async backoff(uri: string, doing: string, attempt: number, code: string): Promise<void> {
    const base = this.options.retryDelayMs ?? 200;
    const max = this.options.retryMaxDelayMs ?? 5_000;
    // Exponential with jitter (half to all of the step), so many clients do not come back in step.
    const step = Math.min(max, base * 2 ** (attempt - 1));
    const delayMs = Math.round(step * (0.5 + Math.random() * 0.5));
    this.options.onRetry?.({ uri, doing, attempt, delayMs, code });
    await sleep(delayMs);
  }

  private restUrl(uri: string, op: string, params: Record<string, string>, namenode: string): string {
    const query = new URLSearchParams({ op, ...params });
    if (this.options.delegationToken !== undefined) query.set('delegation', this.options.delegationToken);
    else if (this.options.user !== undefined) query.set('user.name', this.options.user);
    const encoded = this.hdfsPath(uri)
      .split('/')
      .map((s) => encodeURIComponent(s).replace(/%3D/g, '='))
      .join('/');
    return `http://${namenode}/webhdfs/v1${encoded}?${query.toString()}`;
  }

  /** The HDFS path of a webhdfs:// URI of this namenode (taken literally: Courier builds URIs from plain names). */
  hdfsPath(uri: string): string {
    const m = /^webhdfs:\/\/([^/]*)(\/.*)?$/i.exec(uri);
    if (!m || m[1]!.toLowerCase() !== this.authority.toLowerCase()) {
      throw new StorageError(uri, `is not on the namenode ${this.authority}`, 'use one webhdfs:// namenode per file system');
    }
    const p = (m[2] ?? '/').replace(/\/+$/, '');
    return p === '' ? '/' : p;
  }

  private toEntry(uri: string, s: HdfsFileStatus): FileEntry {
    return { uri, name: baseName(uri), isDirectory: s.type === 'DIRECTORY', size: s.length, modifiedMs: s.modificationTime };
  }
}

const COPIES_PREFIX = 'courier-webhdfs-';
/** How long a local copy handed to a reader is kept whatever the budget says. */
const RECENT_COPY_MS = 5 * 60_000;

/** Removes the local-copy directories of processes on this machine that no longer run. */
function sweepDeadProcessCopies(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^courier-webhdfs-(\d+)(?:-|$)/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Local copies of remote files for readers that want paths, in one temp directory per process, kept within
 * a byte budget (least recently used dropped first) and removed when the process exits.
 */
class LocalCopies {
  private dir: string | undefined;
  private readonly copies = new Map<string, { path: string; bytes: number; ready: Promise<string>; usedAt: number }>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  root(): string {
    if (this.dir === undefined) {
      // One directory per process, one subdirectory per thread. A killed process or a terminated worker thread
      // never sees 'exit', so copies left by processes that are gone are swept when the next one starts.
      sweepDeadProcessCopies();
      const processDir = path.join(os.tmpdir(), `${COPIES_PREFIX}${process.pid}`);
      fs.mkdirSync(processDir, { recursive: true, mode: 0o700 });
      this.dir = fs.mkdtempSync(path.join(processDir, `t${threadId}-`));
      const dir = this.dir;
      process.once('exit', () => {
        fs.rmSync(dir, { recursive: true, force: true });
        if (isMainThread) fs.rmSync(processDir, { recursive: true, force: true });
      });
    }
    return this.dir;
  }

  async get(uri: string, entry: FileEntry, fetch: (target: string) => Promise<void>): Promise<string> {
    const key = `${uri}\n${entry.size}\n${entry.modifiedMs}`;
    const hit = this.copies.get(key);
    if (hit) {
      // Re-inserted: Map order is the recency order.
      this.copies.delete(key);
      hit.usedAt = Date.now();
      this.copies.set(key, hit);
      return hit.ready;
    }
    const name = `${createHash('sha256').update(key).digest('hex').slice(0, 16)}-${baseName(uri)}`;
    const target = path.join(this.root(), name);
    const tmp = `${target}.part`;
    const ready = fetch(tmp).then(
      async () => {
        await fsp.rename(tmp, target);
        return target;
      },
      async (e: unknown) => {
        this.copies.delete(key);
        this.bytes -= entry.size;
        await fsp.rm(tmp, { force: true });
        throw e;
      },
    );
    this.copies.set(key, { path: target, bytes: entry.size, ready, usedAt: Date.now() });
    this.bytes += entry.size;
    await this.evict(key);
    return ready;
  }

  private async evict(keep: string): Promise<void> {
    for (const [key, copy] of this.copies) {
      if (this.bytes <= this.budget) break;
      // A path handed out lately may not be opened yet, or be opened again (DuckDB reopens per query): the budget
      // is soft, and such copies stay until they have rested a while.
      if (key === keep || Date.now() - copy.usedAt < RECENT_COPY_MS) continue;
      this.copies.delete(key);
      this.bytes -= copy.bytes;
      // A reader that holds the path open keeps its data (unlinked files live until closed).
      await copy.ready.then((p) => fsp.rm(p, { force: true })).catch(() => undefined);
    }
  }
}
