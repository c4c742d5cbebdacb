/**
 * A stand-in for a Hadoop/Spark cluster's gateway, for the spark-submit engine's tests where no cluster can run
 * (docker/compose.yaml is the real one). Used as the gateway prefix `[node, --import, tsx, <this file>]`.
 *
 * `hadoop jar <…hadoop-streaming….jar> [generic options] [streaming options]` is carried out as Hadoop
 * Streaming's document (hadoop-tools/hadoop-streaming/src/site/markdown/HadoopStreaming.md.vm) and its classes
 * say, for the options it knows (anything else fails as Hadoop does, naming the option):
 *   - generic options only before streaming ones: `-D k=v`, `-files a,b#name` (each file copied into every
 *     task's working directory under its base name or `#name`, mode 0555 as YARN localises it);
 *   - `-input` (repeatable; a file, or a directory's visible files), `-output` (must not exist), `-mapper`,
 *     `-reducer` (a command resolved in the task directory first, then on PATH), `-partitioner
 *     org.apache.hadoop.mapred.lib.KeyFieldBasedPartitioner` (with `mapreduce.partition.keypartitioner.options
 *     -kN,M`), `-numReduceTasks` / `-D mapreduce.job.reduces`;
 *   - TextInputFormat: gzip by the `.gz` suffix, lines ended by LF, CRLF or CR, only the line handed to the
 *     mapper; one split per file (what `split.minsize` at its maximum asks for); the split's file in
 *     `$mapreduce_map_input_file` as Hadoop prints a local path (`file:/…`), and every -D as an environment
 *     variable with dots as underscores;
 *   - map output split into key and value after `stream.num.map.output.key.fields` tabs, partitioned by
 *     KeyFieldBasedPartitioner's hash (31·h + signed byte over the chosen fields, `(h & MAX_INT) % reducers`)
 *     or else HashPartitioner's (Text.hashCode), sorted per reducer bytewise on the key by `LC_ALL=C sort`;
 *   - reducers fed `key<TAB>value` lines; their lines written by TextOutputFormat to `part-NNNNN`, then `_SUCCESS`
 *     unless `mapreduce.fileoutputcommitter.marksuccessfuljobs=false`;
 *   - `reporter:counter:` and `reporter:status:` on task stderr; a task exiting non-zero fails its attempt,
 *     retried up to `mapreduce.{map,reduce}.maxattempts` (default 4); the job client's log lines (`map N%
 *     reduce M%`, `Counters: N` with tab-indented groups) on stderr, and exit code 1 for a failed job.
 *
 * Paths: local ones and `file:` URIs, and `hdfs:` URIs through the WebHDFS endpoint in `$STAND_IN_HDFS_WEBHDFS`
 * (a stand-in namenode, test/support/webhdfs-server.ts), as the cluster's fs.defaultFS.
 *
 * `spark-sql -f <script>` is not run (no Spark here): the script is read from its URI and recorded under
 * `$STAND_IN_RECORD`, with the command line, and the command exits with `$STAND_IN_SPARK_SQL_EXIT` (default 1).
 * Every command line is appended to `$STAND_IN_RECORD/commands.jsonl`.
 * Any other command: `<name>: command not found`, exit 127, as a shell says.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const argv = process.argv.slice(2);
const log = (level: string, where: string, message: string): void => {
  process.stderr.write(`${new Date().toISOString().replace('T', ' ').replace('Z', '').replace('.', ',')} ${level} ${where}: ${message}\n`);
};

/** Why a path cannot be used, as the job client reports it (exit code 5: the job was not launched). */
class LaunchError extends Error {}

/**
 * The cluster's file systems as the job client and tasks see them: local paths and `file:` URIs, and `hdfs:`
 * URIs served by the WebHDFS endpoint in `$STAND_IN_HDFS_WEBHDFS` (the stand-in's namenode; user
 * `$STAND_IN_HDFS_USER`), printed as `hdfs://$STAND_IN_HDFS_AUTHORITY/…` the way Hadoop qualifies paths.
 */
interface ClusterFs {
  /** The path as Hadoop prints it qualified (`file:/x`, `hdfs://namenode:8020/x`). */
  display(p: string): string;
  kind(p: string): Promise<'file' | 'dir' | undefined>;
  list(p: string): Promise<string[]>;
  read(p: string): Promise<Buffer>;
  write(p: string, data: string | Buffer): Promise<void>;
}

