// The job config's shape: every key, its type, default and one-line description (the descriptions become editor
// hovers through the JSON Schema). Checks that span several fields live next to the object they concern.
import os from 'node:os';
import { z } from 'zod';
import {
  fraction,
  oneOf,
  positiveNumber,
  secretRef,
  slug,
  templateString,
  text,
  uri,
  urlTemplate,
  wholeNumber,
} from './field-types.ts';
import { localTargetProblem, storageRootProblem } from './storage-uri.ts';
import { FILE_NAME_MACROS, HEADER_LINE_MACROS, macroProblems, STREAMING_MACROS } from './template-macros.ts';

export const ENGINE_KINDS = ['local', 'inline', 'streaming', 'dataproc', 'spark-submit'] as const;
/** `realtime`: no push at all; `courier listen` answers the partner's impression bus from a segment snapshot. */
export const DELIVERY_MODES = ['streaming', 'batch', 'both', 'realtime'] as const;
export const PRIORITIES = ['high', 'normal'] as const;
export const HTTP_METHODS = ['GET', 'POST', 'PUT'] as const;
export const BATCH_FIELDS = ['cookie_id', 'partner_user_id', 'segments', 'segment', 'expires_at', 'request_id', 'partner_id'] as const;
export const EXPIRY_FORMATS = ['epoch-seconds', 'epoch-millis', 'iso8601'] as const;
export const DEFAULT_FILE_NAME_PATTERN = '${PARTNER_NAME}_${DATE}.tsv.gz';
export const DEFAULT_STORAGE_ROOT = './.courier/data';

type Ctx = z.RefinementCtx;
type Loose = Record<string, unknown>;

/**
 * A check across fields that also runs when some fields already failed, so one `config check` reports every
 * problem. The value may be partly invalid, hence the loose type: compare, never trust.
 */
function crossCheck(check: (value: Loose, ctx: Ctx) => void) {
  return [
    (value: unknown, ctx: Ctx) => {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) check(value as Loose, ctx);
    },
    { when: () => true },
  ] as const;
}

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- storage ----

const webhdfs = z
  .strictObject({
    user: text('an HDFS user name')
      .optional()
      .describe('user.name sent with every request (clusters without Kerberos). Default: none, so the cluster picks its default web user (dr.who).'),
    delegationToken: secretRef()
      .optional()
      .describe('Delegation token for a Kerberos cluster, as the URL-safe string GETDELEGATIONTOKEN gives (urlString; not the binary file of `hdfs fetchdt`): { file: path } or { env: VAR }. Sent as delegation=; the user is the one in the token.'),
    retries: wholeNumber(0, 20).default(4).describe('Retries of a request that got no answer (refused, reset, timed out) or a 503 / RetriableException, with exponential backoff.'),
    retryDelayMs: wholeNumber(1).default(200).describe('First backoff delay in ms, doubled each retry (with jitter).'),
    retryMaxDelayMs: wholeNumber(1).default(5000).describe('Longest backoff delay in ms.'),
    timeoutMs: wholeNumber(1000).default(60_000).describe('How long to wait for an answer or the next bytes of one, in ms (Hadoop\'s own default is 60 s).'),
    nameservices: z
      .record(
        z.string().regex(/^[A-Za-z0-9.-]+$/, { error: 'expected a nameservice name like mycluster (letters, digits, dots, dashes)' }),
        z.array(z.string().regex(/^[A-Za-z0-9.-]+:\d+$/, { error: 'expected a namenode HTTP address host:port, like nn1.example.internal:9870' })).min(2, { error: 'an HA nameservice has at least two namenodes' }),
      )
      .optional()
      .describe('HA nameservices: name -> the HTTP addresses (host:port) of its namenodes, as dfs.ha.namenodes.<name> lists them. With storage.root webhdfs://<name>/path, requests go to the active one and fail over on StandbyException or a namenode that is down.'),
    datanodeAddresses: z
      .record(z.string().min(1), text('a host or host:port'))
      .optional()
      .describe('Datanode addresses to rewrite in the namenode\'s redirects when their advertised names do not resolve here: "dn1.cluster.internal:9864": "10.0.0.5:9864".'),
    localCopyMb: wholeNumber(16).default(2048).describe('Disk budget in MiB for local copies of Parquet files read from HDFS (DuckDB reads local files); least recently used dropped first.'),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      if (value['user'] !== undefined && value['delegationToken'] !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['user'], message: 'give user or delegationToken, not both: with a token the user is the one encoded in it' });
      }
    }),
  )
  .describe('How Courier talks to HDFS when storage.root is webhdfs://: who it is, and how it retries.');

