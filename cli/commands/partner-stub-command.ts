// `courier partner-stub`: a local stand-in for partners' HTTP APIs, for the demo, tests and benches.
import { InvalidArgumentError, Option } from 'commander';
import { checkBehaviour, startPartnerStub, type StubBehaviour, type StubPartnerStats } from '../../deliverer/index.ts';
import type { RegisterCommands } from '../cli-context.ts';

interface PartnerStubCommandOptions {
  port: number;
  host: string;
  latencyMs?: number;
  errorRate?: number;
  tooManyRate?: number;
  retryAfter?: number;
  resetRate?: number;
  status?: number;
  partner: Record<string, Partial<StubBehaviour>>;
  seed: number;
}

function number(min: number, max: number, whole = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`expected ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${value}".`);
    }
    return n;
  };
}

const KEYS: Record<string, keyof StubBehaviour> = {
  'latency-ms': 'latencyMs',
  'error-rate': 'errorRate',
  'too-many-rate': 'tooManyRate',
  'retry-after': 'retryAfterSeconds',
  'reset-rate': 'resetRate',
  'slow-rate': 'slowRate',
  'slow-ms': 'slowMs',
  status: 'fixedStatus',
};

/** Parses `--partner acme:error-rate=0.2,latency-ms=5` into the partner's behaviour. */
function partnerBehaviour(value: string, previous: Record<string, Partial<StubBehaviour>>): Record<string, Partial<StubBehaviour>> {
  const m = /^([^:/?]+):(.+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expected <path name>:<key>=<value>[,...] such as acme:error-rate=0.2, got "${value}".`);
  const [, name = '', pairs = ''] = m;
  const behaviour: Partial<StubBehaviour> = { ...previous[name] };
  for (const pair of pairs.split(',')) {
    const [key = '', raw = ''] = pair.split('=');
    const field = KEYS[key.trim()];
    if (!field) throw new InvalidArgumentError(`unknown key "${key}" in --partner ${value}; known: ${Object.keys(KEYS).join(', ')}.`);
    behaviour[field] = Number(raw);
  }
  try {
    checkBehaviour(behaviour, name);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
  return { ...previous, [name]: behaviour };
}

function statsLine(name: string, s: StubPartnerStats): string {
  const answered = Object.entries(s.answered)
    .map(([status, n]) => `${status}:${n}`)
    .join(' ');
  return `${name.padEnd(16)} received ${s.received}  accepted ${s.accepted}  duplicates ${s.duplicates}  without key ${s.withoutKey}  answers ${answered || '-'}`;
}

/** Registers `courier partner-stub`. */
export const registerPartnerStubCommand: RegisterCommands = (program, context) => {
  program
    .command('partner-stub')
    .description('run a local stand-in for partners\' HTTP APIs (keep-alive; latency, 500s, 429s, resets per path) that counts what arrives; GET /_stub/stats')
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').argParser(number(0, 65535, true)).default(8089))
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--latency-ms <n>', 'delay before every answer').argParser(number(0, 600_000)))
    .addOption(new Option('--error-rate <x>', 'share of requests answered 500').argParser(number(0, 1)))
    .addOption(new Option('--too-many-rate <x>', 'share answered 429 with Retry-After').argParser(number(0, 1)))
    .addOption(new Option('--retry-after <s>', 'Retry-After of the 429s, seconds').argParser(number(0, 86_400, true)))
    .addOption(new Option('--reset-rate <x>', 'share of connections reset without an answer').argParser(number(0, 1)))
    .addOption(new Option('--status <code>', 'answer every request with this status (e.g. 400)').argParser(number(200, 599, true)))
    .addOption(
      new Option('--partner <spec>', 'behaviour of one partner path, e.g. acme:error-rate=0.2,latency-ms=5 (repeatable; keys as the options above)')
        .argParser(partnerBehaviour)
        .default({}, 'none'),
    )
    .addOption(new Option('--seed <n>', 'seed of which requests fail').argParser(number(0, 0xffffffff, true)).default(1))
    .action(async (opts: PartnerStubCommandOptions) => {
      const ctx = context();
      const defaults: Partial<StubBehaviour> = {};
      if (opts.latencyMs !== undefined) defaults.latencyMs = opts.latencyMs;
      if (opts.errorRate !== undefined) defaults.errorRate = opts.errorRate;
      if (opts.tooManyRate !== undefined) defaults.tooManyRate = opts.tooManyRate;
      if (opts.retryAfter !== undefined) defaults.retryAfterSeconds = opts.retryAfter;
      if (opts.resetRate !== undefined) defaults.resetRate = opts.resetRate;
      if (opts.status !== undefined) defaults.fixedStatus = opts.status;
      let stub;
      try {
        stub = await startPartnerStub({ port: opts.port, host: opts.host, defaults, partners: opts.partner, seed: opts.seed });
      } catch (e) {
        throw new Error(`partner stub: ${(e as Error).message}${(e as { code?: string }).code === 'EADDRINUSE' ? `; port ${opts.port} is taken: choose another with --port` : ''}`);
      }
      // Scripts wait for this line (or poll GET /_stub/stats) before sending.
      ctx.io.stderr.write(`partner stub listening on ${stub.url} (GET ${stub.url}/_stub/stats)\n`);
      ctx.logger.info({ url: stub.url, defaults, partners: opts.partner }, 'partner stub started');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const stats = stub.stats();
      await stub.close();
      ctx.print({ url: stub.url, partners: stats }, () => {
        const lines = Object.entries(stats).map(([name, s]) => statsLine(name, s));
        return lines.length ? lines.join('\n') : 'no requests received';
      });
    });
};
