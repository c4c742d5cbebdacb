import { pathToFileURL, fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { StorageError } from './storage-error.ts';

/** URI schemes a Courier file system can be addressed by. */
export type StorageScheme = 'file' | 'webhdfs' | 'gs';

/** Returns the scheme of a storage URI, or throws naming the URI and the schemes we know. */
export function schemeOf(uri: string): StorageScheme {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  const scheme = m?.[1]?.toLowerCase();
  if (scheme === 'file' || scheme === 'webhdfs' || scheme === 'gs') return scheme;
  throw new StorageError(uri, 'not a storage URI', 'use file:///absolute/path, webhdfs://namenode:9870/path or gs://bucket/path');
}

/** Turns a local path (absolute or relative to cwd) or a URI into a URI; URIs pass through unchanged. */
export function toStorageUri(pathOrUri: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUri)) {
    schemeOf(pathOrUri);
    return pathOrUri.replace(/\/+$/, '') || pathOrUri;
  }
  return pathToFileURL(path.resolve(pathOrUri)).href.replace(/\/+$/, '');
}

/** Joins path segments onto a URI with single slashes. */
export function joinUri(base: string, ...parts: string[]): string {
  let out = base.replace(/\/+$/, '');
  for (const p of parts) {
    const clean = p.replace(/^\/+|\/+$/g, '');
    if (clean) out += '/' + clean;
  }
  return out;
}

/** The last segment of a URI path. */
export function baseName(uri: string): string {
  const trimmed = uri.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** The URI one level up. */
export function parentUri(uri: string): string {
  const trimmed = uri.replace(/\/+$/, '');
  return trimmed.slice(0, trimmed.lastIndexOf('/'));
}

/** The local path of a file:// URI, for libraries (DuckDB, zlib streams) that want paths. */
export function localPath(uri: string): string {
  if (schemeOf(uri) !== 'file') {
    throw new StorageError(uri, 'is not on the local file system', 'copy it locally first, or use a file:// storage root');
  }
  return fileURLToPath(uri);
}
