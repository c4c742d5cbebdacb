// docker/compose.yaml can't be started here (no Docker engine), so this keeps it honest another way: it parses
// the compose file and docs/mini-cluster.md and checks that they describe the same cluster, both ways (services,
// images, ports, volumes, commands), that every file either names exists, that images are official Apache ones
// with pinned tags, that the worker image installs a pinned Node 20+, and that the Hadoop config turns WebHDFS on.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../config/index.ts';
import { DEFAULT_HADOOP_STREAMING_JAR } from '../../engine/index.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dockerDir = path.join(repo, 'docker');
const composeFile = path.join(dockerDir, 'compose.yaml');
const docFile = path.join(repo, 'docs/mini-cluster.md');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[] | string;
  ports?: string[];
  volumes?: (string | { type: string; source: string; target: string })[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(fs.readFileSync(composeFile, 'utf8'), { merge: true }) as Compose;
const doc = fs.readFileSync(docFile, 'utf8');

/** `source:target` of a volume entry (short or long syntax). */
function volumeText(v: string | { source: string; target: string }): string {
  return typeof v === 'string' ? v.replace(/:ro$/, '') : `${v.source}:${v.target}`;
}

function commandText(s: Service): string {
  return Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? '');
}

/** The commands a service runs: `bash -c "a || b; exec c"` is a, b and c; anything else is itself. */
function commandsOf(s: Service): string[] {
  const c = Array.isArray(s.command) ? s.command : [s.command ?? ''];
  const script = c[0] === 'bash' && c[1] === '-c' ? c[2]! : c.join(' ');
  return script
    .split(/;|\|\||&&/)
    .map((x) => x.trim().replace(/^exec /, ''))
    .filter((x) => x !== '' && !x.startsWith('['));
}

const codeSpans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** The service table of docs/mini-cluster.md: service → its cells. */
function docServices(): Map<string, { image: string; ports: string[]; volumes: string[]; commands: string[] }> {
  const lines = doc.split('\n');
  const header = lines.findIndex((l) => /^\| service \| image \| ports \| volumes \| command \|$/.test(l));
  expect(header, 'docs/mini-cluster.md has the table | service | image | ports | volumes | command |').toBeGreaterThanOrEqual(0);
  const rows = new Map<string, { image: string; ports: string[]; volumes: string[]; commands: string[] }>();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    expect(cells, `table row "${line}"`).toHaveLength(5);
    const [service, image, ports, volumes, command] = cells as [string, string, string, string, string];
    rows.set(codeSpans(service)[0]!, { image: codeSpans(image)[0]!, ports: codeSpans(ports), volumes: codeSpans(volumes), commands: codeSpans(command) });
  }
  return rows;
}

/** `<name>value</name>`… of a Hadoop *-site.xml (our own files, one property per block). */
function hadoopProperties(file: string): Map<string, string> {
  const xml = fs.readFileSync(path.join(dockerDir, 'hadoop-conf', file), 'utf8');
  expect(xml.startsWith('<?xml'), `${file} starts with an XML declaration`).toBe(true);
  expect((xml.match(/<configuration>/g) ?? []).length, `${file} has one <configuration>`).toBe(1);
  const props = new Map<string, string>();
  for (const m of xml.matchAll(/<property>\s*(?:<!--[\s\S]*?-->\s*)?<name>([^<]+)<\/name>\s*<value>([^<]*)<\/value>\s*<\/property>/g)) props.set(m[1]!, m[2]!);
  const blocks = (xml.match(/<property>/g) ?? []).length;
  expect(props.size, `${file}: every <property> has a <name> and a <value>`).toBe(blocks);
  return props;
}

/** Dockerfile ARG defaults and FROM lines. */
function dockerfile(file: string): { args: Map<string, string>; froms: string[]; text: string } {
  const text = fs.readFileSync(file, 'utf8');
  const args = new Map<string, string>();
  for (const m of text.matchAll(/^ARG (\w+)=(\S+)$/gm)) args.set(m[1]!, m[2]!);
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  return { args, froms, text };
}