const storage = z
  .strictObject({
    root: z
      .string({ error: 'expected a storage root such as ./.courier/data, file:///data/courier or gs://bucket/courier' })
      .superRefine((value, ctx) => {
        const problem = storageRootProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(DEFAULT_STORAGE_ROOT)
      .describe(
        'Root of all batch data: file:///abs/path, webhdfs://namenode:9870/path, gs://bucket/path, or a plain path relative to this file.',
      ),
    webhdfs: webhdfs.optional(),
  })
  .describe('Where the batch data (Parquet datasets and _SUCCESS markers) lives.');

// ---- engine ----

/** The local worker count defaults to this machine's cores; json-schema.ts keeps that machine-specific default out of the schema file. */
export const localWorkersField = wholeNumber(1)
  .describe('Worker threads of the local engine. Default: the number of CPU cores.')
  .default(() => os.availableParallelism());

const localEngine = z
  .strictObject({
    workers: localWorkersField,
    memoryMb: wholeNumber(64).default(1024).describe('Memory budget of the local engine before it spills to disk, in MiB.'),
    spillDir: text('a directory path')
      .optional()
      .describe('Directory for spill files; relative to this file. Default: a temporary directory.'),
    maxBadRecordRate: fraction()
      .default(0.001)
      .describe('Share of malformed input records tolerated (counted and quarantined) before a job fails.'),
  })
  .describe('Options of the local and inline engines.');

/** Dataproc's rule for cluster names: a lowercase letter, then lowercase letters, digits and dashes, not ending in a dash, at most 51. */
export const DATAPROC_CLUSTER_NAME = /^[a-z](?:[a-z0-9-]{0,49}[a-z0-9])?$/;

const labelMap = z
  .record(z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'label keys are lowercase letters, digits, _ and -, starting with a letter'), z.string().regex(/^[a-z0-9_-]{0,63}$/, 'label values are lowercase letters, digits, _ and -'))
  .describe('Dataproc labels (lowercase).');

const dataprocManagedCluster = z
  .strictObject({
    imageVersion: text('a Dataproc image version like 2.2-debian12').default('2.2-debian12').describe('Dataproc image (2.1 and later have Spark 3.3+, whose SQL has unix_millis and timestamp_millis).'),
    zone: text('a zone like europe-west1-b').optional().describe('Zone of the nodes; default: Dataproc picks one in the region.'),
    masterMachineType: text('a machine type').default('n2-standard-4').describe('Machine type of the master node.'),
    workerMachineType: text('a machine type').default('n2-standard-4').describe('Machine type of the worker nodes.'),
    workers: wholeNumber(2).default(2).describe('Primary worker nodes (Dataproc needs at least 2 for a standard cluster).'),
    serviceAccount: text('a service account email').optional().describe('Service account of the nodes; default: the Compute Engine default.'),
    subnetworkUri: text('a subnetwork').optional().describe('Subnetwork of the nodes; default: the default network.'),
  })
  .describe('Create a cluster for each workflow run (clusterName is its name prefix, Dataproc appends a suffix; at most 35 characters), with the init action that installs Node, and delete it after; instead of selecting an existing cluster.');

const dataprocEngine = z
  .strictObject({
    projectId: text('a Google Cloud project id').describe('Google Cloud project of the Dataproc cluster.'),
    region: text('a Google Cloud region like europe-west1').describe('Region of the Dataproc cluster.'),
    clusterName: text('a cluster name')
      .regex(DATAPROC_CLUSTER_NAME, 'Dataproc cluster names start with a lowercase letter, hold only lowercase letters, digits and dashes, do not end with a dash, and have at most 51 characters')
      .describe('Name of the Dataproc cluster jobs are submitted to (selected by its goog-dataproc-cluster-name label), or the name prefix of the managed cluster.'),
    clusterLabels: labelMap.optional().describe('Select the cluster by these labels as well as by name (cluster selector).'),
    managedCluster: dataprocManagedCluster.optional(),
    storageUri: uri(['gs', 'hdfs'], 'gs://bucket/courier')
      .optional()
      .describe('storage.root as the cluster sees it (gs://bucket/path): Courier reads and writes markers and run history through storage.root (a Cloud Storage FUSE mount), the cluster the same files through this URI. Required for dataproc runs.'),
    stagingUri: uri(['gs', 'hdfs'], 'gs://bucket/courier/_staging').describe('Where stage bundles, parameters, scripts and the init action are staged; must lie under storageUri (Courier writes them through storage.root).'),
    nodeVersion: text('a Node.js version like 20.19.0').regex(/^\d+\.\d+\.\d+$/, 'a Node.js version is MAJOR.MINOR.PATCH, e.g. 20.19.0').default('20.19.0').describe('Node.js the init action installs on every node (20 or later runs the stage bundles).'),
    reducers: wholeNumber(1).default(8).describe('Reducer partitions (spark.sql.shuffle.partitions) of steps that set none.'),
    sparkProperties: z.record(z.string(), z.string()).optional().describe('Extra Spark properties of every Spark SQL job, e.g. spark.executor.memory.'),
    pollSeconds: positiveNumber().default(10).describe('How often the workflow operation is polled for progress.'),
  })
  .describe('Required when engine.kind is dataproc (or with --engine dataproc). See docs/dataproc.md.');

const sparkSubmitEngine = z
  .strictObject({
    gateway: z
      .array(text('a command word'))
      .min(1)
      .describe('The command prefix that runs a command on a gateway host of the cluster, e.g. [ssh, gateway.example] or [docker, compose, -f, docker/compose.yaml, exec, -T, gateway].'),
    stagingUri: uri(['webhdfs', 'file'], 'webhdfs://namenode:9870/courier/staging').describe('Where stage bundles and scripts are staged for the cluster.'),
    hadoopStreamingJar: text('an absolute path on the gateway')
      .regex(/^\//, 'give the absolute path of the jar on the gateway, e.g. /usr/lib/hadoop-mapreduce/hadoop-streaming.jar')
      .default('/opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-3.4.1.jar')
      .describe('The hadoop-streaming jar on the gateway, for steps whose inputs are all text lines. Default: where the official apache/hadoop 3.4.1 image (and docker/) keeps it.'),
    node: text('a command').default('node').describe('The node command on the cluster\'s nodes (Node.js 20 or later), which runs every task.'),
  })
  .describe('Required when engine.kind is spark-submit.');

const engine = z
  .strictObject({
    kind: oneOf(ENGINE_KINDS)
      .default('local')
      .describe('Where map-reduce jobs run: local (worker threads), inline (in-process, for debugging), streaming (stage bundles as child processes over the Hadoop Streaming protocol), dataproc, or spark-submit (a self-hosted Hadoop/Spark cluster).'),
    local: localEngine.prefault({}),
    dataproc: dataprocEngine.optional(),
    sparkSubmit: sparkSubmitEngine.optional(),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      const sections = { dataproc: 'dataproc', 'spark-submit': 'sparkSubmit' } as const;
      const required = { dataproc: 'projectId, region, clusterName, storageUri, stagingUri', sparkSubmit: 'gateway, stagingUri' };
      for (const [kind, section] of Object.entries(sections)) {
        if (value['kind'] === kind && value[section] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [section],
            message: `engine.kind is "${kind}", so an engine.${section} section is required: add it with ${required[section]}`,
          });
        }
      }
    }),
  )
  .describe('The map-reduce engine that runs the refresher and batch formatter.');