const localFs: ClusterFs = {
  display: (p) => `file:${p}`,
  kind: async (p) => (fs.existsSync(p) ? (fs.statSync(p).isDirectory() ? 'dir' : 'file') : undefined),
  list: async (p) => fs.readdirSync(p).sort(),
  read: async (p) => fs.readFileSync(p),
  write: async (p, data) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
  },
};

function webHdfs(): { url: (p: string, op: string, extra?: string) => string } {
  const base = process.env['STAND_IN_HDFS_WEBHDFS'];
  if (!base) throw new LaunchError('No FileSystem for scheme "hdfs" (the stand-in has no $STAND_IN_HDFS_WEBHDFS)');
  const user = process.env['STAND_IN_HDFS_USER'];
  return { url: (p, op, extra = '') => `${base}/webhdfs/v1${encodeURI(p)}?op=${op}${user ? `&user.name=${encodeURIComponent(user)}` : ''}${extra}` };
}

async function checked(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

const hdfsFs: ClusterFs = {
  display: (p) => `hdfs://${process.env['STAND_IN_HDFS_AUTHORITY'] ?? 'namenode:8020'}${p}`,
  kind: async (p) => {
    const res = await fetch(webHdfs().url(p, 'GETFILESTATUS'));
    if (res.status === 404) return undefined;
    const body = (await (await checked(res, `GETFILESTATUS ${p}`)).json()) as { FileStatus: { type: string } };
    return body.FileStatus.type === 'DIRECTORY' ? 'dir' : 'file';
  },
  list: async (p) => {
    const res = await checked(await fetch(webHdfs().url(p, 'LISTSTATUS')), `LISTSTATUS ${p}`);
    const body = (await res.json()) as { FileStatuses: { FileStatus: { pathSuffix: string }[] } };
    return body.FileStatuses.FileStatus.map((f) => f.pathSuffix).sort();
  },
  // OPEN is redirected to a datanode; fetch follows it.
  read: async (p) => Buffer.from(await (await checked(await fetch(webHdfs().url(p, 'OPEN')), `OPEN ${p}`)).arrayBuffer()),
  // CREATE in two steps, as the document says: the namenode answers 307 with the datanode's URL, which takes the bytes.
  write: async (p, data) => {
    const first = await fetch(webHdfs().url(p, 'CREATE', '&overwrite=true'), { method: 'PUT', redirect: 'manual' });
    const location = first.headers.get('location');
    if (first.status !== 307 || !location) throw new Error(`CREATE ${p}: expected a 307 redirect, got ${first.status} ${await first.text()}`);
    await checked(await fetch(location, { method: 'PUT', body: typeof data === 'string' ? data : new Uint8Array(data) }), `CREATE ${p} (datanode)`);
  },
};

/** The file system and path of a URI or plain path. */
function clusterPath(uri: string): { cfs: ClusterFs; p: string } {
  if (uri.startsWith('file://')) return { cfs: localFs, p: fileURLToPath(uri) };
  if (uri.startsWith('file:')) return { cfs: localFs, p: uri.slice('file:'.length) };
  const hdfs = /^hdfs:\/\/[^/]*(\/.*)?$/.exec(uri);
  if (hdfs) return { cfs: hdfsFs, p: decodeURI(hdfs[1] ?? '/') };
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) throw new LaunchError(`No FileSystem for scheme "${uri.slice(0, uri.indexOf(':'))}"`);
  return { cfs: localFs, p: path.resolve(uri) };
}

/** PipeMapRed.splitArgs: words split at spaces outside single or double quotes; a quote ends a word. */
function splitArgs(args: string): string[] {
  const out: string[] = [];
  let state: 'out' | 'single' | 'double' = 'out';
  let start = 0;
  for (let c = 0; c <= args.length; c++) {
    const last = c === args.length;
    const before = state;
    let end = false;
    if (!last) {
      const ch = args[c];
      if (ch === "'") {
        if (state === 'out') state = 'single';
        else if (state === 'single') state = 'out';
        end = state !== before;
      } else if (ch === '"') {
        if (state === 'out') state = 'double';
        else if (state === 'double') state = 'out';
        end = state !== before;
      } else if (ch === ' ' && state === 'out') end = true;
    }
    if (last || end) {
      if (c !== start) out.push(args.slice(start, c));
      start = c + 1;
    }
  }
  return out;
}

/** Hadoop's LineReader: lines ended by LF, CRLF or CR; a last line without an ending counts. */
function textLines(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  if (text === '') return [];
  const lines = text.split(/\r\n|\n|\r/);
  if (/(\r\n|\n|\r)$/.test(text)) lines.pop();
  return lines;
}

