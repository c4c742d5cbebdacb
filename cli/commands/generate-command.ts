// `courier generate`: seeded, reproducible synthetic inputs (webapp sync logs, segment data) for trying Courier.
import { InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import {
  generateSyntheticData,
  GenerateOptionError,
  isValidDate,
  LIMITS,
  OutputExistsError,
  type GenerateProgress,
  type GenerateSummary,
} from '../../jobs/synthetic/index.ts';
import { StorageError, toStorageUri } from '../../storage/index.ts';
import type { CliContext, RegisterCommands } from '../cli-context.ts';

interface GenerateCommandOptions {
  logs: number;
  segments: number;
  partners?: number;
  days: number;
  out?: string;
  seed: number;
  date?: string;
  force: boolean;
}

const SUFFIX: Record<string, number> = { '': 1, k: 1_000, m: 1_000_000 };

/** A whole-number option parser: `2000000`, `2_000_000`, `2M`, `500k`, within [min, max]. */
function count(min: number, max: number): (value: string) => number {
  return (value) => {
    const m = /^(\d[\d_]*)([kKmM]?)$/.exec(value.trim());
    const n = m ? Number(m[1]!.replaceAll('_', '')) * SUFFIX[m[2]!.toLowerCase()]! : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max} (e.g. 100000, 2M, 500k), got "${value}".`);
    }
    return n;
  };
}

function day(value: string): string {
  if (!isValidDate(value)) throw new InvalidArgumentError(`expected a day as YYYY-MM-DD, got "${value}".`);
  return value;
}

/** Registers `courier generate`. */
export const registerGenerateCommand: RegisterCommands = (program, context) => {
  program
    .command('generate')
    .description('write seeded, reproducible synthetic input: webapp sync logs (gzipped, hourly) and segment data (Parquet)')
    .addOption(new Option('--logs <n>', 'log lines in total, over all days, hours and hosts').argParser(count(0, LIMITS.logs)).default(100_000, '100000'))
    .addOption(new Option('--segments <n>', 'segment data rows (one per cookie), for the last day').argParser(count(0, LIMITS.segments)).default(10_000, '10000'))
    .addOption(
      new Option('--partners <n>', "partners syncing cookies: the config's partners first, then new ids (default: the config's count)").argParser(
        count(1, LIMITS.partners),
      ),
    )
    .addOption(new Option('--days <n>', 'days of logs, ending with --date').argParser(count(1, LIMITS.days)).default(1))
    .option('--out <path|uri>', "output root (path or file:// URI); default: the config's storage root")
    .addOption(new Option('--seed <n>', 'PRNG seed: same seed and options, same output').argParser(count(0, 0xffffffff)).default(1))
    .addOption(new Option('--date <YYYY-MM-DD>', 'the last day of logs (default: today, UTC)').argParser(day))
    .option('--force', 'replace outputs that are already complete (have _SUCCESS)', false)
    .addHelpText(
      'after',
      `
Writes under --out:
  logs/dt=YYYY-MM-DD/hour=HH/webapp-web-NN.log.gz   (+ logs/dt=.../_SUCCESS per day)
  segments/dt=YYYY-MM-DD/part-00000.parquet         (+ _SUCCESS), for the last day
Formats: docs/formats.md. Progress goes to stderr; --json prints a summary on stdout.

Example:
  courier generate --logs 2M --segments 200k --days 3 --date 2026-11-23 --out /tmp/courier-input --seed 7`,
    )
    .action(async (options: GenerateCommandOptions) => {
      const ctx = context();
      const { config } = await ctx.loadConfig();
      const out = outputRoot(ctx, options.out ?? config.storage.root);
      const configuredPartnerIds = config.partners.map((p) => p.id);
      const configuredSegmentIds = [...new Set(config.partners.flatMap((p) => Object.keys(p.segmentMap).map(Number)))];
      const progress = progressReporter(ctx);
      let summary: GenerateSummary;
      try {
        summary = await generateSyntheticData(
          {
            out,
            logs: options.logs,
            segments: options.segments,
            partners: options.partners ?? configuredPartnerIds.length,
            configuredPartnerIds,
            configuredSegmentIds,
            days: options.days,
            date: options.date ?? new Date().toISOString().slice(0, 10),
            seed: options.seed,
            force: options.force,
          },
          progress.update,
        );
      } catch (e) {
        if (e instanceof GenerateOptionError || e instanceof OutputExistsError) ctx.usageError(e.message);
        throw e;
      } finally {
        progress.stop();
      }
      ctx.print({ ok: true, ...summary }, () => describe(summary));
    });
};

/** The output root as a storage URI; a value that is not a path or a known URI is a usage error. */
function outputRoot(ctx: CliContext, value: string): string {
  try {
    return toStorageUri(value);
  } catch (e) {
    return ctx.usageError(`--out: ${e instanceof StorageError ? e.message : String(e)}`);
  }
}

/** A progress bar on a terminal; otherwise an info log line every few seconds and at the end of each phase. */
function progressReporter(ctx: CliContext): { update: (p: GenerateProgress) => void; stop: () => void } {
  const tty = ctx.io.stderr.isTTY === true && ctx.options.logLevel !== 'silent';
  let bar: cliProgress.SingleBar | undefined;
  let phase: GenerateProgress['phase'] | undefined;
  let phaseStart = 0;
  let lastLog = 0;
  const unit = (p: GenerateProgress['phase']): string => (p === 'logs' ? 'lines' : 'rows');
  const rate = (done: number): number => Math.round(done / Math.max((performance.now() - phaseStart) / 1000, 1e-3));

  const update = (p: GenerateProgress): void => {
    if (p.phase !== phase) {
      bar?.stop();
      phase = p.phase;
      phaseStart = performance.now();
      lastLog = phaseStart;
      if (tty && p.total > 0) {
        bar = new cliProgress.SingleBar(
          {
            stream: ctx.io.stderr,
            format: `${p.phase.padEnd(8)} [{bar}] {percentage}% | {value}/{total} ${unit(p.phase)} | {rate}/s | ETA {eta_formatted}`,
            hideCursor: true,
            etaBuffer: 40,
            fps: 8,
            formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? v.toLocaleString('en-US') : String(v)),
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total, 0, { rate: '0' });
      }
    }
    if (bar) {
      bar.update(p.done, { rate: rate(p.done).toLocaleString('en-US') });
      return;
    }
    if (tty || p.total === 0) return;
    const now = performance.now();
    if (p.done === p.total || now - lastLog >= 5000) {
      lastLog = now;
      ctx.logger.info({ phase: p.phase, done: p.done, total: p.total, percent: p.total ? Math.floor((100 * p.done) / p.total) : 100, perSecond: rate(p.done) }, `generating ${p.phase}`);
    }
  };
  return {
    update,
    stop: () => {
      bar?.stop();
      bar = undefined;
    },
  };
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** The plain-text summary. */
function describe(s: GenerateSummary): string {
  const first = s.dates[0]!;
  const last = s.dates[s.dates.length - 1]!;
  const pct = (a: number): string => (s.lines ? `${((100 * a) / s.lines).toFixed(2)}%` : '0%');
  return [
    `Generated synthetic input under ${s.out} (seed ${s.seed}) in ${s.seconds.toFixed(1)} s:`,
    `  logs      ${first === last ? first : `${first} .. ${last}`}: ${n(s.lines)} lines in ${n(s.logFiles)} files, ${(s.logBytes / 1e6).toFixed(1)} MB gzipped, ${n(s.linesPerSecond)} lines/s`,
    `            ${n(s.syncLines)} syncs (${pct(s.syncLines)}), ${n(s.malformedLines)} malformed (${pct(s.malformedLines)}), ${n(s.cookiePool)} cookies in the pool`,
    `  segments  ${first === last ? first : `${first} .. ${last}`}: a snapshot a day, ${n(s.segmentRows)} rows on ${last} (${n(s.segmentFiles)} file${s.segmentFiles === 1 ? '' : 's'} in all), ${n(s.piiRows)} with PII columns, ${n(s.segmentPoolRows)} cookies from the log pool`,
    `  partners  ${s.partnerIds.join(', ')}; hosts ${s.hosts.join(', ')}`,
  ].join('\n');
}