// ---- streaming delivery ----

const retry = z
  .strictObject({
    maxAttempts: wholeNumber(1).default(5).describe('Attempts per request, the first included.'),
    baseDelayMs: wholeNumber(0).default(200).describe('Delay before the first retry; doubles each attempt, with jitter.'),
    maxDelayMs: wholeNumber(0).default(30_000).describe('Upper bound of the delay between attempts.'),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      const { baseDelayMs, maxDelayMs } = value;
      if (typeof baseDelayMs === 'number' && typeof maxDelayMs === 'number' && maxDelayMs < baseDelayMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxDelayMs'],
          message: `maxDelayMs (${maxDelayMs}) is below baseDelayMs (${baseDelayMs}); raise maxDelayMs or lower baseDelayMs`,
        });
      }
    }),
  )
  .describe('Retries of failed or timed-out requests (5xx, 429, network errors).');

const headerValue = z.union([templateString(STREAMING_MACROS, 'a header value'), secretRef()], {
  error: 'expected a header value: text (macros allowed) or a secret reference { env: VAR_NAME }',
});

const streaming = z
  .strictObject({
    url: urlTemplate(STREAMING_MACROS).describe(
      `Request URL; macros: ${STREAMING_MACROS.map((m) => `\${${m}}`).join(', ')}.`,
    ),
    method: oneOf(HTTP_METHODS).default('POST').describe('HTTP method.'),
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'expected an HTTP header name like X-Api-Key' }),
        headerValue,
      )
      .default({})
      .describe('Request headers: name -> text, or { env: VAR } for secrets such as tokens.'),
    body: templateString(STREAMING_MACROS, 'a request body template')
      .optional()
      .describe('Request body template (POST/PUT); macros as in url.'),
    concurrency: wholeNumber(1).default(16).describe('Requests in flight at once to this partner, per syncer process.'),
    rateLimitPerSecond: positiveNumber().default(1000).describe('Maximum requests per second to this partner, per syncer process.'),
    timeoutMs: wholeNumber(1).default(5000).describe('Time allowed for one request before it counts as failed.'),
    retry: retry.prefault({}),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      if (value['method'] === 'GET' && value['body'] !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['body'], message: 'a GET request carries no body; use method POST or PUT, or move the data into the url' });
      }
    }),
  )
  .describe('Streaming delivery: one HTTP request per data sync request. Required when delivery is streaming or both.');

// ---- batch delivery ----

const sftp = z
  .strictObject({
    host: text('a host name or IP address').describe('SFTP server of the partner.'),
    port: wholeNumber(1, 65535).default(22).describe('SFTP port.'),
    user: text('a user name').describe('SFTP login.'),
    privateKey: secretRef().optional().describe('SSH private key: { file: path } (relative to this file) or { env: VAR }.'),
    password: secretRef().optional().describe('Password, when the partner gives no key login: { env: VAR } or { file: path }.'),
    hostKeySha256: z
      .string({ error: 'expected the server host key fingerprint like SHA256:uZ8g... (ssh-keygen -lf, or ssh-keyscan HOST | ssh-keygen -lf -)' })
      .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, {
        error: 'expected an OpenSSH SHA256 fingerprint: "SHA256:" then 43 base64 characters (get it with: ssh-keyscan HOST | ssh-keygen -lf -)',
      })
      .describe('Pinned host key fingerprint, OpenSSH form SHA256:<base64>; the connection is refused if it differs.'),
    maxConnections: wholeNumber(1, 16)
      .default(2)
      .describe('SFTP connections open at once to this partner; each uploads one file at a time.'),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      if (value['privateKey'] === undefined && value['password'] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['privateKey'], message: 'no credentials: add privateKey: { file: path } (or { env: VAR }), or a password' });
      }
    }),
  )
  .describe('Where batch files are uploaded.');

