/**
 * Stage bundles: a job built with esbuild into one self-contained CommonJS file that runs its steps over
 * the streaming protocol (stage-cli.ts) with nothing but `node` on the machine. CommonJS because a cluster
 * node runs `node refresher.stage.js` with no package.json beside it, where `.js` means CommonJS.
 *
 * Libraries a task never calls (DuckDB's native addon, Parquet writers, loggers, network clients) are
 * replaced by a module that throws on use: a stage reads stdin and writes stdout, the runner or the cluster
 * does the file I/O.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { JobSource } from './job-definition.ts';

/** Packages left out of bundles: native addons, I/O and test libraries a stage task never uses. */
const LEFT_OUT = [
  '@duckdb/node-api',
  '@duckdb/node-bindings',
  'parquet-wasm',
  'hyparquet',
  'hyparquet-writer',
  'hyparquet-compressors',
  'apache-arrow',
  'proper-lockfile',
  'pino',
  'ioredis',
  'undici',
  'ssh2-sftp-client',
  'prom-client',
  'cli-progress',
  'vitest',
  '@google-cloud/dataproc',
  'google-gax',
  'esbuild',
  'tsx',
];

const leftOutPattern = new RegExp(`^(${LEFT_OUT.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})(/.*)?$`);

/** Resolves left-out packages to a proxy that throws a clear error when a task touches them. */
const leaveOut: Plugin = {
  name: 'courier-leave-out',
  setup(b) {
    b.onResolve({ filter: leftOutPattern }, (args) => ({ path: args.path, namespace: 'courier-left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'courier-left-out' }, (args) => ({
      loader: 'js',
      contents: `const name = ${JSON.stringify(args.path)};
const fail = () => { throw new Error('the stage bundle leaves out ' + name + ': a stage task only maps and reduces over stdin/stdout (see docs/cluster.md)'); };
module.exports = new Proxy(function () {}, { get: (_t, p) => (p === '__esModule' ? false : p === 'default' ? module.exports : (typeof p === 'symbol' ? undefined : fail())), apply: fail, construct: fail });`,
    }));
  },
};

/** What `buildStageBundle` wrote. */
export interface StageBundle {
  readonly file: string;
  readonly bytes: number;
}

/** The file name of a job's bundle: `<job>.stage.js`. */
export function stageBundleName(jobName: string): string {
  return `${jobName}.stage.js`;
}

/**
 * Builds the bundle of the job at `source` into `outFile` (a `package.json` saying CommonJS is written
 * beside it, so it also runs inside a `"type": "module"` project).
 */
export async function buildStageBundle(source: JobSource, outFile: string, options: { minify?: boolean } = {}): Promise<StageBundle> {
  const modulePath = source.module.startsWith('file:') ? fileURLToPath(source.module) : source.module;
  const cli = fileURLToPath(new URL('./stage-cli.ts', import.meta.url));
  const entry = `import { runStageCli } from ${JSON.stringify(cli)};
import * as jobModule from ${JSON.stringify(modulePath)};
let exported = jobModule[${JSON.stringify(source.export)}];
if (typeof exported === 'function') exported = exported(...${JSON.stringify(source.args ?? [])});
if (!exported || !Array.isArray(exported.steps)) throw new Error('stage bundle: export ${source.export} of ${path.basename(modulePath)} is not a job');
process.exitCode = runStageCli(exported, process.argv.slice(2));
`;
  await fsp.mkdir(path.dirname(outFile), { recursive: true });
  const result = await build({
    stdin: { contents: entry, resolveDir: path.dirname(modulePath), sourcefile: 'stage-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: outFile,
    minify: options.minify ?? false,
    // Inline source maps: run with `node --enable-source-maps` and a user error's stack names the job's own .ts file and line.
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [leaveOut],
    // import.meta.url has no CommonJS meaning: give it the bundle's own URL.
    define: { 'import.meta.url': '__courier_bundle_url' },
    banner: { js: `#!/usr/bin/env node\n// Courier stage bundle of job export "${source.export}" (${path.basename(modulePath)}); see docs/cluster.md.\nconst __courier_bundle_url = require('node:url').pathToFileURL(__filename).href;` },
  });
  if (result.errors.length > 0) throw new Error(`bundling ${modulePath}: ${result.errors.map((e) => e.text).join('; ')}`);
  await fsp.writeFile(path.join(path.dirname(outFile), 'package.json'), '{ "type": "commonjs" }\n');
  const st = await fsp.stat(outFile);
  return { file: outFile, bytes: st.size };
}
