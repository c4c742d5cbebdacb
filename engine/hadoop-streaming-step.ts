/**
 * The Hadoop Streaming job of one text-only step (every input `format: 'lines'`), as `hadoop jar
 * hadoop-streaming.jar` runs it (Hadoop's HadoopStreaming.md; docs/cluster.md's settings table): the stage
 * bundle and two small shell scripts shipped with `-files`, every input file an `-input`, the map output's
 * first two fields (partition, key) as Hadoop's key, partitioned on the first by KeyFieldBasedPartitioner and
 * sorted bytewise, one Hadoop reducer per Courier reducer partition.
 *
 * Why scripts rather than commands in `-mapper`: a step has several inputs but Hadoop runs one mapper
 * command, so the map script picks the input (and the file's storage URI, for the quarantine) from the
 * split's file, which Hadoop exports as `$mapreduce_map_input_file`; and parameters are JSON, which Hadoop's
 * own splitting of `-mapper` strings cannot carry. Every argument of the command line is a plain shell word,
 * so the same argv works through `docker compose exec` (argv as is) and `ssh` (re-split by a remote shell).
 *
 * No `-combiner`: the bundle's map command already combines its own output when the step has a combiner,
 * and a Hadoop combiner's own `courier` counters would count records twice. Files are never split
 * (`split.minsize` at its maximum): each map task reads a whole file from line 0, so bad records are
 * located by file and line exactly as on the local runner (gzip files are never split by Hadoop anyway).
 */
import { joinUri } from '../storage/index.ts';
import type { RunPlan, PlannedStep } from './run-plan.ts';
import { stageBundleName } from './stage-bundle.ts';

/** Where the official apache/hadoop 3.4.1 image (and the mini-cluster's worker image) keeps the streaming jar. */
export const DEFAULT_HADOOP_STREAMING_JAR = '/opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-3.4.1.jar';

/** One input file of a streaming step: its input name, its storage URI and its URI on the cluster. */
export interface StreamingInputFile {
  readonly input: string;
  readonly uri: string;
  readonly clusterUri: string;
}

/** What a streaming step's command needs beyond the plan. */
export interface HadoopStreamingStepOptions {
  readonly jar: string;
  /** The node command on the cluster's nodes. */
  readonly node: string;
  /** The job's parameters as given (the bundle parses them with the job's own schema). */
  readonly rawParams: unknown;
  readonly reducers: number;
  readonly recordsInTotal: number;
  readonly quarantineSample?: number;
  /** The staging directory of this run (storage URI) and the same on the cluster. */
  readonly stagingDir: string;
  readonly clusterStagingDir: string;
  /** The streaming job's output directory on the cluster (must not exist: Hadoop refuses to overwrite). */
  readonly clusterOutput: string;
  readonly files: readonly StreamingInputFile[];
}

/** The staged files and the command line of a streaming step. */
export interface HadoopStreamingStep {
  /** Scripts to stage: storage URI → text. */
  readonly scripts: ReadonlyMap<string, string>;
  /** The command after the gateway prefix: `hadoop jar <jar> -D … -files … -input … -output … -mapper … -reducer …`. */
  readonly args: readonly string[];
}

/** A shell word that needs no quoting in sh, bash or a remote shell. */
export const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes text for sh inside single quotes. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The names the scripts have in a task's working directory (`-files` links them there by base name). */
export function streamingScriptNames(step: string): { map: string; reduce: string } {
  return { map: `courier-${step}.map.sh`, reduce: `courier-${step}.reduce.sh` };
}

/** The path part of a URI, as Hadoop prints a split's file after its scheme and authority. */
function pathOf(uri: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)$/i.exec(uri);
  return decodeURIComponent(m ? m[1]! : uri);
}

