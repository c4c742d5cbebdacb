/**
 * A throw-away OpenSSH server (sshd with its internal sftp-server) on 127.0.0.1 for tests and benches: host and
 * user keys generated in a temp dir, its own config and PID file, logins by the current user with the generated
 * key only. Installed with apt-get (openssh-server) when missing and root, else a clear error: never a skip.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { acceptsConnections, ensureBinary, freePort, startService, type RunningService } from './system-binaries.ts';

const run = promisify(execFile);

/** A running test sshd. */
export interface TestSshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  /** The temp dir holding keys and config; remote paths are this machine's paths. */
  readonly dir: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it. */
  readonly hostKeySha256: string;
  readonly userKeyPath: string;
  readonly userPrivateKey: string;
  /** The listener process (replaced by `start()` after a `stop()`). */
  readonly service: RunningService;
  /** Kills the processes serving open connections (they drop mid-transfer); the listener stays. Returns how many. */
  killSessions(): Promise<number>;
  /** Stops the listener and its sessions. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same keys. */
  start(): Promise<void>;
}

/** Starts sshd on a free port (or `port`); extra sshd_config lines may be given. */
export async function startSshd(options: { port?: number; configLines?: readonly string[] } = {}): Promise<TestSshd> {
  const sshd = await ensureBinary('sshd', 'openssh-server');
  const keygen = await ensureBinary('ssh-keygen', 'openssh-client');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-sshd-'));
  const hostKey = path.join(dir, 'host_ed25519');
  const userKeyPath = path.join(dir, 'user_ed25519');
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'courier-test-host', '-f', hostKey]);
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'courier-test-user', '-f', userKeyPath]);
  await fs.copyFile(`${userKeyPath}.pub`, path.join(dir, 'authorized_keys'));
  const { stdout } = await run(keygen, ['-lf', `${hostKey}.pub`]);
  const hostKeySha256 = /SHA256:[A-Za-z0-9+/]+/.exec(stdout)?.[0];
  if (!hostKeySha256) throw new Error(`ssh-keygen -lf printed no SHA256 fingerprint: ${stdout}`);
  const isRoot = process.getuid?.() === 0;
  // As root, sshd insists on its privilege separation directory (systemd normally creates it).
  if (isRoot) await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const port = options.port ?? (await freePort());
  const config = path.join(dir, 'sshd_config');
  await fs.writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'StrictModes no',
      `PermitRootLogin ${isRoot ? 'prohibit-password' : 'no'}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'UseDNS no',
      'MaxStartups 64',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      ...(options.configLines ?? []),
      '',
    ].join('\n'),
  );
  const launch = () => startService(sshd, ['-D', '-e', '-f', config], { ready: () => acceptsConnections(port), timeoutMs: 20_000 });
  let service = await launch();
  const server: TestSshd = {
    host: '127.0.0.1',
    port,
    user: os.userInfo().username,
    dir,
    hostKeySha256,
    userKeyPath,
    userPrivateKey: await fs.readFile(userKeyPath, 'utf8'),
    get service() {
      return service;
    },
    async killSessions() {
      const pids = await descendants(service.pid);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      return pids.length;
    },
    async stop() {
      await server.killSessions();
      await service.stop();
    },
    async start() {
      service = await launch();
    },
  };
  return server;
}

/** The PIDs of every process below `pid`, read from /proc (children of the processes we started). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // Field 4 (ppid) follows the command in parentheses, which may itself hold spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isNaN(ppid)) parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}
