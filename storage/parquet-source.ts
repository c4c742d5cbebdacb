import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { StorageError } from './storage-error.ts';

/** A local path DuckDB opens as exactly one file, and its cleanup. */
export interface LiteralPath {
  path: string;
  release(): Promise<void>;
}

/**
 * DuckDB's read_parquet treats `* ? [ ] { }` as glob patterns and reads a directory whole; we read one
 * named file. Missing files and directories are refused here, and a name with glob characters is read
 * through a symlink with a plain name.
 */
export async function literalParquetPath(file: string, where: string): Promise<LiteralPath> {
  const st = await fsp.stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new StorageError(where, 'no such Parquet file', 'check the path; datasets are read through their _SUCCESS marker');
    throw new StorageError(where, `cannot open: ${e.code ?? e.message}`, undefined, { cause: e });
  });
  if (st.isDirectory()) throw new StorageError(where, 'is a directory, not a Parquet file', 'read a dataset directory with readDataset');
  if (!/[*?[\]{}]/.test(file)) return { path: file, release: async () => undefined };
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-parquet-'));
  const link = path.join(dir, 'file.parquet');
  await fsp.symlink(path.resolve(file), link);
  return { path: link, release: () => fsp.rm(dir, { recursive: true, force: true }) };
}
