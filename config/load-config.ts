// Reads a job config: YAML with positions kept, zod validation, cross-field and secret checks; every problem is
// located at file:line:column and all of them are thrown together in one ConfigError.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { decodeConfigBytes } from './config-encoding.ts';
import { type ConfigProblem, ConfigError } from './config-error.ts';
import { formatFieldPath } from './field-path.ts';
import { defaultIssueMessage, problemsFromIssues } from './issue-messages.ts';
import { resolveConfigPaths } from './resolve-paths.ts';
import { type CourierConfig, courierConfigSchema } from './schema.ts';
import { secretProblems } from './secrets.ts';
import { aliasProblem, deepNestingProblem, isStackOverflow, sameKeyProblems } from './yaml-hazards.ts';
import { locate } from './yaml-locations.ts';

/** Options of loadConfig and parseConfig. */
export interface LoadConfigOptions {
  /** Where `{ env: NAME }` secrets are looked up; default process.env. Only presence is checked, values are not kept. */
  env?: NodeJS.ProcessEnv;
}

/** Reads, validates and resolves a job config file; throws a ConfigError listing every problem found. */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<CourierConfig> {
  const absolute = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(absolute, [{ file: absolute, field: '', message: `cannot read the config file (${reason}); check the path` }]);
  }
  return parseConfig(decodeConfigBytes(bytes, absolute), { ...options, file: absolute });
}

/** Validates config text as if read from `file`: relative paths resolve against its directory. */
export function parseConfig(text: string, options: LoadConfigOptions & { file: string }): CourierConfig {
  const file = path.resolve(options.file);
  const configDir = path.dirname(file);
  const lineCounter = new LineCounter();
  // merge: YAML `<<: *defaults` lets engineers share settings between partners.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });

  if (doc.errors.length > 0) {
    let deep = false;
    const problems: ConfigProblem[] = [];
    for (const error of doc.errors) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      if (!isStackOverflow(error.message)) problems.push({ file, line, column: col, field: '', message: `YAML syntax error: ${error.message}` });
      else if (!deep) {
        deep = true;
        problems.push(deepNestingProblem(file, line, col));
      }
    }
    throw new ConfigError(file, problems);
  }
  const sameKeys = sameKeyProblems(doc, lineCounter, file);
  if (sameKeys.length > 0) throw new ConfigError(file, sameKeys);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new ConfigError(file, [
      isStackOverflow((error as Error).message) ? deepNestingProblem(file, 1, 1) : aliasProblem(doc, lineCounter, file, error as Error),
    ]);
  }
  if (raw === null || raw === undefined) {
    throw new ConfigError(file, [
      { file, line: 1, column: 1, field: '', message: 'the file is empty; start from config/courier.example.yaml' },
    ]);
  }

  const result = courierConfigSchema.safeParse(raw, { reportInput: true, error: defaultIssueMessage });
  const found = [
    ...(result.success ? [] : problemsFromIssues(result.error.issues, courierConfigSchema)),
    ...secretProblems(raw, options.env ?? process.env, configDir).map((p) => ({ ...p, onKey: false })),
  ];

  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const { path: at, message, onKey } of found) {
    const field = formatFieldPath(at);
    const key = `${field}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { line, column } = locate(doc, lineCounter, at, onKey);
    problems.push({ file, line, column, field, message });
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(file, problems);
  return resolveConfigPaths(result.data, configDir);
}