const separator = (what: string) =>
  z
    .string({ error: `expected a ${what} of 1 to 4 characters` })
    .min(1, { error: `expected a ${what} of 1 to 4 characters` })
    .max(4, { error: `expected a ${what} of 1 to 4 characters` })
    .regex(/^[^\r\n]*$/, { error: `expected a ${what} without line breaks` });

const extraField = z.union(
  [
    z.strictObject({
      value: z.union([z.string(), z.number()], { error: 'expected a literal text or number' }).describe('A constant written on every row.'),
    }),
    z.strictObject({
      expiresAt: z
        .strictObject({ format: oneOf(EXPIRY_FORMATS).describe('How the expiry time is written.') })
        .describe("The data's expiry time (now + expiryDays)."),
    }),
  ],
  { error: 'expected { value: literal } or { expiresAt: { format: epoch-seconds | epoch-millis | iso8601 } }' },
);

/**
 * Fields that make no sense in a template's shape: a cookie row lists its codes in `segments` and needs an id; a
 * segment row has its `segment` code and lists its users by exactly one id (request ids belong to one cookie).
 */
function shapeProblems(groupBy: 'cookie' | 'segment', fields: readonly unknown[], ctx: Ctx): void {
  const misplaced: Record<string, string> =
    groupBy === 'cookie'
      ? { segment: '"segment" is a column of groupBy: segment rows; a cookie row lists its codes in "segments"' }
      : {
          segments: '"segments" lists one cookie\'s codes, but a groupBy: segment row holds many cookies; use "segment" (the row\'s code)',
          request_id: '"request_id" belongs to one cookie\'s request, but a groupBy: segment row holds many cookies; remove it',
        };
  fields.forEach((name, i) => {
    if (typeof name === 'string' && misplaced[name]) ctx.addIssue({ code: 'custom', path: ['fields', i], message: misplaced[name] });
  });
  const ids = fields.filter((f) => f === 'cookie_id' || f === 'partner_user_id');
  if (groupBy === 'cookie' && ids.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['fields'], message: 'a row per cookie needs cookie_id or partner_user_id to say whose segments they are; add one' });
  }
  if (groupBy === 'segment') {
    if (!fields.includes('segment')) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'a row per segment needs "segment" (the segment code); add it' });
    if (ids.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: 'a row per segment lists its users by exactly one of partner_user_id or cookie_id; keep one' });
    }
  }
}

const template = z
  .strictObject({
    groupBy: oneOf(['cookie', 'segment']).default('cookie').describe('One row per cookie (with its segments) or one row per segment (with its users).'),
    fields: z
      .array(oneOf(BATCH_FIELDS), { error: `expected a list of fields from ${BATCH_FIELDS.join(', ')}` })
      .min(1, { error: 'expected at least one field' })
      .describe(
        'Columns of each row, in order. groupBy cookie: cookie_id and/or partner_user_id, segments (codes joined by segmentDelimiter), expires_at, request_id, partner_id. groupBy segment: segment, one of partner_user_id or cookie_id (the members, joined by segmentDelimiter), expires_at (latest of the members), partner_id.',
      ),
    delimiter: separator('delimiter').default('\t').describe('Column separator.'),
    segmentDelimiter: separator('segment delimiter').default(',').describe('Separator of the values inside a list column (segments).'),
    header: z
      .array(templateString(HEADER_LINE_MACROS, 'a header line'), { error: 'expected a list of header lines' })
      .default([])
      .describe(`Lines written before the rows; macros: ${HEADER_LINE_MACROS.map((m) => `\${${m}}`).join(', ')} (DATE is the period: YYYY-MM-DD daily, YYYY-MM monthly; ROWS the data rows).`),
    extraFields: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a field name of letters, digits and _' }), extraField)
      .default({})
      .describe('Columns appended after fields, in order: name -> { value } or { expiresAt: { format } }.'),
    compression: oneOf(['gzip', 'none']).default('gzip').describe('Compression of the file.'),
    fileNamePattern: templateString(FILE_NAME_MACROS, 'a file name pattern')
      .default(DEFAULT_FILE_NAME_PATTERN)
      .describe(`Name of the uploaded file; macros: ${FILE_NAME_MACROS.map((m) => `\${${m}}`).join(', ')}.`),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      const fields = Array.isArray(value['fields']) ? (value['fields'] as unknown[]) : [];
      fields.forEach((name, i) => {
        if (fields.indexOf(name) !== i) {
          ctx.addIssue({ code: 'custom', path: ['fields', i], message: `field ${JSON.stringify(name)} is listed twice; remove one` });
        }
      });
      if (isObject(value['extraFields'])) {
        for (const name of Object.keys(value['extraFields'])) {
          if (fields.includes(name)) {
            ctx.addIssue({ code: 'custom', path: ['extraFields', name], message: `extra field "${name}" clashes with a field of the same name; rename it` });
          }
        }
      }
      const groupBy = value['groupBy'] ?? 'cookie';
      // A missing or mistyped groupBy or fields has its own problem already.
      if ((groupBy === 'cookie' || groupBy === 'segment') && fields.length > 0) shapeProblems(groupBy, fields, ctx);
      if (isObject(value['extraFields']) && typeof value['delimiter'] === 'string') {
        for (const [name, spec] of Object.entries(value['extraFields'])) {
          const literal = isObject(spec) ? spec['value'] : undefined;
          if (typeof literal === 'string' && (literal.includes(value['delimiter']) || /[\r\n]/.test(literal))) {
            ctx.addIssue({ code: 'custom', path: ['extraFields', name, 'value'], message: `the literal ${JSON.stringify(literal)} contains the delimiter or a line break, which would split every row; change it` });
          }
        }
      }
      if (typeof value['delimiter'] === 'string' && value['delimiter'] === value['segmentDelimiter']) {
        ctx.addIssue({ code: 'custom', path: ['segmentDelimiter'], message: 'segmentDelimiter equals delimiter, so rows could not be split back; choose another' });
      }
      const pattern = value['fileNamePattern'];
      if (typeof pattern === 'string') {
        if (pattern.startsWith('_') || pattern.startsWith('.')) {
          ctx.addIssue({ code: 'custom', path: ['fileNamePattern'], message: 'a file name starting with "_" or "." is hidden from dataset readers; start it with a letter or a macro' });
        }
        if (pattern.includes('/')) {
          ctx.addIssue({ code: 'custom', path: ['fileNamePattern'], message: 'a file name cannot contain "/"; put directories in batch.remoteDir' });
        }
        if (value['compression'] === 'none' && pattern.endsWith('.gz')) {
          ctx.addIssue({
            code: 'custom',
            path: ['fileNamePattern'],
            message: 'compression is "none" but the file name ends in .gz; set fileNamePattern, e.g. ${PARTNER_NAME}_${DATE}.tsv',
          });
        }
      }
    }),
  )
  .describe('Layout of the batch file, as agreed with the partner.');

