/**
 * setDuckDbMemory: the local runner caps each worker thread's DuckDB from `memoryMb` and points its spill
 * files at the step's spill directory.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setDuckDbMemory } from '../../storage/index.ts';
import { duckdb, openConnection as openDuckDbConnection, streamChunks } from '../../storage/duckdb-room.ts';

async function setting(name: string): Promise<string> {
  const conn = await openDuckDbConnection();
  try {
    for await (const chunk of streamChunks(conn, `SELECT current_setting('${name}')::VARCHAR`)) {
      const slot = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 0), 16);
      const len = new DataView(slot.buffer, slot.byteOffset, 16).getUint32(0, true);
      if (len <= 12) return Buffer.from(slot.buffer, slot.byteOffset + 4, len).toString('utf8');
      return Buffer.from(duckdb.get_data_from_pointer(slot.buffer as ArrayBuffer, slot.byteOffset + 8, len)).toString('utf8');
    }
    throw new Error('no row');
  } finally {
    duckdb.disconnect_sync(conn);
  }
}

describe('setDuckDbMemory', () => {
  const dir = path.join(os.tmpdir(), `courier-duckdb-memory-${process.pid}`);
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('sets the memory limit and the temp directory of this thread\'s DuckDB, creating the directory', async () => {
    await setDuckDbMemory(300, path.join(dir, 'a'));
    // DuckDB reports the limit in its own units (300 MB = 286.1 MiB).
    expect(await setting('memory_limit')).toMatch(/^(286\.1 MiB|300\.0 MB)$/);
    expect(await setting('temp_directory')).toBe(path.join(dir, 'a'));
    expect((await fsp.stat(path.join(dir, 'a'))).isDirectory()).toBe(true);
    await setDuckDbMemory(1024, path.join(dir, 'b'));
    expect(await setting('temp_directory')).toBe(path.join(dir, 'b'));
  });
});
