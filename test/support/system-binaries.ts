/**
 * Real servers for integration tests and benches (redis-server, sshd, wrk): find the installed binary, install
 * its Debian package with apt-get when it is missing and we are root, start it on 127.0.0.1 on a free port and
 * stop exactly the process we started. A missing binary that cannot be installed is an error, never a skip: CI
 * must fail rather than pass without the service.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian puts server binaries that are not on a normal user's PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

function findOnPath(binary: string): string | undefined {
  if (binary.includes('/')) return isExecutable(binary) ? binary : undefined;
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// One apt-get at a time per process (dpkg holds a lock), and `apt-get update` once.
let aptQueue: Promise<unknown> = Promise.resolve();
let aptUpdated = false;

async function aptInstall(debianPackage: string): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    await run('apt-get', ['update', '-qq'], { env, timeout: 300_000 });
    aptUpdated = true;
  }
  // Servers must not start as system services on install: tests start their own.
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', debianPackage], { env, timeout: 600_000 });
}

/**
 * The absolute path of `binary`, installing `debianPackage` first when it is missing and we are root.
 * Throws an error naming the package and the command to run otherwise.
 */
export async function ensureBinary(binary: string, debianPackage: string): Promise<string> {
  const found = findOnPath(binary);
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(`${binary} is not installed and we are not root; install it with: sudo apt-get install ${debianPackage}`);
  }
  const install = aptQueue.then(() => aptInstall(debianPackage));
  aptQueue = install.catch(() => undefined);
  try {
    await install;
  } catch (e) {
    const detail = (e as { stderr?: string }).stderr?.trim() || (e as Error).message;
    throw new Error(`could not install ${debianPackage} for ${binary} with apt-get: ${detail}`, { cause: e });
  }
  const installed = findOnPath(binary);
  if (!installed) throw new Error(`apt-get installed ${debianPackage} but ${binary} is still not found on PATH or in ${EXTRA_DIRS.join(', ')}`);
  return installed;
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A server process started by `startService`. */
export interface RunningService {
  readonly pid: number;
  readonly process: ChildProcess;
  /** stdout and stderr so far, for error messages. */
  output(): string;
  /** Sends SIGTERM (SIGKILL after `graceMs`) to this process only and waits for it to exit. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartServiceOptions {
  /** Resolves true once the service answers (e.g. a TCP connect or a PING); polled until `timeoutMs`. */
  ready: () => Promise<boolean>;
  timeoutMs?: number;
  pollMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const MAX_OUTPUT = 64 * 1024;

/** Starts `command args` and waits until `ready()`; fails with the process's output if it exits or times out first. */
export async function startService(command: string, args: readonly string[], options: StartServiceOptions): Promise<RunningService> {
  const child = spawn(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const service: RunningService = {
    get pid() {
      return child.pid ?? -1;
    },
    process: child,
    output: () => output,
    async stop(graceMs = 5000) {
      if (exited || child.pid === undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs);
      await exit;
      clearTimeout(timer);
    },
  };

  const timeoutMs = options.timeoutMs ?? 15_000;
  const pollMs = options.pollMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let failure: Error | undefined;
  void spawnError.then((e) => {
    failure = e;
  });
  while (Date.now() < deadline) {
    if (failure) throw new Error(`could not start ${command}: ${failure.message}`);
    if (exited) throw new Error(`${command} ${args.join(' ')} exited (${exited.code ?? exited.signal}) before it was ready:\n${output}`);
    try {
      if (await options.ready()) return service;
    } catch {
      // Not ready yet.
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  await service.stop(1000);
  throw new Error(`${command} ${args.join(' ')} was not ready after ${timeoutMs} ms:\n${output}`);
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export async function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