/** Java's `31 * h + b` over signed bytes, in 32-bit arithmetic. */
function hashBytes(bytes: Buffer, start: number, end: number, seed: number): number {
  let h = seed;
  for (let i = start; i <= end; i++) h = (Math.imul(31, h) + ((bytes[i]! << 24) >> 24)) | 0;
  return h;
}

class Counters {
  readonly groups = new Map<string, Map<string, number>>();
  add(group: string, name: string, n: number): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    g.set(name, (g.get(name) ?? 0) + n);
  }
  addAll(o: Counters): void {
    for (const [g, names] of o.groups) for (const [n, v] of names) this.add(g, n, v);
  }
}

interface TaskRun {
  code: number;
  out: string[];
  counters: Counters;
}

/** Runs one streaming task attempt: the command in `dir`, fed `input` lines, its stdout lines and counters back. */
function runTask(command: string, dir: string, env: NodeJS.ProcessEnv, input: readonly string[], attempt: string): Promise<TaskRun> {
  const words = splitArgs(command);
  const local = path.join(dir, words[0]!);
  const exe = fs.existsSync(local) ? local : words[0]!;
  return new Promise((resolve) => {
    const child = spawn(exe, words.slice(1), { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const counters = new Counters();
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      stderr += `${e.message}\n`;
    });
    child.on('close', (code) => {
      const kept: string[] = [];
      for (const l of stderr.split('\n')) {
        const m = /^reporter:counter:([^,]*),([^,]*),(-?\d+)$/.exec(l);
        if (m) counters.add(m[1]!, m[2]!, Number(m[3]));
        else if (!l.startsWith('reporter:status:') && l !== '') kept.push(l);
      }
      // The container log of the attempt, as YARN keeps it.
      fs.writeFileSync(path.join(dir, `${attempt}.stderr`), kept.join('\n') + '\n');
      const out = stdout === '' ? [] : stdout.split('\n');
      if (out.at(-1) === '') out.pop();
      resolve({ code: code ?? 1, out: out.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)), counters });
    });
    child.stdin.end(input.length > 0 ? input.join('\n') + '\n' : '');
  });
}

