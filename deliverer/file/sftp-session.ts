/**
 * The SFTP target, on ssh2-sftp-client: plain `put` of a stream (its README warns `fastPut` can corrupt files),
 * plain SFTP `rename` (fails if the target exists, unlike posix-rename, so nothing is overwritten), the host key
 * checked against the pinned fingerprint before any credential is sent, and TCP_NODELAY set: with small writes
 * waiting on their answers, Nagle's algorithm against delayed ACKs cut throughput fifty-fold on loopback.
 */
import type { Readable } from 'node:stream';
import SftpClient from 'ssh2-sftp-client';
import type { Client as SshClient, SFTPWrapper } from 'ssh2';
import { DeliveryError } from './delivery-error.ts';
import type { SftpSettings } from './delivery-settings.ts';
import { hostKeyFingerprint, sameFingerprint } from './host-key.ts';
import type { RemoteEntry, RemoteSession } from './remote-session.ts';

/** SFTP status codes (draft-ietf-secsh-filexfer-02) the server answers with. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;
/** statvfs@openssh.com flag of a read-only file system. */
const ST_RDONLY = 1;

/** The reply of statvfs@openssh.com, as ssh2 parses it. */
interface StatVfs {
  f_bavail: number | bigint;
  f_frsize: number | bigint;
  f_flag: number | bigint;
}

/** Messages of ssh2 and ssh2-sftp-client that mean the connection went away under an operation. */
const DROPPED = /unexpected (end|close|error) event|no sftp connection|not connected|connection lost|ECONNRESET|EPIPE|socket/i;

/** Opens an SFTP session to a partner's server; connection problems are `connection` errors (retried). */
export async function openSftpSession(
  partner: string,
  settings: SftpSettings,
  options: { connectTimeoutMs: number; writeWindowBytes: number },
): Promise<RemoteSession> {
  const where = `sftp://${settings.user}@${settings.host}:${settings.port}`;
  let alive = true;
  const client = new SftpClient(`courier-${partner}`);
  // Listen on ssh2's client itself: ssh2-sftp-client's own callbacks skip events its temporary listeners handled.
  const ssh = (client as unknown as { client: SshClient }).client;
  ssh.on('close', () => (alive = false));
  ssh.on('end', () => (alive = false));
  let presented: string | undefined;
  try {
    await client.connect({
      host: settings.host,
      port: settings.port,
      username: settings.user,
      ...(settings.privateKey && { privateKey: settings.privateKey.reveal() }),
      ...(settings.password && { password: settings.password.reveal() }),
      readyTimeout: options.connectTimeoutMs,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        presented = hostKeyFingerprint(key);
        return sameFingerprint(presented, settings.hostKeySha256);
      },
    });
  } catch (e) {
    await client.end().catch(() => undefined);
    throw connectError(partner, where, settings, presented, e);
  }
  ssh.setNoDelay(true);
  return new SftpSession(partner, where, client, () => alive, options.writeWindowBytes);
}

function connectError(partner: string, where: string, settings: SftpSettings, presented: string | undefined, e: unknown): DeliveryError {
  const err = e as Error & { level?: string; code?: string };
  if (presented !== undefined && !sameFingerprint(presented, settings.hostKeySha256)) {
    return new DeliveryError(
      'host-key',
      `partner ${partner}: the SFTP server ${settings.host}:${settings.port} presented host key ${presented}, but the config pins ${settings.hostKeySha256}; ` +
        'connection refused. If the partner changed its key, confirm the new fingerprint with them (ssh-keyscan -p PORT HOST | ssh-keygen -lf -) and update batch.sftp.hostKeySha256',
    );
  }
  if (err.level === 'client-authentication' || /authentication methods failed/i.test(err.message)) {
    return new DeliveryError(
      'auth',
      `partner ${partner}: ${where} refused the login of user ${settings.user}; check batch.sftp.user and the privateKey/password source it names`,
    );
  }
  return new DeliveryError('connection', `partner ${partner}: could not connect to ${where}: ${err.message}`, { cause: e });
}

class SftpSession implements RemoteSession {
  constructor(
    private readonly partner: string,
    readonly where: string,
    private readonly client: SftpClient,
    private readonly alive: () => boolean,
    private readonly writeWindowBytes: number,
  ) {}

  async list(dir: string): Promise<RemoteEntry[]> {
    try {
      const entries = await this.client.list(dir);
      return entries.map((e) => ({ name: e.name, size: e.size, isDirectory: e.type === 'd' }));
    } catch (e) {
      if (isMissing(e)) return [];
      throw await this.failure(e, `listing ${dir}`, dir);
    }
  }

