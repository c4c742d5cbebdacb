// Which config file a command uses: an explicit one, else ./courier.yaml, else the shipped example, so a fresh clone
// runs end to end with no setup.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './config-error.ts';

/** The shipped, fully commented example config; the default when no courier.yaml exists. */
export const exampleConfigPath: string = fileURLToPath(new URL('./courier.example.yaml', import.meta.url));

/** The config file name looked up in the working directory. */
export const DEFAULT_CONFIG_FILE = 'courier.yaml';

/** The config file to load: `explicit` if given (it must exist), else `courier.yaml` in `cwd`, else the example. */
export function findConfigFile(explicit?: string, cwd: string = process.cwd()): string {
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!fs.existsSync(file)) {
      throw new ConfigError(file, [
        { file, field: '', message: 'config file not found; check the path, or leave it out to use ./courier.yaml' },
      ]);
    }
    return file;
  }
  const local = path.join(cwd, DEFAULT_CONFIG_FILE);
  return fs.existsSync(local) ? local : exampleConfigPath;
}
