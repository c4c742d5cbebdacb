// The `courier` command: global options, one registration per verb group, and the mapping of failures to exit codes.
// Verbs live in cli/commands/; add a file there and list it in COMMANDS.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, formatConfigError } from '../config/index.ts';
import { CliContext, type CliIo, type GlobalOptions, type RegisterCommands } from './cli-context.ts';
import { registerConfigCommands } from './commands/config-command.ts';
import { registerGenerateCommand } from './commands/generate-command.ts';
import { registerDatasetsCommands } from './commands/datasets-command.ts';
import { registerBridgeCommand } from './commands/bridge-command.ts';
import { registerDeliverCommands } from './commands/deliver-command.ts';
import { registerWorkflowCommands } from './commands/workflow-commands.ts';
import { registerWorkflowHistoryCommands } from './commands/workflow-history-commands.ts';
import { registerPartnerStubCommand } from './commands/partner-stub-command.ts';
import { registerSyncCommand } from './commands/sync-command.ts';
import { registerListenCommands } from './commands/listen-command.ts';
import { registerBundleCommand } from './commands/bundle-command.ts';
import { registerOperationsCommands } from './commands/operations-commands.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './exit-codes.ts';
import { LOG_LEVELS } from './logger.ts';

const COMMANDS: RegisterCommands[] = [registerConfigCommands, registerGenerateCommand, registerDatasetsCommands, registerBridgeCommand, registerSyncCommand, registerPartnerStubCommand, registerWorkflowCommands, registerWorkflowHistoryCommands, registerDeliverCommands, registerListenCommands, registerBundleCommand, registerOperationsCommands];

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The courier program wired to `io`, and the context its actions use (created on first use, after parsing). */
export function buildProgram(
  io: CliIo,
  commands: readonly RegisterCommands[] = COMMANDS,
): { program: Command; context: () => CliContext } {
  const program = new Command('courier');
  let context: CliContext | undefined;
  const getContext = () => (context ??= new CliContext(program.opts<GlobalOptions>(), io));

  // Set before adding verbs: subcommands copy these settings when created.
  program
    .description('Courier moves audience data from batch stores to ad networks and DMPs (streaming HTTP, SFTP files).')
    .version(version, '-V, --version', 'print the courier version')
    .option('--config <file>', 'job config file (default: ./courier.yaml, else the shipped example)')
    .addOption(new Option('--log-level <level>', 'log level; logs go to stderr').choices(LOG_LEVELS).default('info'))
    .option('--json', 'machine-readable output on stdout', false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showSuggestionAfterError()
    .showHelpAfterError('(run courier --help for usage)');

  for (const register of commands) register(program, getContext);
  return { program, context: getContext };
}

/** Runs courier with `argv` (node-style: two leading entries) and returns the exit code; `commands` for tests. */
export async function main(
  argv: readonly string[] = process.argv,
  io: CliIo = processIo(),
  commands: readonly RegisterCommands[] = COMMANDS,
): Promise<number> {
  const { program, context } = buildProgram(io, commands);
  try {
    await program.parseAsync([...argv]);
    return EXIT_OK;
  } catch (error) {
    return reportFailure(error, program, context, io);
  }
}

/** Prints a failure the way its kind deserves and picks the exit code. */
function reportFailure(error: unknown, program: Command, context: () => CliContext, io: CliIo): number {
  // Commander has already printed its message (usage errors) or the help/version text.
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (error instanceof ConfigError) {
    io.stderr.write(`${formatConfigError(error, io.cwd)}\n`);
    if (program.opts<GlobalOptions>().json) io.stdout.write(`${JSON.stringify({ ok: false, problems: error.problems }, null, 2)}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    io.stderr.write(`courier: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  io.stderr.write(`courier: error: ${err.message}\n`);
  context().logger.debug({ err }, 'stack of the error above');
  return EXIT_FAILURE;
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

// Run when executed directly (tsx cli/main.ts); bin/courier.js imports main() instead.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
