/**
 * One command on a cluster's gateway (`engine.sparkSubmit.gateway`, a command prefix such as
 * `[docker, compose, -f, docker/compose.yaml, exec, -T, gateway]` or `[ssh, gateway.example]`): spawned with the
 * prefix in front, its stdout and stderr read line by line as it runs (for progress and the driver log), and
 * its end turned into a result or an error that says which command failed, how, and what it printed last.
 */
import { spawn } from 'node:child_process';

/** What a gateway command printed and how it ended. */
export interface GatewayResult {
  readonly code: number;
  /** Every line, stdout and stderr interleaved as they arrived (kept up to `maxLines`, then the last ones). */
  readonly lines: readonly string[];
  readonly droppedLines: number;
}

/** Why a gateway command did not succeed. */
export class GatewayCommandError extends Error {
  override readonly name = 'GatewayCommandError';
  constructor(
    message: string,
    readonly code: number | null,
    readonly tail: readonly string[],
    /** Every line kept, for the driver log. */
    readonly lines: readonly string[] = tail,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options of one gateway command. */
export interface GatewayCommandOptions {
  /** Called for each line as it arrives. */
  readonly onLine?: (line: string) => void;
  /** Lines kept for the result (default 20,000; later ones replace the oldest). */
  readonly maxLines?: number;
  /** Lines of output an error shows (default 40). */
  readonly tailLines?: number;
  /** Where the prefix comes from, for messages (default `engine.sparkSubmit.gateway`). */
  readonly configKey?: string;
}

/** Exit codes a shell gives a command it could not run. */
const NOT_FOUND = 127;
const NOT_EXECUTABLE = 126;

/** Runs `[...gateway, ...args]`; resolves when it exits 0, else throws GatewayCommandError with the output's tail. */
export function runGatewayCommand(gateway: readonly string[], args: readonly string[], options: GatewayCommandOptions = {}): Promise<GatewayResult> {
  const maxLines = options.maxLines ?? 20_000;
  const tailLines = options.tailLines ?? 40;
  const key = options.configKey ?? 'engine.sparkSubmit.gateway';
  const what = `${args.slice(0, 3).join(' ')}${args.length > 3 ? ' …' : ''}`;
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let dropped = 0;
    const keep = (line: string): void => {
      lines.push(line);
      if (lines.length > maxLines) {
        lines.shift();
        dropped++;
      }
      options.onLine?.(line);
    };
    const child = spawn(gateway[0]!, [...gateway.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const reader = (stream: NodeJS.ReadableStream): Promise<void> =>
      new Promise((done) => {
        let rest = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          const parts = (rest + chunk).split('\n');
          rest = parts.pop()!;
          for (const p of parts) keep(p.endsWith('\r') ? p.slice(0, -1) : p);
        });
        stream.on('end', () => {
          if (rest !== '') keep(rest);
          done();
        });
        stream.on('error', () => done());
      });
    const reading = Promise.all([reader(child.stdout), reader(child.stderr)]);
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e));
    child.on('close', (code, signal) => {
      void reading.then(() => {
        const tail = lines.slice(-tailLines);
        const shown = tail.length > 0 ? `; its last ${tail.length === 1 ? 'line' : `${tail.length} lines`}:\n${tail.map((l) => '  | ' + l).join('\n')}` : '; it printed nothing';
        if (spawnError) {
          const message =
            spawnError.code === 'ENOENT'
              ? `the gateway command "${gateway[0]}" (${key}: ${JSON.stringify(gateway)}) is not installed on this machine or not on PATH: install it, or set ${key} to the command prefix that reaches the cluster's gateway`
              : `the gateway command "${gateway[0]}" (${key}) could not be started: ${spawnError.message}`;
          reject(new GatewayCommandError(message, null, [], [], { cause: spawnError }));
          return;
        }
        if (code === 0) {
          resolve({ code, lines, droppedLines: dropped });
          return;
        }
        const how =
          code === null
            ? `was killed by ${signal}`
            : code === NOT_FOUND
              ? `exited with code 127 (command not found: is "${args[0]}" installed and on PATH on the gateway?)`
              : code === NOT_EXECUTABLE
                ? `exited with code 126 ("${args[0]}" is not executable on the gateway)`
                : `exited with code ${code}`;
        reject(new GatewayCommandError(`\`${what}\` on the gateway (${gateway.join(' ')}) ${how}${shown}`, code, tail, lines));
      });
    });
  });
}
