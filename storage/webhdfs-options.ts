/**
 * How Courier talks to a WebHDFS cluster: who it is (user.name or a delegation token), how long it waits and
 * retries, and how it reaches datanodes whose advertised names do not resolve here. Set once from the config;
 * worker threads and child processes (local and streaming engines) pick the same settings up from the
 * environment, where `configureWebHdfs` leaves them.
 */

/** Settings of the webhdfs:// file system. */
export interface WebHdfsOptions {
  /** `user.name` on every request (clusters without Kerberos). */
  user?: string;
  /** A delegation token (the URL-safe string GETDELEGATIONTOKEN gives as `urlString`) sent as `delegation`. */
  delegationToken?: string;
  /** Retries of a request that got no answer (connection refused, reset, timed out); default 4. */
  retries?: number;
  /** First backoff delay in ms, doubled each retry with jitter; default 200. */
  retryDelayMs?: number;
  /** Longest backoff delay in ms; default 5000. */
  retryMaxDelayMs?: number;
  /** Time to wait for an answer's headers or the next body bytes, in ms; default 60000 (Hadoop's own default). */
  timeoutMs?: number;
  /**
   * HA nameservices: the namenode HTTP addresses behind a logical authority, `{"mycluster": ["nn1:9870", "nn2:9870"]}`,
   * so `webhdfs://mycluster/…` fails over between them (on connection failures and StandbyException).
   */
  nameservices?: Record<string, readonly string[]>;
  /** Datanode addresses to rewrite in the namenode's redirects, `"dn1.cluster.internal:9864": "10.0.0.5:9864"`. */
  datanodeAddresses?: Record<string, string>;
  /** Budget of the local copies DuckDB reads (localPathFor), in MiB, least recently used dropped first; default 2048. Soft: copies handed out in the last 5 minutes are kept. */
  localCopyMb?: number;
}

/** The environment variable carrying the settings to worker threads and child processes. */
export const WEBHDFS_OPTIONS_ENV = 'COURIER_WEBHDFS_OPTIONS';

let configured: WebHdfsOptions | undefined;
let generation = 0;

/**
 * Sets the webhdfs:// settings for this process and the workers it starts (the CLI calls it when the config
 * loads). File systems made before keep their settings; `fileSystemFor` makes new ones after this call.
 */
export function configureWebHdfs(options: WebHdfsOptions): void {
  if (options.user !== undefined && options.delegationToken !== undefined) {
    throw new Error('webhdfs: give user or delegationToken, not both (with a token the user is the one encoded in it)');
  }
  configured = { ...options };
  generation++;
  process.env[WEBHDFS_OPTIONS_ENV] = JSON.stringify(configured);
}

/** The settings in force: those configured here, else those inherited through the environment, else none. */
export function currentWebHdfsOptions(): { options: WebHdfsOptions; generation: number } {
  if (configured) return { options: configured, generation };
  const inherited = process.env[WEBHDFS_OPTIONS_ENV];
  if (inherited) {
    try {
      configured = JSON.parse(inherited) as WebHdfsOptions;
      return { options: configured, generation };
    } catch (e) {
      throw new Error(`webhdfs: ${WEBHDFS_OPTIONS_ENV} is not valid JSON (${(e as Error).message}); unset it or let courier set it from storage.webhdfs`);
    }
  }
  return { options: {}, generation };
}
