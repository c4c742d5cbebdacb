/**
 * `npm run bench`: runs each benchmark in its own process (so one's heap and threads don't skew the next)
 * and passes its JSON lines through. `npm run bench -- parquet` runs only the named ones;
 * `npm run bench -- engine --events 10000000` hands everything from the first option on to the one named bench.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const benches: Record<string, string[]> = {
  parquet: ['parquet-bench.ts'],
  engine: ['engine-bench.ts'],
  cluster: ['cluster-bench.ts'],
  daily: ['daily-bench.ts'],
  listener: ['listener-bench.ts'],
  queue: ['queue-bench.ts'],
  syncer: ['syncer-bench.ts'],
  deliver: ['deliver-bench.ts'],
};
const argv = process.argv.slice(2);
const firstOption = argv.findIndex((a) => a.startsWith('-'));
const wanted = firstOption < 0 ? argv : argv.slice(0, firstOption);
const passed = firstOption < 0 ? [] : argv.slice(firstOption);
for (const name of wanted) {
  if (!benches[name]) {
    console.error(`unknown bench "${name}"; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
}
// Each bench has options of its own: hand them over only when one bench is named.
if (passed.length > 0 && wanted.length !== 1) {
  console.error(`options (${passed.join(' ')}) go to one bench: name it first, as in npm run bench -- engine --events 10000000`);
  process.exit(2);
}
let failed = false;
for (const [name, args] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  process.stderr.write(`bench ${name}…\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, args[0]!), ...args.slice(1), ...passed], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench ${name} failed with exit ${r.status ?? r.signal}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
