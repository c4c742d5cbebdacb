/**
 * What the file deliverer needs to know about each batch partner, as plain data: the CLI maps the config's
 * `partners[].batch` onto it (the deliverer does not import the config room) and resolves secrets into
 * SecretValues, so this room never reads an environment variable or a key file itself.
 */
import type { Logger } from 'pino';
import type { SecretValue } from './secret-value.ts';
import type { DelivererMetrics } from './deliverer-metrics.ts';

/** A partner's SFTP server and login. */
export interface SftpSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey?: SecretValue;
  readonly password?: SecretValue;
  /** Pinned host key fingerprint, OpenSSH form `SHA256:<base64>`. */
  readonly hostKeySha256: string;
}

/** Where a partner's files go: its SFTP server, or a local directory standing in for it (demo, mounted share). */
export type DeliveryTarget = { readonly kind: 'sftp'; readonly sftp: SftpSettings } | { readonly kind: 'local'; readonly dirUri: string };

/** One batch partner. */
export interface FilePartner {
  readonly id: number;
  readonly name: string;
  readonly target: DeliveryTarget;
  /** Directory on the server the files go to (under `dirUri` for a local target). */
  readonly remoteDir: string;
  /**
   * The template's header lines (macros unexpanded). Used only for files whose manifest says the producer wrote
   * no header lines (`headerLines: 0`); see docs/file-deliverer.md.
   */
  readonly header: readonly string[];
  /** Connections open at once to this partner; each uploads one dataset's files at a time. */
  readonly maxConnections: number;
}

/** Retries of dropped or refused connections: exponential backoff with full jitter. */
export interface DeliveryRetry {
  /** Attempts per file, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** How one deliverer run behaves. */
export interface DelivererOptions {
  /** The storage root URI; batch datasets are read from `batch/<partner>/` and the ledger lives in `_deliveries/`. */
  readonly storageRoot: string;
  readonly partners: readonly FilePartner[];
  readonly logger: Logger;
  readonly metrics?: DelivererMetrics;
  /**
   * Local directory files are copied to before upload when the store is not on local disk or a header must be
   * added; default `<tmp>/courier-deliver-spool`.
   */
  readonly spoolDir?: string;
  /** `always` copies every file to the spool first (as on a remote store); default `auto`. */
  readonly spool?: 'auto' | 'always';
  /** Free space to leave on the spool's disk after a copy; default 64 MiB. */
  readonly reserveBytes?: number;
  readonly retry?: DeliveryRetry;
  /** Time allowed to connect and log in; default 20 s. */
  readonly connectTimeoutMs?: number;
  /** Upload rate cap per connection in bytes per second (spares a partner's link); default none. */
  readonly maxBytesPerSecond?: number;
  /**
   * Bytes of SFTP write requests in flight at once per upload, as OpenSSH's own client pipelines them; default
   * 8 MiB. 0 sends one request at a time, for a server that mishandles concurrent writes to one file.
   */
  readonly writeWindowBytes?: number;
}

export const DEFAULT_RETRY: DeliveryRetry = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };
export const DEFAULT_WRITE_WINDOW_BYTES = 8 * 2 ** 20;