async function hadoopStreaming(args: string[]): Promise<number> {
  const conf = new Map<string, string>();
  const files: string[] = [];
  let i = 0;
  // Generic options (GenericOptionsParser) come first.
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-D' || a.startsWith('-D')) {
      const kv = a === '-D' ? args[++i]! : a.slice(2);
      const eq = kv.indexOf('=');
      conf.set(kv.slice(0, eq), kv.slice(eq + 1));
    } else if (a === '-files') files.push(...args[++i]!.split(','));
    else break;
  }
  const inputs: string[] = [];
  let output: string | undefined;
  let mapper: string | undefined;
  let reducer: string | undefined;
  let partitioner: string | undefined;
  for (; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) {
        log('ERROR', 'streaming.StreamJob', `Missing argument for option: ${a.slice(1)}`);
        process.exit(1);
      }
      return v;
    };
    if (a === '-input') inputs.push(value());
    else if (a === '-output') output = value();
    else if (a === '-mapper') mapper = value();
    else if (a === '-reducer') reducer = value();
    else if (a === '-partitioner') partitioner = value();
    else if (a === '-numReduceTasks') conf.set('mapreduce.job.reduces', value());
    else {
      // Generic options after streaming ones, and options this stand-in does not carry out, fail like an unknown option.
      log('ERROR', 'streaming.StreamJob', `Unrecognized option: ${a}`);
      process.stdout.write('Try -help for more information\nStreaming Command Failed!\n');
      return 1;
    }
  }
  if (inputs.length === 0 || output === undefined || mapper === undefined) {
    log('ERROR', 'streaming.StreamJob', 'Required arguments missing: -input, -output and -mapper are required');
    return 1;
  }
  if (partitioner !== undefined && partitioner !== 'org.apache.hadoop.mapred.lib.KeyFieldBasedPartitioner') {
    log('ERROR', 'streaming.StreamJob', `the stand-in does not carry out partitioner ${partitioner}`);
    return 1;
  }
  const reducers = Number(conf.get('mapreduce.job.reduces') ?? '1');
  const keyFields = Number(conf.get('stream.num.map.output.key.fields') ?? '1');
  const out = clusterPath(output);
  if ((await out.cfs.kind(out.p)) !== undefined) {
    log('ERROR', 'streaming.StreamJob', `Error Launching job , Output path already exists : Output directory ${out.cfs.display(out.p)} already exists`);
    return 5;
  }
  const splits: { cfs: ClusterFs; p: string }[] = [];
  for (const input of inputs) {
    const at = clusterPath(input);
    const kind = await at.cfs.kind(at.p);
    if (kind === undefined) {
      log('ERROR', 'streaming.StreamJob', `Error Launching job : Input path does not exist: ${at.cfs.display(at.p)}`);
      return 5;
    }
    if (kind === 'dir') {
      for (const name of await at.cfs.list(at.p)) {
        if (name.startsWith('_') || name.startsWith('.')) continue;
        const child = path.posix.join(at.p, name);
        if ((await at.cfs.kind(child)) === 'dir') {
          log('ERROR', 'streaming.StreamJob', `Error Launching job : Not a file: ${at.cfs.display(child)}`);
          return 5;
        }
        splits.push({ cfs: at.cfs, p: child });
      }
    } else splits.push(at);
  }
  const keySpec = /^-k(\d+),(\d+)$/.exec(conf.get('mapreduce.partition.keypartitioner.options') ?? '');
  if (partitioner && !keySpec) {
    log('ERROR', 'streaming.StreamJob', 'the stand-in carries out KeyFieldBasedPartitioner options of the form -kN,M only');
    return 1;
  }
  const work = fs.mkdtempSync(path.join(process.env['STAND_IN_WORK'] ?? os.tmpdir(), 'stand-in-job-'));
  const jobId = `job_${Date.now()}_0001`;
  const appId = jobId.replace('job_', '');
  log('INFO', 'mapreduce.JobSubmitter', `number of splits:${splits.length}`);
  log('INFO', 'mapreduce.Job', `Running job: ${jobId}`);
  log('INFO', 'mapreduce.Job', ' map 0% reduce 0%');

  // The distributed cache: each -files entry fetched once, then linked into every task directory (as YARN localises it).
  const cache: { name: string; bytes: Buffer }[] = [];
  for (const f of files) {
    const [uri, alias] = f.split('#') as [string, string | undefined];
    const at = clusterPath(uri);
    if ((await at.cfs.kind(at.p)) !== 'file') {
      log('ERROR', 'streaming.StreamJob', `Error Launching job : File ${at.cfs.display(at.p)} does not exist`);
      return 5;
    }
    cache.push({ name: alias ?? path.posix.basename(at.p), bytes: await at.cfs.read(at.p) });
  }
  const taskDir = (id: string): string => {
    const dir = path.join(work, id);
    fs.mkdirSync(dir, { recursive: true });
    for (const { name, bytes } of cache) {
      const target = path.join(dir, name);
      fs.writeFileSync(target, bytes);
      fs.chmodSync(target, 0o555);
    }
    return dir;
  };
  const baseEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of conf) baseEnv[k.replaceAll('.', '_')] = v;
  const counters = new Counters();
  const failJob = (task: string, why: string): number => {
    log('INFO', 'mapreduce.Job', `Job ${jobId} failed with state FAILED due to: Task failed ${task}\nJob failed as tasks failed. ${why}`);
    log('ERROR', 'streaming.StreamJob', 'Job not successful!');
    process.stdout.write('Streaming Command Failed!\n');
    return 1;
  };
  const attempts = (kind: 'map' | 'reduce'): number => Number(conf.get(`mapreduce.${kind}.maxattempts`) ?? '4');

  // Map: one task per split, up to $STAND_IN_SLOTS (default 4) at once as containers on a node; each task's
  // output is kept apart and handed to the sort in task order, so a run is repeatable.
  const spill = Array.from({ length: reducers }, (_, r) => path.join(work, `map-output-r${r}`));
  for (const f of spill) fs.writeFileSync(f, '');
  let mapInput = 0;
  let mapOutput = 0;
  const slots = Math.max(1, Number(process.env['STAND_IN_SLOTS'] ?? '4'));
  const outputs: (string[][] | undefined)[] = new Array(splits.length).fill(undefined);
  let next = 0;
  let done = 0;
  let failed: string | undefined;
  const mapTask = async (t: number): Promise<void> => {
    const split = splits[t]!;
    const bytes = await split.cfs.read(split.p);
    const lines = textLines(split.p.endsWith('.gz') ? gunzipSync(bytes) : bytes);
    let run: TaskRun | undefined;
    for (let a = 0; a < attempts('map'); a++) {
      const attempt = `attempt_${appId}_m_${String(t).padStart(6, '0')}_${a}`;
      const env = { ...baseEnv, mapreduce_map_input_file: split.cfs.display(split.p), mapreduce_map_input_start: '0', mapreduce_map_input_length: String(bytes.length), mapreduce_task_attempt_id: attempt };
      run = await runTask(mapper, taskDir(attempt), env, lines, attempt);
      if (run.code === 0) break;
      log('INFO', 'mapreduce.Job', `Task Id : ${attempt}, Status : FAILED\nError: java.lang.RuntimeException: PipeMapRed.waitOutputThreads(): subprocess failed with code ${run.code}`);
    }
    if (run!.code !== 0) {
      failed ??= `task_${appId}_m_${String(t).padStart(6, '0')}`;
      return;
    }
    counters.addAll(run!.counters);
    mapInput += lines.length;
    mapOutput += run!.out.length;
    const byReducer: string[][] = Array.from({ length: reducers }, () => []);
    for (const line of run!.out) {
      // The key is the line up to the keyFields-th tab; fewer tabs: the whole line, with an empty value.
      let at = -1;
      for (let k = 0; k < keyFields; k++) {
        at = line.indexOf('\t', at + 1);
        if (at < 0) break;
      }
      const key = at < 0 ? line : line.slice(0, at);
      const value = at < 0 ? '' : line.slice(at + 1);
      const bytesOfKey = Buffer.from(key, 'utf8');
      let hash: number;
      if (keySpec) {
        // KeyFieldBasedPartitioner: the chosen fields' bytes (separator tab), hashed in turn; an empty key is partition 0.
        const fields = key.split('\t');
        const from = Number(keySpec[1]) - 1;
        const to = Math.min(Number(keySpec[2]), fields.length) - 1;
        let h = 0;
        if (bytesOfKey.length > 0 && from < fields.length) {
          const startChar = Buffer.byteLength(fields.slice(0, from).map((f) => f + '\t').join(''), 'utf8');
          const endChar = Buffer.byteLength(fields.slice(0, to + 1).join('\t'), 'utf8') - 1;
          h = hashBytes(bytesOfKey, startChar, endChar, 0);
        }
        hash = bytesOfKey.length === 0 ? 0 : h;
      } else hash = hashBytes(bytesOfKey, 0, bytesOfKey.length - 1, 1);
      byReducer[((hash & 0x7fffffff) % reducers)]!.push(`${key}\t${value}`);
    }
    outputs[t] = byReducer;
    done++;
    log('INFO', 'mapreduce.Job', ` map ${Math.floor((done / splits.length) * 100)}% reduce 0%`);
  };
  await Promise.all(
    Array.from({ length: Math.min(slots, splits.length) }, async () => {
      while (failed === undefined && next < splits.length) await mapTask(next++);
    }),
  );
  if (failed !== undefined) return failJob(failed, 'failedMaps:1 failedReduces:0 killedMaps:0 killedReduces: 0');
  for (const byReducer of outputs) for (const [r, ls] of byReducer!.entries()) if (ls.length > 0) fs.appendFileSync(spill[r]!, ls.join('\n') + '\n');

  // Reduce: each reducer's map output sorted bytewise on the key fields (stable: map order within a key).
  const parts: [string, string][] = [];
  let reduceInput = 0;
  let reduceGroups = 0;
  for (let r = 0; r < reducers; r++) {
    const sorted = spawnSync('sort', ['-s', '-t', '\t', `-k1,${keyFields}`, spill[r]!], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 30, encoding: 'utf8' });
    if (sorted.status !== 0) throw new Error(`sort failed: ${sorted.stderr}`);
    const lines = sorted.stdout === '' ? [] : sorted.stdout.replace(/\n$/, '').split('\n');
    reduceInput += lines.length;
    reduceGroups += new Set(lines.map((l) => l.split('\t').slice(0, keyFields).join('\t'))).size;
    const task = `task_${appId}_r_${String(r).padStart(6, '0')}`;
    let run: TaskRun | undefined;
    if (reducer === undefined) run = { code: 0, out: lines, counters: new Counters() };
    else {
      for (let a = 0; a < attempts('reduce'); a++) {
        const attempt = `attempt_${appId}_r_${String(r).padStart(6, '0')}_${a}`;
        run = await runTask(reducer, taskDir(attempt), { ...baseEnv, mapreduce_task_attempt_id: attempt }, lines, attempt);
        if (run.code === 0) break;
        log('INFO', 'mapreduce.Job', `Task Id : ${attempt}, Status : FAILED\nError: java.lang.RuntimeException: PipeMapRed.waitOutputThreads(): subprocess failed with code ${run.code}`);
      }
    }
    if (run!.code !== 0) return failJob(task, 'failedMaps:0 failedReduces:1 killedMaps:0 killedReduces: 0');
    counters.addAll(run!.counters);
    // TextOutputFormat: key, tab, value (a line without a tab is a key with an empty value).
    const text = run!.out.map((l) => (l.includes('\t') ? l : `${l}\t`)).join('\n');
    parts.push([`part-${String(r).padStart(5, '0')}`, text === '' ? '' : text + '\n']);
    log('INFO', 'mapreduce.Job', ` map 100% reduce ${Math.floor(((r + 1) / reducers) * 100)}%`);
  }
  // Job commit: the parts in place, then the success marker last.
  for (const [name, text] of parts) await out.cfs.write(path.posix.join(out.p, name), text);
  if (conf.get('mapreduce.fileoutputcommitter.marksuccessfuljobs') !== 'false') await out.cfs.write(path.posix.join(out.p, '_SUCCESS'), '');
  log('INFO', 'mapreduce.Job', `Job ${jobId} completed successfully`);

  const framework = new Map<string, Map<string, number>>([
    ['Map-Reduce Framework', new Map([['Map input records', mapInput], ['Map output records', mapOutput], ['Reduce input groups', reduceGroups], ['Reduce input records', reduceInput]])],
    ['Job Counters ', new Map([['Launched map tasks', splits.length], ['Launched reduce tasks', reducers]])],
  ]);
  const all = [...framework, ...counters.groups];
  const n = all.reduce((s, [, g]) => s + g.size, 0);
  const text = [`Counters: ${n}`, ...all.flatMap(([g, names]) => [`\t${g}`, ...[...names].map(([k, v]) => `\t\t${k}=${v}`)])].join('\n');
  log('INFO', 'mapreduce.Job', text);
  log('INFO', 'streaming.StreamJob', `Output directory: ${output}`);
  fs.rmSync(work, { recursive: true, force: true });
  return 0;
}