  async stat(path: string): Promise<RemoteEntry | undefined> {
    try {
      const st = await this.client.stat(path);
      return { name: path.slice(path.lastIndexOf('/') + 1), size: st.size, isDirectory: st.isDirectory };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw await this.failure(e, `stat of ${path}`, path);
    }
  }

  async mkdirs(dir: string): Promise<void> {
    if (await this.stat(dir)) return;
    try {
      await this.client.mkdir(dir, true);
    } catch (e) {
      throw await this.failure(e, `creating directory ${dir}`, dir);
    }
  }

  async put(source: Readable, path: string): Promise<void> {
    try {
      // Chunks buffered behind the write in flight go out together as concurrent requests (ssh2's _writev), each
      // at its own offset: the window is the write stream's buffer. 0 keeps one request at a time.
      const highWaterMark = Math.max(this.writeWindowBytes, 1);
      // highWaterMark is a Writable option ssh2 passes on but the type definitions leave out.
      const writeStreamOptions = { flags: 'w', mode: 0o644, highWaterMark } as SftpClient.WriteStreamOptions;
      await this.client.put(source, path, { writeStreamOptions });
    } catch (e) {
      throw await this.failure(e, `writing ${path}`, path);
    } finally {
      source.destroy();
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await this.client.rename(from, to);
    } catch (e) {
      throw await this.failure(e, `renaming ${from} to ${to}`, to);
    }
  }

  async delete(path: string): Promise<void> {
    try {
      await this.client.delete(path, true);
    } catch (e) {
      throw await this.failure(e, `deleting ${path}`, path);
    }
  }

  async openRead(path: string): Promise<Readable> {
    if (!this.alive()) throw this.dropped(`reading ${path}`);
    return this.client.createReadStream(path) as unknown as Readable;
  }

  async close(): Promise<void> {
    const ssh = (this.client as unknown as { client: SshClient }).client;
    // A dead connection's end() may wait forever for a close that already happened.
    const ended = this.client.end().catch(() => undefined);
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([ended, timer]);
    ssh.destroy();
  }

  private dropped(doing: string, cause?: unknown): DeliveryError {
    return new DeliveryError('connection', `partner ${this.partner}: connection to ${this.where} lost while ${doing}`, { cause });
  }

  /**
   * What a failed operation means: a dead connection is retried; a refusal on a live one is the partner's
   * storage, diagnosed with statvfs@openssh.com where the server has it (OpenSSH answers ENOSPC and EROFS alike
   * with a bare "Failure").
   */
  private async failure(e: unknown, doing: string, path: string): Promise<DeliveryError> {
    if (e instanceof DeliveryError) return e;
    const err = e as Error & { code?: unknown };
    if (!this.alive() || DROPPED.test(err.message)) return this.dropped(doing, e);
    const dir = path.slice(0, Math.max(path.lastIndexOf('/'), 1));
    let why = await this.storageProblem(dir);
    if (why === undefined && (err.code === SFTP_PERMISSION_DENIED || err.code === 'EACCES')) why = `permission denied in ${dir}`;
    why ??= `the server refused it (${err.message.replace(/^[\w>-]+: /, '')})`;
    return new DeliveryError(
      'remote-storage',
      `partner ${this.partner}: ${doing} on ${this.where} failed: ${why}; the file stays pending: ask the partner to free space or fix permissions, then run courier deliver again`,
      { cause: e },
    );
  }

  async storageProblem(dir: string): Promise<string | undefined> {
    const fsInfo = this.alive() ? await this.statvfs(dir) : undefined;
    if (!fsInfo) return undefined;
    const free = Number(fsInfo.f_bavail) * Number(fsInfo.f_frsize);
    if ((Number(fsInfo.f_flag) & ST_RDONLY) !== 0) return `the remote file system of ${dir} is read-only`;
    if (free < 1024 * 1024) return `the remote disk of ${dir} is full (${free} bytes free)`;
    return undefined;
  }

  private statvfs(path: string): Promise<StatVfs | undefined> {
    const sftp = (this.client as unknown as { sftp?: SFTPWrapper }).sftp;
    if (!sftp) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      try {
        sftp.ext_openssh_statvfs(path, (err: Error | undefined, info: unknown) => resolve(err ? undefined : (info as StatVfs)));
      } catch {
        resolve(undefined); // the server lacks the extension
      }
    });
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === SFTP_NO_SUCH_FILE || code === 'ENOENT';
}