const batch = z
  .strictObject({
    sftp,
    remoteDir: text('a directory on the SFTP server').describe('Directory on the SFTP server the files go to.'),
    target: z
      .string({ error: 'expected a local directory: file:///absolute/path or a path relative to this file' })
      .superRefine((value, ctx) => {
        const problem = localTargetProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .describe(
        'Deliver into this local directory instead of the SFTP server (the demo, a mounted share): file:///abs/path or a path relative to this file; remoteDir is created under it. Absent: the sftp server.',
      ),
    template,
    schedule: oneOf(['daily', 'monthly']).default('daily').describe('How often a file is produced and sent.'),
  })
  .describe('Batch delivery: files over SFTP. Required when delivery is batch or both.');

// ---- partners ----

const segmentCode = z
  .union([text("the partner's segment code"), z.int()], { error: "expected the partner's segment code (text or number)" })
  .transform(String);

const partner = z
  .strictObject({
    id: wholeNumber(1).describe('Our numeric id of the partner; unique; used in dataset paths and data sync requests.'),
    name: slug().describe('Short unique name (a-z, 0-9, -); used in file names, metrics and logs.'),
    delivery: oneOf(DELIVERY_MODES).describe(
      'How data reaches the partner: streaming (HTTP), batch (SFTP files), both, or realtime (answered to its impression bus by `courier listen`).',
    ),
    segmentMap: z
      .record(z.string().regex(/^[0-9]+$/, { error: 'expected our segment id (digits only)' }), segmentCode, {
        error: 'expected a mapping of our segment id -> partner segment code, like 1001: "acme-auto"',
      })
      .describe('Our segment id -> the partner\'s segment code. Segments not listed are not sent to this partner.'),
    expiryDays: wholeNumber(1).default(30).describe('Days the partner keeps a cookie in a segment after a sync.'),
    priority: z
      .strictObject({
        newSync: oneOf(PRIORITIES).default('high').describe('Queue priority of data for cookies synced since the last run.'),
        refresh: oneOf(PRIORITIES).default('normal').describe('Queue priority of periodic re-sends of known cookies.'),
      })
      .prefault({})
      .describe('Queue priorities per kind of data sync request.'),
    deltas: z
      .boolean({ error: 'expected true or false' })
      .default(false)
      .describe('Send added/removed segments instead of the full list each time.'),
    streaming: streaming.optional(),
    batch: batch.optional(),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      const delivery = value['delivery'];
      if (typeof delivery !== 'string' || !(DELIVERY_MODES as readonly string[]).includes(delivery)) return;
      for (const section of ['streaming', 'batch'] as const) {
        const needed = delivery === section || delivery === 'both';
        if (needed && value[section] === undefined) {
          ctx.addIssue({ code: 'custom', path: [section], message: `delivery is "${delivery}", so a ${section} section is required; add ${section}: with its settings` });
        } else if (!needed && value[section] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [section],
            message: `delivery is "${delivery}", so this ${section} section would be ignored; set delivery: both, or remove it`,
          });
        }
      }
      if (isObject(value['segmentMap']) && Object.keys(value['segmentMap']).length === 0) {
        ctx.addIssue({ code: 'custom', path: ['segmentMap'], message: 'segmentMap is empty, so this partner would receive nothing; map at least one segment' });
      }
    }),
  )
  .describe('A destination of audience data.');

