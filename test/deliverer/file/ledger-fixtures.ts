// Ledger entries in the states an interrupted run leaves behind, for reconcile tests.
import { type LedgerEntry, type LedgerFile } from '../../../deliverer/file/index.ts';
import type { WrittenBatch } from './batch-fixtures.ts';

/** A pending ledger entry for a written batch, its data file in the given state. */
export function newEntryFor(b: WrittenBatch, partner: string, data: Partial<LedgerFile>, remoteDir = `/incoming/${partner}`): LedgerEntry {
  const now = new Date().toISOString();
  const manifestBytes = Buffer.byteLength(JSON.stringify(b.manifest, null, 2) + '\n');
  return {
    format: 'courier-delivery-ledger/1',
    partner,
    dataset: b.path,
    period: String(b.manifest['period']),
    markerChecksum: b.markerChecksum,
    target: 'file:///',
    state: 'pending',
    files: [
      { name: b.fileName, role: 'data', bytes: b.content.length, sha256: b.sha256, rows: 0, remotePath: `${remoteDir}/${b.fileName}`, state: 'pending', attempts: 0, updatedAt: now, ...data },
      { name: `${b.fileName}.manifest.json`, role: 'manifest', bytes: manifestBytes, sha256: '', rows: 0, remotePath: `${remoteDir}/${b.fileName}.manifest.json`, state: 'pending', attempts: 0, updatedAt: now },
    ],
    createdAt: now,
    updatedAt: now,
  };
}
