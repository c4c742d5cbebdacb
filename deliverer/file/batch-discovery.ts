/**
 * Finds the batch formatter's finished outputs: `batch/<partner>/dt=YYYY-MM-DD` or `batch/<partner>/month=YYYY-MM`
 * datasets of kind `files` with a valid `_SUCCESS` marker (written last, so a dataset with one is whole). Each holds
 * the data file(s) and a manifest, named `<file>.manifest.json` (docs/batch-formatter.md).
 */
import {
  fileSystemFor,
  joinUri,
  readMarker,
  MARKER_NAME,
  StorageError,
  type DatasetMarker,
  type MarkerFile,
} from '../../storage/index.ts';

export const BATCH_DIR = 'batch';
export const MANIFEST_SUFFIX = '.manifest.json';
const PERIOD_DIR = /^(?:dt=(\d{4}-\d{2}-\d{2})|month=(\d{4}-\d{2}))$/;

/** One complete batch dataset: a partner's files for a period. */
export interface BatchDataset {
  readonly partner: string;
  /** `YYYY-MM-DD` (daily) or `YYYY-MM` (monthly). */
  readonly period: string;
  /** `dt=…` or `month=…`. */
  readonly periodDir: string;
  /** Path relative to the storage root, e.g. `batch/globex-dmp/dt=2026-11-23`. */
  readonly path: string;
  readonly uri: string;
  readonly marker: DatasetMarker;
  /** Files to deliver before the manifest, in path order. */
  readonly dataFiles: readonly MarkerFile[];
  /** Uploaded last; absent when the producer wrote none. */
  readonly manifest?: MarkerFile;
}

/** A dataset that looks like a batch output but cannot be delivered as it is. */
export interface DiscoveryProblem {
  readonly path: string;
  readonly message: string;
}

/** Complete batch datasets under `storageRoot`, in path order, and the ones that could not be read. */
export async function findBatchDatasets(storageRoot: string): Promise<{ datasets: BatchDataset[]; problems: DiscoveryProblem[] }> {
  const fs = fileSystemFor(storageRoot);
  const datasets: BatchDataset[] = [];
  const problems: DiscoveryProblem[] = [];
  for (const partnerDir of await fs.list(joinUri(storageRoot, BATCH_DIR))) {
    if (!partnerDir.isDirectory || partnerDir.name.startsWith('_') || partnerDir.name.startsWith('.')) continue;
    for (const dir of await fs.list(partnerDir.uri)) {
      const m = dir.isDirectory ? PERIOD_DIR.exec(dir.name) : null;
      if (!m) continue;
      const path = `${BATCH_DIR}/${partnerDir.name}/${dir.name}`;
      if (!(await fs.exists(joinUri(dir.uri, MARKER_NAME)))) continue; // still being written, or failed
      let marker: DatasetMarker;
      try {
        marker = await readMarker(fs, dir.uri);
      } catch (e) {
        problems.push({ path, message: e instanceof StorageError ? e.message : String(e) });
        continue;
      }
      if (marker.kind !== 'files') {
        problems.push({ path, message: `${path}: a ${marker.kind} dataset, not batch files; batch/ holds only the batch formatter's files datasets` });
        continue;
      }
      const manifests = marker.files.filter((f) => f.path.endsWith(MANIFEST_SUFFIX));
      if (manifests.length > 1) {
        problems.push({ path, message: `${path}: ${manifests.length} manifests (${manifests.map((f) => f.path).join(', ')}); expected one; re-run the batch formatter for this period` });
        continue;
      }
      const dataFiles = marker.files.filter((f) => !f.path.endsWith(MANIFEST_SUFFIX));
      if (dataFiles.length === 0 || marker.files.some((f) => f.path.includes('/'))) {
        problems.push({ path, message: `${path}: expected data files and a manifest side by side, got ${marker.files.map((f) => f.path).join(', ') || 'no files'}` });
        continue;
      }
      datasets.push({
        partner: partnerDir.name,
        period: m[1] ?? m[2]!,
        periodDir: dir.name,
        path,
        uri: dir.uri,
        marker,
        dataFiles,
        ...(manifests[0] && { manifest: manifests[0] }),
      });
    }
  }
  return { datasets, problems };
}
