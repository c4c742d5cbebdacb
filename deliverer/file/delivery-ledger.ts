/**
 * The delivery ledger: what was sent where, with checksums, in the store beside the data it describes. One JSON
 * document per partner and period (`_deliveries/ledger/<partner>/<dt=…|month=…>.json`), rewritten atomically at
 * each step of each file, so a restart knows exactly how far a killed run got:
 *
 *   pending → uploading (temporary remote name recorded) → renaming → delivered
 *
 * `uploading` means the temporary file may be partial (it is deleted and the file sent again); `renaming` means
 * the temporary file was complete and verified, so a restart finishes or confirms the rename instead of sending
 * a second copy.
 */
import { fileSystemFor, joinUri, type FileSystem } from '../../storage/index.ts';

/** The deliverer's area of the store: the ledger, and the lock that keeps it to one deliverer. */
export const DELIVERIES_DIR = '_deliveries';
export const LEDGER_DIR = `${DELIVERIES_DIR}/ledger`;
const FORMAT = 'courier-delivery-ledger/1';

export type FileDeliveryState = 'pending' | 'uploading' | 'renaming' | 'delivered';

/** How a delivered file got there. */
export type DeliveredHow =
  /** uploaded and renamed in one run */
  | 'uploaded'
  /** a restart found the rename of a killed run done, or finished it */
  | 'reconciled'
  /** the final name already held identical bytes (e.g. a ledger lost or restored from backup) */
  | 'found-on-remote';

/** One file of a delivery. */
export interface LedgerFile {
  /** Name in the dataset and on the server. */
  readonly name: string;
  readonly role: 'data' | 'manifest';
  /** Size and sha256 as sent (they differ from the store's only when the deliverer added a header). */
  bytes: number;
  sha256: string;
  readonly rows: number;
  readonly remotePath: string;
  state: FileDeliveryState;
  /** Temporary remote name of the upload in progress. */
  tempPath?: string;
  attempts: number;
  updatedAt: string;
  deliveredAt?: string;
  how?: DeliveredHow;
  lastError?: string;
}

/** The delivery of one batch dataset to its partner. */
export interface LedgerEntry {
  readonly format: typeof FORMAT;
  readonly partner: string;
  /** Dataset path relative to the storage root. */
  readonly dataset: string;
  readonly period: string;
  /** The `_SUCCESS` marker's checksum when delivery started: a re-written dataset is noticed. */
  readonly markerChecksum: string;
  /** The target, without secrets: `sftp://user@host:port` or `file:///dir`. */
  target: string;
  state: 'pending' | 'delivered';
  readonly files: LedgerFile[];
  readonly createdAt: string;
  updatedAt: string;
  deliveredAt?: string;
  lastError?: string;
}

/** Reads and writes ledger entries under a storage root. */
export class DeliveryLedger {
  private readonly fs: FileSystem;

  constructor(readonly storageRoot: string) {
    this.fs = fileSystemFor(storageRoot);
  }

  /** The URI of a partner's entry for a period directory (`dt=…` or `month=…`). */
  uriOf(partner: string, periodDir: string): string {
    return joinUri(this.storageRoot, LEDGER_DIR, partner, `${periodDir}.json`);
  }

  async read(partner: string, periodDir: string): Promise<LedgerEntry | undefined> {
    const uri = this.uriOf(partner, periodDir);
    if (!(await this.fs.exists(uri))) return undefined;
    let entry: LedgerEntry;
    try {
      entry = JSON.parse((await this.fs.readBytes(uri)).toString('utf8')) as LedgerEntry;
    } catch (e) {
      throw new Error(`delivery ledger ${uri} is not readable JSON (${(e as Error).message}); restore it from backup, or delete it to deliver ${partner} ${periodDir} again`, { cause: e });
    }
    if (entry.format !== FORMAT || !Array.isArray(entry.files)) {
      throw new Error(`delivery ledger ${uri} has format ${JSON.stringify(entry.format)}, expected ${FORMAT}; it was not written by this courier`);
    }
    return entry;
  }

  /** Writes the entry atomically (temporary name, then rename), stamping updatedAt. */
  async write(entry: LedgerEntry): Promise<void> {
    entry.updatedAt = new Date().toISOString();
    const periodDir = entry.dataset.slice(entry.dataset.lastIndexOf('/') + 1);
    await this.fs.writeAtomic(this.uriOf(entry.partner, periodDir), JSON.stringify(entry, null, 2) + '\n');
  }

  /** Every entry, partner by partner, in period order. */
  async list(): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for (const partnerDir of await this.fs.list(joinUri(this.storageRoot, LEDGER_DIR))) {
      if (!partnerDir.isDirectory) continue;
      for (const f of await this.fs.list(partnerDir.uri)) {
        if (f.isDirectory || !f.name.endsWith('.json') || f.name.startsWith('.')) continue;
        const entry = await this.read(partnerDir.name, f.name.slice(0, -'.json'.length));
        if (entry) out.push(entry);
      }
    }
    return out;
  }
}

/** A fresh entry for a dataset, every file pending. */
export function newLedgerEntry(fields: {
  partner: string;
  dataset: string;
  period: string;
  markerChecksum: string;
  target: string;
  files: { name: string; role: 'data' | 'manifest'; bytes: number; sha256: string; rows: number; remotePath: string }[];
}): LedgerEntry {
  const now = new Date().toISOString();
  return {
    format: FORMAT,
    partner: fields.partner,
    dataset: fields.dataset,
    period: fields.period,
    markerChecksum: fields.markerChecksum,
    target: fields.target,
    state: 'pending',
    files: fields.files.map((f) => ({ ...f, state: 'pending', attempts: 0, updatedAt: now })),
    createdAt: now,
    updatedAt: now,
  };
}