async function sparkSql(args: string[]): Promise<number> {
  const f = args.indexOf('-f');
  if (f < 0 || args[f + 1] === undefined) {
    process.stderr.write('spark-sql: the stand-in only takes spark-sql -f <script>\n');
    return 1;
  }
  const at = clusterPath(args[f + 1]!);
  const script = (await at.cfs.read(at.p)).toString('utf8');
  const record = process.env['STAND_IN_RECORD'];
  if (record) {
    fs.mkdirSync(record, { recursive: true });
    const n = fs.readdirSync(record).filter((x) => x.endsWith('.sql')).length;
    fs.writeFileSync(path.join(record, `spark-sql-${n}.sql`), script);
    fs.writeFileSync(path.join(record, `spark-sql-${n}.args.json`), JSON.stringify(args));
  }
  const code = Number(process.env['STAND_IN_SPARK_SQL_EXIT'] ?? '1');
  process.stderr.write(`stand-in: spark-sql read ${script.length} characters of script and did not run them (no Spark here); exit ${code}\n`);
  return code;
}

async function main(): Promise<number> {
  const record = process.env['STAND_IN_RECORD'];
  if (record) {
    // Every command line the gateway got, for tests to read.
    fs.mkdirSync(record, { recursive: true });
    fs.appendFileSync(path.join(record, 'commands.jsonl'), JSON.stringify(argv) + '\n');
  }
  if (argv[0] === 'hadoop' && argv[1] === 'jar') {
    const jar = argv[2] ?? '';
    if (!/\/hadoop-streaming[^/]*\.jar$/.test(jar)) {
      process.stderr.write(`JAR does not exist or is not a normal file: ${jar}\n`);
      return 255;
    }
    return hadoopStreaming(argv.slice(3));
  }
  if (argv[0] === 'spark-sql') return sparkSql(argv.slice(1));
  process.stderr.write(`bash: ${argv[0] ?? ''}: command not found\n`);
  return 127;
}

try {
  process.exitCode = await main();
} catch (e) {
  if (!(e instanceof LaunchError)) throw e;
  log('ERROR', 'streaming.StreamJob', `Error Launching job : ${e.message}`);
  process.exitCode = 5;
}
