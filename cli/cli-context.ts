// What every command needs and nothing more: the global options, a logger, the job config, and one way to print a
// result (text, or JSON with --json). Commands stay thin: parse, call a room, print.
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { type CourierConfig, exampleConfigPath, findConfigFile, loadConfig } from '../config/index.ts';
import { UsageError } from './exit-codes.ts';
import { createLogger, type LogLevel } from './logger.ts';
import { configureWebHdfsFromConfig } from './webhdfs-settings.ts';

/** The options every verb accepts: --config, --log-level, --json. */
export interface GlobalOptions {
  config?: string;
  logLevel: LogLevel;
  json: boolean;
}

/** The process's streams, environment and working directory, injectable for tests. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** How a verb group adds itself to the program: `context()` is valid inside actions, after options are parsed. */
export type RegisterCommands = (program: Command, context: () => CliContext) => void;

/** The shared state of one courier run, handed to command actions. */
export class CliContext {
  readonly logger: Logger;

  constructor(
    readonly options: GlobalOptions,
    readonly io: CliIo,
  ) {
    this.logger = createLogger(options.logLevel, io.stderr);
  }

  /** Finds (--config, ./courier.yaml, or the example) and loads the job config; a ConfigError makes the run exit 2. */
  async loadConfig(): Promise<{ file: string; config: CourierConfig }> {
    const file = findConfigFile(this.options.config, this.io.cwd);
    if (file === exampleConfigPath) {
      this.logger.info({ file }, 'no courier.yaml here and no --config: using the shipped example config');
    } else {
      this.logger.debug({ file }, 'loading config');
    }
    const config = await loadConfig(file, { env: this.io.env });
    // Before any command touches storage: webhdfs:// roots need the user or token and retry settings.
    configureWebHdfsFromConfig(config, this.io.env, file);
    return { file, config };
  }

  /** Prints a command's result on stdout: `value` as JSON with --json, else `text`. */
  print(value: unknown, text: string | (() => string)): void {
    const out = this.options.json ? `${JSON.stringify(value, null, 2)}\n` : typeof text === 'string' ? text : text();
    this.io.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
  }

  /** Stops the command because its arguments are wrong: the message is printed and the run exits 2. */
  usageError(message: string): never {
    throw new UsageError(message);
  }
}
