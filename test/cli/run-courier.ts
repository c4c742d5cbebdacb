// Runs the real `courier` executable as a child process, the way users and schedulers run it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/courier.js', import.meta.url));

export interface CourierRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/courier.js with `args` in `cwd`; `env` is added to the parent's environment. */
export function runCourier(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CourierRun> {
  return runNode([bin, ...args], options);
}

/** Runs `node <args>` and collects its exit code and output. */
export function runNode(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CourierRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
