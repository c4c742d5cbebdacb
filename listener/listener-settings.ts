/** The listener's settings: plain data the CLI maps from the config's `listener:` section (the listener reads no config). */

/** One listener process. */
export interface ListenerSettings {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** The ready_uri: answers `1` only when ready. */
  readyPath: string;
  /** The bid_uri template, e.g. `/segments?uid=${USER_ID}&region=${REGION}`. */
  bidUri: string;
  keepAliveTimeoutMs: number;
  /** A request whose headers are incomplete after this is dropped; idle keep-alive connections are not affected. */
  headersTimeoutMs: number;
  maxHeaderBytes: number;
  storageRoot: string;
  snapshotDataset: string;
  pollMs: number;
  log: {
    dir: string;
    bufferBytes: number;
    flushMs: number;
  };
  /** How long a graceful stop lets open connections finish before closing them. */
  stopGraceMs: number;
}

/** `courier listen`: processes and the metrics endpoint around the per-process settings. */
export interface ListenerClusterSettings extends ListenerSettings {
  /** Processes sharing the port; 1 runs the listener in the calling process. */
  workers: number;
  metricsPort?: number;
  metricsHost: string;
  /** pino level of the worker processes' logs. */
  logLevel: string;
}