const partners = z
  .array(partner, { error: 'expected a list of partners (lines starting with "- id:")' })
  .min(1, { error: 'expected at least one partner' })
  .superRefine((value, ctx) => {
    if (!Array.isArray(value)) return;
    for (const key of ['id', 'name'] as const) {
      const firstIndex = new Map<unknown, number>();
      value.forEach((item: unknown, i) => {
        const v = isObject(item) ? item[key] : undefined;
        if (v === undefined) return;
        const first = firstIndex.get(v);
        if (first === undefined) firstIndex.set(v, i);
        else ctx.addIssue({ code: 'custom', path: [i, key], message: `duplicate partner ${key} ${JSON.stringify(v)}: partners[${first}] has it already; ${key}s must be unique` });
      });
    }
  }, { when: () => true })
  .describe('The partners data is sent to.');

// ---- refresher ----

const refresher = z
  .strictObject({
    storeMaxAgeDays: wholeNumber(1)
      .default(90)
      .describe('Days a (cookie, partner) entry stays in the cookie-sync store after its last sync; older entries expire.'),
    refreshEveryDays: wholeNumber(1)
      .default(7)
      .describe('Every known cookie is re-sent at least this often (a rolling share of cookies each day); must be below every partner\'s expiryDays.'),
  })
  .describe('The refresher: the cookie-sync store and how often known cookies are re-sent.');

// ---- queue ----

export const BROKER_KINDS = ['embedded', 'redis'] as const;

const queue = z
  .strictObject({
    broker: oneOf(BROKER_KINDS)
      .default('embedded')
      .describe('embedded: in-process queues, one machine (the default); redis: Redis Streams shared by syncers on several machines.'),
    redis: z
      .strictObject({
        url: uri(['redis', 'rediss'], 'redis://127.0.0.1:6379').describe('The Redis server, redis://host:port[/db] (rediss:// for TLS).'),
        keyPrefix: text('a key prefix').default('courier:').describe('Prefix of every key Courier writes in Redis.'),
      })
      .optional()
      .describe('The Redis broker; required when broker is redis.'),
    requestsDataset: text('a dataset name')
      .default('requests')
      .describe('Dataset under storage.root holding the data sync requests (dt=<day>/partner=<id>/priority=<p>).'),
    windowItems: wholeNumber(1)
      .default(10_000_000)
      .describe('Items the bridge keeps queued in all (waiting plus in flight), shared among the queues that have work.'),
    visibilityTimeoutMs: wholeNumber(100)
      .default(30_000)
      .describe('A received item not acknowledged within this many ms is delivered again; the same for every process.'),
    pollMs: wholeNumber(10)
      .default(200)
      .describe('How often the bridge looks at queue depths and acknowledgements, in ms.'),
    checkpointEveryMs: wholeNumber(100)
      .default(2000)
      .describe('How often the bridge writes its checkpoint (_bridge/checkpoint.json) when it has progressed, in ms.'),
    discoverEveryMs: wholeNumber(100)
      .default(30_000)
      .describe('How often `courier bridge --watch` looks for new complete request datasets, in ms.'),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      if (value['broker'] === 'redis' && value['redis'] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['redis'], message: 'broker is redis but there is no redis: { url: redis://host:port } section; add it' });
      }
    }),
  )
  .describe('The queue between the store and the streaming syncers: broker, window, leases, bridge timings.');

// ---- syncer ----

const syncer = z
  .strictObject({
    workersPerPartner: wholeNumber(1)
      .default(2)
      .describe('Receive loops per streaming partner in each syncer process (they share the partner\'s connections and rate limit).'),
    receiveBatch: wholeNumber(1).default(500).describe('Items taken from the broker in one receive.'),
    maxHeldPerPartner: wholeNumber(1)
      .optional()
      .describe('Items one partner may hold in a process (sending, waiting or between retries). Default: max(4 x concurrency, receiveBatch), capped by what its rate limit sends in a quarter of the visibility timeout.'),
    idlePollMs: wholeNumber(1).default(500).describe('How long a receive waits for items when its queues are empty, in ms.'),
    deadLetters: z
      .strictObject({
        dataset: text('a dataset name')
          .default('dead-letters')
          .describe('Dataset under storage.root for requests given up on (dt=<day>/partner=<id>/flush=<id>), with the last error.'),
        flushRows: wholeNumber(1).default(1000).describe('Dead letters buffered before they are written.'),
        flushEveryMs: wholeNumber(10)
          .default(5000)
          .describe('Longest a dead letter waits in memory before it is written, in ms; its queue item is acknowledged after.'),
      })
      .prefault({})
      .describe('Where the requests the syncer gives up on are kept.'),
    metricsPort: wholeNumber(0, 65535)
      .optional()
      .describe('Port of the Prometheus /metrics endpoint of `courier sync` (--metrics-port overrides); none when unset.'),
    metricsHost: text('a host name or IP address').default('127.0.0.1').describe('Address the /metrics endpoint listens on (0.0.0.0: every interface).'),
  })
  .describe('The streaming syncer (`courier sync`): workers, receive batches, dead letters, metrics.');

