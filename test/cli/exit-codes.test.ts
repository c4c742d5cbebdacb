import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo, RegisterCommands } from '../../cli/cli-context.ts';
import { main } from '../../cli/main.ts';

/** An in-process run with captured output; the extra verbs stand in for rooms that fail. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const io: CliIo = { stdout, stderr, env: {}, cwd: process.cwd() };
  const failing: RegisterCommands = (program, context) => {
    program.command('boom').action(() => {
      throw new Error('disk on fire');
    });
    program.command('misuse').action(() => context().usageError('partner "nobody" is not in the config'));
  };
  const code = await main(['node', 'courier', ...args], io, [failing]);
  return { code, stdout: out, stderr: err };
}

describe('courier exit codes (in process)', () => {
  it('an unexpected error prints its message and exits 1; the stack only at debug level', async () => {
    const quiet = await run(['boom']);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toBe('courier: error: disk on fire\n');

    const debug = await run(['--log-level', 'debug', 'boom']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toContain('courier: error: disk on fire');
    expect(debug.stderr).toContain('exit-codes.test.ts');
  });

  it('a usage error from a command exits 2', async () => {
    const result = await run(['misuse']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('courier: partner "nobody" is not in the config\n');
  });
});
