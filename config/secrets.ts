// Secrets never sit in the config: it names an environment variable or a file, and the room that needs the value
// reads it at the moment of use (resolveSecret). The loader only checks that the named source exists.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FieldPath } from './field-path.ts';

/** Where a secret's value comes from: an environment variable or a file (e.g. an SSH private key). */
export type SecretRef = { env: string } | { file: string };


/** A secret reference found in a raw config, with the path where it was found. */
export interface SecretLocation {
  path: FieldPath;
  ref: SecretRef;
}

/** True when `value` has the shape of a secret reference. */
export function isSecretRef(value: unknown): value is SecretRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  return keys.length === 1 && (typeof record['env'] === 'string' || typeof record['file'] === 'string');
}

/** How a secret is shown in printouts: its source, never its value. */
export function describeSecret(ref: SecretRef): string {
  return 'env' in ref ? `<from env ${ref.env}>` : `<file ${ref.file}>`;
}

/** Reads a secret's value where it is used; throws an error saying which variable or file to provide. */
export function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new Error(`environment variable ${ref.env} is not set; export it before starting courier`);
    }
    return value;
  }
  try {
    return fs.readFileSync(ref.file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read secret file ${ref.file}: ${(error as Error).message}; check the path and its permissions`);
  }
}

/** A secret file path as the loader stores it: `~/` expanded, relative paths taken from the config file's directory. */
export function secretFilePath(file: string, configDir: string): string {
  if (file === '~' || file.startsWith('~/')) return path.join(os.homedir(), file.slice(1));
  return path.resolve(configDir, file);
}

/** Secret references at the places the schema allows them, read defensively from not-yet-validated data. */
export function secretRefsIn(raw: unknown): SecretLocation[] {
  const found: SecretLocation[] = [];
  const token = field(field(field(raw, 'storage'), 'webhdfs'), 'delegationToken');
  if (isSecretRef(token)) found.push({ path: ['storage', 'webhdfs', 'delegationToken'], ref: token });
  const partners = field(raw, 'partners');
  if (!Array.isArray(partners)) return found;
  partners.forEach((partner, i) => {
    const headers = field(field(partner, 'streaming'), 'headers');
    if (isPlainObject(headers)) {
      for (const [name, value] of Object.entries(headers)) {
        if (isSecretRef(value)) found.push({ path: ['partners', i, 'streaming', 'headers', name], ref: value });
      }
    }
    const sftp = field(field(partner, 'batch'), 'sftp');
    for (const key of ['privateKey', 'password']) {
      const value = field(sftp, key);
      if (isSecretRef(value)) found.push({ path: ['partners', i, 'batch', 'sftp', key], ref: value });
    }
  });
  return found;
}

/** Located messages for secrets whose variable is unset or whose file is unreadable. */
export function secretProblems(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  configDir: string,
): { path: FieldPath; message: string }[] {
  const problems: { path: FieldPath; message: string }[] = [];
  for (const { path: at, ref } of secretRefsIn(raw)) {
    if ('env' in ref) {
      const value = env[ref.env];
      if (value === undefined) {
        problems.push({ path: [...at, 'env'], message: `environment variable ${ref.env} is not set; export it or change the name` });
      } else if (value === '') {
        problems.push({ path: [...at, 'env'], message: `environment variable ${ref.env} is empty; export its value or change the name` });
      }
      continue;
    }
    const file = secretFilePath(ref.file, configDir);
    try {
      fs.accessSync(file, fs.constants.R_OK);
      if (!fs.statSync(file).isFile()) throw new Error('not a file');
    } catch {
      problems.push({
        path: [...at, 'file'],
        message: `file ${file} does not exist or is not readable; fix the path (relative paths start at the config file's directory)`,
      });
    }
  }
  return problems;
}

function field(value: unknown, key: string): unknown {
  return isPlainObject(value) ? value[key] : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
