// A config that fails to load fails with every problem at once, each at a file:line:column, so one edit-check cycle
// fixes them all.
import path from 'node:path';

/** One problem in a config file. Line and column are 1-based; absent when the problem is the file itself. */
export interface ConfigProblem {
  file: string;
  line?: number;
  column?: number;
  /** Field path like `partners[1].streaming.rateLimitPerSecond`; empty for the whole file. */
  field: string;
  /** What was expected and what to do. */
  message: string;
}

/** Thrown when a config file cannot be found, parsed or validated; carries all problems, sorted by position. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(
    readonly file: string,
    problems: readonly ConfigProblem[],
  ) {
    const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    super(formatProblems(file, sorted));
    this.problems = sorted;
  }
}

/** The problems of a ConfigError, one per line (`file:line:col field: message`), then a one-line summary. */
export function formatConfigError(error: ConfigError, cwd: string = process.cwd()): string {
  return formatProblems(error.file, error.problems, cwd);
}

function formatProblems(file: string, problems: readonly ConfigProblem[], cwd: string = process.cwd()): string {
  const lines = problems.map((p) => {
    const where = p.line === undefined ? `${displayPath(p.file, cwd)}:` : `${displayPath(p.file, cwd)}:${p.line}:${p.column ?? 1}`;
    return `${where} ${p.field ? `${p.field}: ` : ''}${p.message}`;
  });
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const fix = problems.length === 1 ? 'fix it' : 'fix them';
  lines.push(`${count} in ${displayPath(file, cwd)}; ${fix} and run "courier config check" again`);
  return lines.join('\n');
}

/** Paths under the working directory are shown relative to it, as editors and terminals link them. */
function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