// ---- listener ----

/** Macros of the listener's bid URI: what the impression bus fills in per request. */
export const LISTENER_MACROS = ['USER_ID', 'REGION', 'EXT_UID', 'DEVICE_ID'] as const;

const listenerPath = (what: string, example: string) =>
  z
    .string({ error: `expected ${what} starting with "/", like ${example}` })
    .regex(/^\/[^\s#]*$/, { error: `expected ${what} starting with "/" without spaces or "#", like ${example}` });

const listener = z
  .strictObject({
    partnerId: wholeNumber(1).describe(
      "Our id of the impression bus's partner (Xandr): its cookie syncs and segmentMap make the listener's segment snapshot.",
    ),
    host: text('a host name or IP address').default('0.0.0.0').describe('Address the listener accepts the bus on.'),
    port: wholeNumber(1, 65535).default(8090).describe('Port the listener accepts the bus on (registered with the bus with our IP).'),
    workers: wholeNumber(1)
      .optional()
      .describe('Listener processes sharing the port (node:cluster), so a GC pause stalls only some connections. Default: CPU cores.'),
    readyPath: listenerPath('a path', '/ready')
      .default('/ready')
      .describe('The ready_uri registered with the bus: answers 1 only when the snapshot is loaded and the process healthy.'),
    bidUri: listenerPath('a path and query', '/segments?uid=${USER_ID}')
      .superRefine((value, ctx) => {
        for (const message of macroProblems(value, LISTENER_MACROS)) ctx.addIssue({ code: 'custom', message });
        if (!/[?&][^=&]+=\$\{USER_ID\}(&|$)/.test(value)) {
          ctx.addIssue({ code: 'custom', message: 'the bid URI needs a query parameter carrying the user id, like /segments?uid=${USER_ID}' });
        }
      })
      .default('/segments?uid=${USER_ID}&region=${REGION}')
      .describe(
        `The bid_uri registered with the bus: path and query, each macro the whole value of a parameter; macros: ${LISTENER_MACROS.map((m) => `\${${m}}`).join(', ')}.`,
      ),
    keepAliveTimeoutMs: wholeNumber(150_000)
      .default(150_000)
      .describe('How long an idle keep-alive connection stays open; at least 150 s, the bus closes connections itself.'),
    headersTimeoutMs: wholeNumber(100)
      .default(5000)
      .describe('A request whose headers are still incomplete after this is dropped (slow clients); idle connections are not affected.'),
    maxHeaderBytes: wholeNumber(1024, 65536).default(8192).describe('Requests with larger headers are refused and their connection closed.'),
    snapshotDataset: text('a dataset name')
      .default('listener-snapshot')
      .describe('Dataset under storage.root holding the segment snapshots (dt=<day>), built by `courier listen snapshot`.'),
    pollMs: wholeNumber(100).default(30_000).describe('How often the listener looks for a newer complete snapshot to swap in, in ms.'),
    logDir: text('a directory path')
      .default('./.courier/listener-logs')
      .describe('Local directory of the log-level files (one gzip file per process and UTC day); relative to this file.'),
    logBufferMb: wholeNumber(1, 4096).default(64).describe('Memory for log records not yet written, per process, MiB; records beyond it are dropped and counted.'),
    logFlushMs: wholeNumber(10)
      .default(250)
      .describe('How often buffered log records are written to the log file, in ms; a crash loses at most this much of them.'),
    metricsPort: wholeNumber(0, 65535)
      .optional()
      .describe('Port of the Prometheus /metrics endpoint of `courier listen` (all processes summed); none when unset.'),
    metricsHost: text('a host name or IP address').default('127.0.0.1').describe('Address the /metrics endpoint listens on.'),
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      if (typeof value['readyPath'] === 'string' && typeof value['bidUri'] === 'string' && value['bidUri'].split('?')[0] === value['readyPath']) {
        ctx.addIssue({ code: 'custom', path: ['readyPath'], message: 'readyPath equals the path of bidUri, so the bus could not tell them apart; choose another' });
      }
    }),
  )
  .describe('The impression-bus listener (`courier listen`): server, snapshot, log files, metrics. Required by `courier listen`.');

// ---- operations ----

/** The processes whose /metrics the status page reads. */
export const METRICS_PROCESSES = ['bridge', 'sync', 'deliver', 'listen'] as const;

const status = z
  .strictObject({
    port: wholeNumber(1, 65535).default(8070).describe('Port of `courier status --serve` (--port overrides).'),
    host: text('a host name or IP address').default('127.0.0.1').describe('Address the status page listens on (0.0.0.0: every interface).'),
    refreshSeconds: wholeNumber(1).default(5).describe('How often the page refreshes itself and scrapes the metrics endpoints, in seconds.'),
    runs: wholeNumber(1).default(10).describe('Workflow runs shown, newest first.'),
    metrics: z
      .array(
        z.strictObject({
          process: oneOf(METRICS_PROCESSES).describe('Which courier process serves this endpoint.'),
          url: uri(['http', 'https'], 'http://127.0.0.1:9464/metrics').describe('Its Prometheus endpoint, http://host:port/metrics.'),
        }),
      )
      .optional()
      .describe('The /metrics endpoints shown. Default: sync and listen from syncer.metricsPort and listener.metricsPort when set.'),
  })
  .describe('The status page (`courier status --serve`): where it listens and which /metrics endpoints it reads.');

// ---- the whole file ----

/** The schema of a Courier job config file (courier.yaml). */
export const courierConfigSchema = z
  .strictObject({
    storage: storage.prefault({}),
    engine: engine.prefault({}),
    refresher: refresher.prefault({}),
    queue: queue.prefault({}),
    syncer: syncer.prefault({}),
    listener: listener.optional(),
    status: status.prefault({}),
    partners,
  })
  .superRefine(
    ...crossCheck((value, ctx) => {
      // A dead letter's queue item is acknowledged only once the letter is written: it must be written within the lease.
      const lease = isObject(value['queue']) ? value['queue']['visibilityTimeoutMs'] : undefined;
      const letters = isObject(value['syncer']) && isObject(value['syncer']['deadLetters']) ? value['syncer']['deadLetters'] : undefined;
      const flushEvery = letters?.['flushEveryMs'];
      if (typeof lease === 'number' && typeof flushEvery === 'number' && flushEvery * 2 > lease) {
        ctx.addIssue({
          code: 'custom',
          path: ['syncer', 'deadLetters', 'flushEveryMs'],
          message: `flushEveryMs ${flushEvery} is above half of queue.visibilityTimeoutMs ${lease}: dead letters' items would be delivered again before they are written; lower it`,
        });
      }
    }),
  )
  .superRefine(
    ...crossCheck((value, ctx) => {
      const id = isObject(value['listener']) ? value['listener']['partnerId'] : undefined;
      if (typeof id !== 'number' || !Array.isArray(value['partners'])) return;
      const partner = value['partners'].find((p: unknown) => isObject(p) && p['id'] === id) as Loose | undefined;
      if (!partner) {
        ctx.addIssue({ code: 'custom', path: ['listener', 'partnerId'], message: `no partner has id ${id}; add the impression bus's partner (delivery: realtime) or fix the id` });
      } else if (partner['delivery'] !== 'realtime') {
        ctx.addIssue({ code: 'custom', path: ['listener', 'partnerId'], message: `partner ${id} has delivery "${String(partner['delivery'])}"; the listener answers a partner with delivery: realtime` });
      }
    }),
  )
  .superRefine(
    ...crossCheck((value, ctx) => {
      // A partner forgets a cookie expiryDays after its last sync: a rolling refresh slower than that lets segments lapse.
      const every = isObject(value['refresher']) ? value['refresher']['refreshEveryDays'] : undefined;
      if (typeof every !== 'number' || !Array.isArray(value['partners'])) return;
      value['partners'].forEach((p: unknown, i) => {
        // An invalid expiryDays has its own problem already.
        if (!isObject(p) || !Number.isInteger(p['expiryDays']) || (p['expiryDays'] as number) < 1) return;
        if ((p['expiryDays'] as number) <= every) {
          ctx.addIssue({
            code: 'custom',
            path: ['partners', i, 'expiryDays'],
            message: `expiryDays ${p['expiryDays']} is not above refresher.refreshEveryDays ${every}: the partner would drop cookies before their refresh; raise expiryDays or lower refreshEveryDays`,
          });
        }
      });
    }),
  )
  .describe('Courier job config: storage, engine, the refresher and the partners audience data is delivered to.');

/** A validated job config with defaults filled and paths resolved (storage root as a URI, files absolute). */
export type CourierConfig = z.output<typeof courierConfigSchema>;
/** A job config as written in YAML, before defaults. */
export type CourierConfigInput = z.input<typeof courierConfigSchema>;
export type StorageConfig = CourierConfig['storage'];
export type EngineConfig = CourierConfig['engine'];
export type EngineKind = EngineConfig['kind'];
export type LocalEngineConfig = EngineConfig['local'];
export type RefresherConfig = CourierConfig['refresher'];
export type QueueConfig = CourierConfig['queue'];
export type ListenerConfig = NonNullable<CourierConfig['listener']>;
export type SyncerConfig = CourierConfig['syncer'];
export type StatusConfig = CourierConfig['status'];
export type DataprocEngineConfig = NonNullable<EngineConfig['dataproc']>;
export type SparkSubmitEngineConfig = NonNullable<EngineConfig['sparkSubmit']>;
export type PartnerConfig = CourierConfig['partners'][number];
export type DeliveryMode = PartnerConfig['delivery'];
export type Priority = PartnerConfig['priority']['newSync'];
export type StreamingConfig = NonNullable<PartnerConfig['streaming']>;
export type RetryConfig = StreamingConfig['retry'];
export type HeaderValue = StreamingConfig['headers'][string];
export type BatchConfig = NonNullable<PartnerConfig['batch']>;
export type SftpConfig = BatchConfig['sftp'];
export type BatchTemplateConfig = BatchConfig['template'];
export type BatchField = BatchTemplateConfig['fields'][number];
export type ExtraFieldConfig = BatchTemplateConfig['extraFields'][string];