const OFFICIAL = /^apache\/(hadoop|spark):\d+\.\d+\.\d+(-[a-z0-9.]+)*$/;

describe('docker/compose.yaml and docs/mini-cluster.md (parsed here; Docker never runs here)', () => {
  const table = docServices();

  it('name the same services, images, ports, volumes and commands, both ways', () => {
    expect([...table.keys()].sort()).toEqual(Object.keys(compose.services).sort());
    for (const [name, s] of Object.entries(compose.services)) {
      const row = table.get(name)!;
      expect(row.image, `${name}: image`).toBe(s.image);
      expect([...row.ports].sort(), `${name}: ports`).toEqual([...(s.ports ?? [])].sort());
      expect([...row.volumes].sort(), `${name}: volumes`).toEqual((s.volumes ?? []).map(volumeText).sort());
      expect([...row.commands].sort(), `${name}: commands`).toEqual(commandsOf(s).sort());
    }
  });

  it('names every named volume, and the compose file declares every one its services use', () => {
    const declared = Object.keys(compose.volumes ?? {}).sort();
    const used = new Set<string>();
    for (const s of Object.values(compose.services)) for (const v of s.volumes ?? []) if (typeof v === 'string' && !v.startsWith('.')) used.add(v.split(':')[0]!);
    expect([...used].sort()).toEqual(declared);
    for (const v of declared) expect(doc, `docs/mini-cluster.md names volume ${v}`).toContain(`\`${v}\``);
  });

  it('uses official Apache images with pinned tags, directly or as the worker Dockerfile\'s bases', () => {
    const built = Object.entries(compose.services).filter(([, s]) => s.build);
    expect(built.map(([n]) => n).sort()).toEqual(['gateway', 'nodemanager']);
    for (const [name, s] of Object.entries(compose.services)) {
      if (!s.build) {
        expect(s.image, `${name}`).toMatch(OFFICIAL);
        continue;
      }
      const file = path.join(dockerDir, s.build.context, s.build.dockerfile ?? 'Dockerfile');
      expect(fs.existsSync(file), `${name}: ${file} exists`).toBe(true);
      const { args, froms } = dockerfile(file);
      // Every FROM is an official image: directly, or through an ARG whose default and compose value are official.
      for (const from of froms) {
        const arg = /^\$\{(\w+)\}$/.exec(from)?.[1];
        const values = arg ? [args.get(arg), s.build.args?.[arg]].filter((v) => v !== undefined) : [from];
        expect(values.length, `${name}: FROM ${from} has a value`).toBeGreaterThan(0);
        for (const v of values) expect(v, `${name}: FROM ${from}`).toMatch(OFFICIAL);
      }
      // The compose build args agree with the Dockerfile's defaults, so a plain `docker build` gives the same image.
      for (const [k, v] of Object.entries(s.build.args ?? {})) expect(args.get(k), `${name}: build arg ${k}`).toBe(v);
      // The built image's tag names the versions it holds.
      expect(s.image).toBe(`courier-mini-cluster/worker:${args.get('SPARK_IMAGE')!.split(':')[1]!.split('-')[0]}-hadoop${args.get('HADOOP_IMAGE')!.split(':')[1]}-node${args.get('NODE_VERSION')}`);
    }
    expect(doc).toContain('`apache/hadoop:3.4.1`');
    expect(doc).toContain('`apache/spark:3.5.8-scala2.12-java11-ubuntu`');
  });

  it('installs a pinned Node.js 20 or later from NodeSource in the worker image, and checks the version it got', () => {
    const { args, text } = dockerfile(path.join(dockerDir, 'worker/Dockerfile'));
    const version = args.get('NODE_VERSION')!;
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(version.split('.')[0])).toBeGreaterThanOrEqual(20);
    expect(args.get('NODE_MAJOR')).toBe(version.split('.')[0]);
    expect(text).toContain('https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key');
    expect(text).toContain('signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${NODE_MAJOR}.x nodistro main');
    expect(text).toContain('"nodejs=${NODE_VERSION}-1nodesource1"');
    expect(text).toContain('apt-mark hold nodejs');
    expect(text).toContain('test "$(node --version)" = "v${NODE_VERSION}"');
    expect(doc).toContain(`\`nodejs=${version}-1nodesource1\``);
    // The bundle targets (esbuild target node20) run on it.
    expect(fs.readFileSync(path.join(repo, 'engine/stage-bundle.ts'), 'utf8')).toContain("target: 'node20'");
  });

  it('refers only to files that exist', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : v.source;
        if (source.startsWith('.')) expect(fs.existsSync(path.join(dockerDir, source)), `${name}: volume source ${source}`).toBe(true);
      }
      if (s.build) expect(fs.existsSync(path.join(dockerDir, s.build.context)), `${name}: build context`).toBe(true);
    }
    for (const f of ['core-site.xml', 'hdfs-site.xml', 'yarn-site.xml', 'mapred-site.xml', 'capacity-scheduler.xml', 'log4j.properties']) {
      expect(fs.existsSync(path.join(dockerDir, 'hadoop-conf', f)), `docker/hadoop-conf/${f}`).toBe(true);
      expect(doc, `docs/mini-cluster.md names ${f}`).toContain(`\`${f}\``);
    }
    expect(fs.existsSync(path.join(dockerDir, 'spark-conf/spark-defaults.conf'))).toBe(true);
    // Every repository path the page names (docker/…, docs/…, engine/…, test/…, config/…) exists.
    const named = new Set([...doc.matchAll(/`((?:docker|docs|engine|test|config)\/[\w./-]+)`/g)].map((m) => m[1]!));
    expect(named.size).toBeGreaterThan(3);
    for (const p of named) expect(fs.existsSync(path.join(repo, p)), `docs/mini-cluster.md names ${p}`).toBe(true);
  });

  it('has a healthcheck on every service, and starts services after the ones they need are healthy', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.healthcheck?.test[0], `${name}: healthcheck`).toBe('CMD-SHELL');
      for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(d.condition).toBe('service_healthy');
      }
    }
  });

  it('runs only commands on services that exist, with the compose file the page starts', () => {
    const shellLines = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).filter((l) => l.startsWith('docker compose'));
    expect(shellLines.length).toBeGreaterThan(4);
    for (const line of shellLines) {
      expect(line, 'every docker compose line names docker/compose.yaml').toMatch(/^docker compose -f docker\/compose\.yaml /);
      const exec = /\bexec -T (\S+) (\S+)/.exec(line);
      if (exec) {
        expect(compose.services[exec[1]!], `${line}: service ${exec[1]}`).toBeDefined();
        expect(['hdfs', 'yarn', 'node', 'hadoop', 'spark-sql', 'spark-submit'], `${line}: a program the worker image has`).toContain(exec[2]);
      }
    }
    // The gateway the config names is the one the compose file defines, as the engine takes it.
    expect(doc).toContain('gateway: [docker, compose, -f, docker/compose.yaml, exec, -T, gateway]');
    expect(compose.services['gateway']!.command).toEqual(['sleep', 'infinity']);
  });

  it('configures HDFS with WebHDFS on the published port 9870, YARN with the MapReduce shuffle, Spark on YARN', () => {
    const core = hadoopProperties('core-site.xml');
    const hdfs = hadoopProperties('hdfs-site.xml');
    const yarn = hadoopProperties('yarn-site.xml');
    const mapred = hadoopProperties('mapred-site.xml');
    hadoopProperties('capacity-scheduler.xml');
    expect(core.get('fs.defaultFS')).toBe('hdfs://namenode:8020');
    expect(hdfs.get('dfs.webhdfs.enabled')).toBe('true');
    expect(hdfs.get('dfs.namenode.http-address')).toBe('0.0.0.0:9870');
    expect(hdfs.get('dfs.namenode.rpc-address')).toBe('namenode:8020');
    expect(hdfs.get('dfs.datanode.http.address')).toBe('0.0.0.0:9864');
    expect(hdfs.get('dfs.datanode.hostname')).toBe('datanode');
    expect(compose.services['datanode']!.ports).toContain('9864:9864');
    expect(compose.services['namenode']!.ports).toContain('9870:9870');
    // The name and data dirs live on the named volumes.
    expect(hdfs.get('dfs.namenode.name.dir')!.startsWith('/data/hdfs/')).toBe(true);
    expect(hdfs.get('dfs.datanode.data.dir')!.startsWith('/data/hdfs/')).toBe(true);
    expect(commandText(compose.services['namenode']!)).toContain(`[ -d ${hdfs.get('dfs.namenode.name.dir')}/current ]`);
    expect(yarn.get('yarn.resourcemanager.hostname')).toBe('resourcemanager');
    expect(yarn.get('yarn.nodemanager.aux-services')).toBe('mapreduce_shuffle');
    expect(mapred.get('mapreduce.framework.name')).toBe('yarn');
    const spark = fs.readFileSync(path.join(dockerDir, 'spark-conf/spark-defaults.conf'), 'utf8');
    expect(spark).toMatch(/^spark\.master\s+yarn$/m);
    expect(spark).toMatch(/^spark\.driver\.host\s+gateway$/m);
    // Every Hadoop process reads this directory.
    for (const [name, s] of Object.entries(compose.services)) {
      expect((s.volumes ?? []).map(volumeText), name).toContain('./hadoop-conf:/opt/courier/hadoop-conf');
      if (!s.build) expect(s.environment?.['HADOOP_CONF_DIR'], name).toBe('/opt/courier/hadoop-conf');
    }
    expect(fs.readFileSync(path.join(dockerDir, 'worker/Dockerfile'), 'utf8')).toContain('HADOOP_CONF_DIR=/opt/courier/hadoop-conf');
  });

  it('names the streaming jar the Hadoop image ships, which is the engine\'s default', () => {
    const hadoopVersion = compose.services['namenode']!.image!.split(':')[1]!;
    const jar = `/opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-${hadoopVersion}.jar`;
    expect(DEFAULT_HADOOP_STREAMING_JAR).toBe(jar);
    expect(doc).toContain(jar);
    expect(fs.readFileSync(path.join(dockerDir, 'worker/Dockerfile'), 'utf8')).toContain(`test -f ${jar}`);
  });

  it('gives a config snippet that the config schema accepts', () => {
    const snippet = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((t) => t.includes('sparkSubmit'));
    expect(snippet).toBeDefined();
    const example = parse(fs.readFileSync(path.join(repo, 'config/courier.example.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    const part = parse(snippet!) as Record<string, Record<string, unknown>>;
    const merged = { ...example, storage: { ...example['storage'], ...part['storage'] }, engine: { ...example['engine'], ...part['engine'] } };
    const config = parseConfig(JSON.stringify(merged), { file: path.join(repo, 'config/mini-cluster.yaml') });
    expect(config.engine.kind).toBe('spark-submit');
    expect(config.engine.sparkSubmit?.gateway).toEqual(['docker', 'compose', '-f', 'docker/compose.yaml', 'exec', '-T', 'gateway']);
    expect(config.storage.root).toBe('webhdfs://localhost:9870/courier/data');
    // The config's default jar is the one the mini-cluster's Hadoop image ships.
    expect(config.engine.sparkSubmit?.hadoopStreamingJar).toBe(DEFAULT_HADOOP_STREAMING_JAR);
    expect(config.storage.webhdfs?.datanodeAddresses).toEqual({ 'datanode:9864': 'localhost:9864' });
  });
});
