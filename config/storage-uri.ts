// The storage root is a URI (file://, webhdfs://, gs://) or a plain path relative to the config file, so the shipped
// example works from a fresh clone and a cluster is one line away.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** URI schemes the storage room can address. */
export const STORAGE_SCHEMES = ['file', 'webhdfs', 'gs'] as const;

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** Why `value` is not a usable storage root, or undefined when it is. */
export function storageRootProblem(value: string): string | undefined {
  const hint = 'use file:///absolute/path, webhdfs://namenode:9870/path, gs://bucket/path or a plain path like ./.courier/data';
  if (value.trim() === '') return `expected a storage root; ${hint}`;
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive letter, i.e. a plain path.
  if (scheme === undefined || scheme.length === 1) return undefined;
  if (!(STORAGE_SCHEMES as readonly string[]).includes(scheme)) {
    return `unsupported URI scheme "${scheme}:"; ${hint}`;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a valid URI; ${hint}`;
  }
  if (scheme === 'file' && (!value.startsWith('file:///') || url.host !== '')) {
    return `file URIs must be absolute with an empty host (file:///data/courier); for a path relative to the config file write it without "file:", like ./.courier/data`;
  }
  if (scheme === 'webhdfs' && url.hostname === '') return `webhdfs URIs need a namenode host: webhdfs://namenode:9870/path`;
  if (scheme === 'gs' && url.hostname === '') return `gs URIs need a bucket: gs://bucket/path`;
  return undefined;
}

/** Why `value` is not a usable local delivery target (batch.target), or undefined when it is. */
export function localTargetProblem(value: string): string | undefined {
  if (value.trim() === '') return 'expected a local directory: file:///absolute/path or a path relative to this file';
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme.length === 1) return undefined;
  if (scheme !== 'file') return `a delivery target is a local directory, not ${scheme}:; for a remote server use the sftp section and remove target`;
  if (!value.startsWith('file:///')) return 'file URIs must be absolute with an empty host (file:///srv/outbox); for a path relative to this file write it without "file:"';
  return undefined;
}

/** The storage root as a URI: plain paths become file:// URIs resolved against the config file's directory. */
export function resolveStorageRoot(value: string, configDir: string): string {
  const scheme = SCHEME.exec(value)?.[1];
  if (scheme !== undefined && scheme.length > 1) return value;
  return pathToFileURL(path.resolve(configDir, value)).href;
}