/** Builds the scripts and the `hadoop jar` command line of one text-only step. */
export function hadoopStreamingStep(plan: RunPlan<unknown>, step: PlannedStep<unknown>, o: HadoopStreamingStepOptions): HadoopStreamingStep {
  const job = plan.job.name;
  const def = step.definition;
  const bundle = stageBundleName(job);
  const names = streamingScriptNames(def.name);
  const common = [
    '--params', shellQuote(JSON.stringify(o.rawParams ?? {})),
    '--max-bad-record-rate', String(step.maxBadRecordRate),
    '--expected-records-in', String(o.recordsInTotal),
    ...(o.quarantineSample !== undefined ? ['--quarantine-sample', String(o.quarantineSample)] : []),
  ].join(' ');
  const node = `${shellQuote(o.node)} --enable-source-maps ${bundle}`;
  const header = (what: string): string =>
    `#!/bin/sh\n# Courier: the ${what} of step ${def.name} of job ${job} (run ${plan.runId}), as Hadoop Streaming runs it (docs/cluster.md).\n`;
  // Longest paths first, so a file whose path ends another's is matched by its own arm.
  const arms = [...o.files]
    .sort((a, b) => pathOf(b.clusterUri).length - pathOf(a.clusterUri).length)
    .map((f) => `  *${shellQuote(pathOf(f.clusterUri))}) input=${shellQuote(f.input)}; file=${shellQuote(f.uri)} ;;`);
  const map =
    header('mapper') +
    '# Hadoop names the file of the split in $mapreduce_map_input_file (scheme and authority its own): pick its input.\n' +
    'case "${mapreduce_map_input_file:-}" in\n' +
    arms.join('\n') +
    '\n' +
    `  *) echo "courier: map input file \${mapreduce_map_input_file:-(unset)} is no input of step ${def.name}" >&2; exit 3 ;;\n` +
    'esac\n' +
    `exec ${node} map ${shellQuote(def.name)} "$input" --raw --reducers ${o.reducers} --file "$file" --first-row 0 ${common}\n`;
  const reduce = header('reducer') + `exec ${node} reduce ${shellQuote(def.name)} ${common}\n`;

  const staged = (name: string): { uri: string; cluster: string } => ({ uri: joinUri(o.stagingDir, name), cluster: joinUri(o.clusterStagingDir, name) });
  const mapScript = staged(names.map);
  const reduceScript = staged(names.reduce);
  const args = [
    'hadoop', 'jar', o.jar,
    // Generic options first: Hadoop refuses them after the streaming options.
    '-D', `mapreduce.job.name=courier:${job}:${def.name}:${plan.runId}`,
    '-D', 'stream.num.map.output.key.fields=2',
    '-D', 'mapreduce.partition.keypartitioner.options=-k1,1',
    '-D', `mapreduce.job.reduces=${o.reducers}`,
    '-D', 'mapreduce.input.fileinputformat.split.minsize=9223372036854775807',
    '-files', [staged(bundle).cluster, mapScript.cluster, reduceScript.cluster].join(','),
    ...o.files.flatMap((f) => ['-input', f.clusterUri]),
    '-output', o.clusterOutput,
    '-mapper', names.map,
    '-reducer', names.reduce,
    '-partitioner', 'org.apache.hadoop.mapred.lib.KeyFieldBasedPartitioner',
    '-numReduceTasks', String(o.reducers),
  ];
  return { scripts: new Map([[mapScript.uri, map], [reduceScript.uri, reduce]]), args };
}

/** Counter groups Hadoop itself reports (display names as the job client prints them); the rest are the job's. */
const HADOOP_GROUPS = new Set([
  'File System Counters',
  'Job Counters',
  'Map-Reduce Framework',
  'Shuffle Errors',
  'File Input Format Counters',
  'File Output Format Counters',
]);

/** The counters a `hadoop jar` client printed after the job (`Counters: N`, then tab-indented groups and name=value). */
export function parseHadoopCounters(lines: readonly string[]): { job: Record<string, Record<string, number>>; hadoop: Record<string, Record<string, number>> } | undefined {
  const start = lines.findLastIndex((l) => /\bCounters: \d+\s*$/.test(l));
  if (start < 0) return undefined;
  const job: Record<string, Record<string, number>> = {};
  const hadoop: Record<string, Record<string, number>> = {};
  let group: Record<string, number> | undefined;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('\t\t')) {
      const eq = line.lastIndexOf('=');
      if (group && eq > 0) group[line.slice(2, eq)] = Number(line.slice(eq + 1));
    } else if (line.startsWith('\t')) {
      const name = line.slice(1).trim();
      group = {};
      (HADOOP_GROUPS.has(name) ? hadoop : job)[name] = group;
    } else break;
  }
  return { job, hadoop };
}
