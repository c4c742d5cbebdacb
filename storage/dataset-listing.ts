/**
 * What is under a storage root: complete datasets (with their markers' facts), unmarked directories that
 * hold files (incomplete: a stage still running, or one that failed), and staging leftovers of killed
 * writes. For on-call people asking "what did last night produce?".
 */
import { fileSystemFor } from './file-system.ts';
import { StorageError } from './storage-error.ts';
import { MARKER_NAME, readMarker } from './success-marker.ts';

/** One dataset-like directory under a root. */
export interface DatasetListing {
  uri: string;
  /** Path relative to the listed root. */
  path: string;
  state: 'complete' | 'incomplete' | 'staging-leftover' | 'damaged';
  rows?: number;
  files?: number;
  bytes?: number;
  writtenAt?: string;
  kind?: 'parquet' | 'files';
  problem?: string;
}

const NOT_DATASETS = new Set(['_runs', '_deliveries', '_bridge']);

/** Lists datasets under `rootUri`, depth-first in path order. */
export async function listDatasets(rootUri: string): Promise<DatasetListing[]> {
  const fs = fileSystemFor(rootUri);
  const root = rootUri.replace(/\/+$/, '');
  const out: DatasetListing[] = [];
  const rel = (uri: string) => uri.slice(root.length + 1) || '.';
  const walk = async (uri: string): Promise<void> => {
    const entries = await fs.list(uri);
    const name = uri.slice(uri.lastIndexOf('/') + 1);
    if (name.startsWith('_tmp.')) {
      out.push({ uri, path: rel(uri), state: 'staging-leftover' });
      return;
    }
    if (entries.some((e) => e.name === MARKER_NAME && !e.isDirectory)) {
      try {
        const m = await readMarker(fs, uri);
        out.push({ uri, path: rel(uri), state: 'complete', rows: m.rows, files: m.files.length, bytes: m.files.reduce((s, f) => s + f.bytes, 0), writtenAt: m.writtenAt, kind: m.kind });
      } catch (e) {
        out.push({ uri, path: rel(uri), state: 'damaged', problem: e instanceof StorageError ? e.message : String(e) });
      }
      return;
    }
    const files = entries.filter((e) => !e.isDirectory && !e.name.startsWith('.'));
    if (files.length > 0 && uri !== root) out.push({ uri, path: rel(uri), state: 'incomplete', files: files.length });
    // `_runs/` (workflow run history, `courier runs`), `_deliveries/` (the delivery ledger, `courier deliveries`) and
    // `_bridge/` (the queue-bridge checkpoint) under the root hold JSON records, not datasets.
    for (const e of entries) if (e.isDirectory && !(uri === root && NOT_DATASETS.has(e.name))) await walk(e.uri);
  };
  if (!(await fs.exists(root))) throw new StorageError(root, 'does not exist', 'check storage.root in the config, or generate data first (courier generate)');
  await walk(root);
  return out;
}
