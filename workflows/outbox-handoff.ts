/**
 * The hand-off at the end of a workflow: a small files dataset `outbox/dt=D` (or `outbox/month=M`) whose
 * `ready.json` names what is ready to leave: the day's data sync requests for the queue-bridge (rows per partner
 * and priority) and each batch dataset for the file deliverer (file, manifest, rows, sha256). Those processes
 * watch `outbox/` for new `_SUCCESS` markers instead of knowing every workflow's paths.
 */
import { DatasetStaging, fileSystemFor, joinUri, parsePartitionPath, readMarker } from '../storage/index.ts';
import { MANIFEST_SUFFIX } from '../jobs/batch-formatter/index.ts';

export const OUTBOX_DATASET = 'outbox';
export const READY_FILE = 'ready.json';
export const OUTBOX_FORMAT = 'courier-outbox/1';

/** The outbox dataset of a period: `outbox/dt=YYYY-MM-DD` or `outbox/month=YYYY-MM`. */
export function outboxPath(period: string): string {
  return /^\d{4}-\d{2}$/.test(period) ? `${OUTBOX_DATASET}/month=${period}` : `${OUTBOX_DATASET}/dt=${period}`;
}

/** The content of `ready.json`. */
export interface OutboxReady {
  readonly format: typeof OUTBOX_FORMAT;
  readonly workflow: string;
  readonly period: string;
  /** The data sync requests for the queue-bridge (absent for workflows that make none). */
  readonly requests?: {
    readonly dataset: string;
    readonly rows: number;
    readonly partitions: readonly { readonly partnerId: number; readonly priority: string; readonly rows: number }[];
  };
  /** One entry per batch file for the file deliverer. */
  readonly batches: readonly {
    readonly partner: string;
    readonly dataset: string;
    readonly file: string;
    readonly manifest: string;
    readonly rows: number;
    readonly bytes: number;
    readonly sha256: string;
  }[];
}

/** What to hand off: dataset paths relative to the storage root, each already complete. */
export interface OutboxContent {
  readonly workflow: string;
  readonly period: string;
  readonly requests?: string;
  readonly batches: readonly { readonly partner: string; readonly dataset: string }[];
}

/** Writes `ready.json` and `_SUCCESS` into the period's outbox, from the markers of what it names. */
export async function writeOutbox(storageRoot: string, content: OutboxContent, options: { overwrite: boolean }): Promise<OutboxReady> {
  const fs = fileSystemFor(storageRoot);
  let requests: OutboxReady['requests'];
  if (content.requests !== undefined) {
    const marker = await readMarker(fs, joinUri(storageRoot, content.requests));
    const partitions = new Map<string, { partnerId: number; priority: string; rows: number }>();
    for (const f of marker.files) {
      const parts = parsePartitionPath(f.path);
      const key = `${parts['partner']}/${parts['priority']}`;
      const entry = partitions.get(key) ?? { partnerId: Number(parts['partner']), priority: parts['priority'] ?? '', rows: 0 };
      entry.rows += f.rows;
      partitions.set(key, entry);
    }
    const sorted = [...partitions.values()].sort((a, b) => a.partnerId - b.partnerId || (a.priority < b.priority ? -1 : a.priority > b.priority ? 1 : 0));
    requests = { dataset: content.requests, rows: marker.rows, partitions: sorted };
  }
  const batches: OutboxReady['batches'][number][] = [];
  for (const b of content.batches) {
    const marker = await readMarker(fs, joinUri(storageRoot, b.dataset));
    const file = marker.files.find((f) => !f.path.endsWith(MANIFEST_SUFFIX));
    const manifest = marker.files.find((f) => f.path.endsWith(MANIFEST_SUFFIX));
    if (!file || !manifest) throw new Error(`batch dataset ${joinUri(storageRoot, b.dataset)} lacks its file or its manifest; re-run its batch formatter stage with --force`);
    batches.push({ partner: b.partner, dataset: b.dataset, file: file.path, manifest: manifest.path, rows: file.rows, bytes: file.bytes, sha256: file.sha256 });
  }
  const ready: OutboxReady = { format: OUTBOX_FORMAT, workflow: content.workflow, period: content.period, ...(requests ? { requests } : {}), batches };
  const staging = await DatasetStaging.begin(fs, joinUri(storageRoot, outboxPath(content.period)), { overwrite: options.overwrite });
  try {
    await staging.addFile(READY_FILE, `${JSON.stringify(ready, null, 2)}\n`, 1);
    await staging.commit({ kind: 'files', extra: { workflow: content.workflow, period: content.period } });
  } catch (e) {
    await staging.abort();
    throw e;
  }
  return ready;
}
