import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { listDatasets, writeDataset, toStorageUri, joinUri, defineSchema, rowsToBatch, StorageError } from '../../storage/index.ts';
import { runCourier } from '../cli/run-courier.ts';

const schema = defineSchema({ id: 'string' });
let dir: string;
let root: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-list-'));
  root = toStorageUri(dir);
  await writeDataset(joinUri(root, 'a/dt=2026-11-23'), schema, [rowsToBatch(schema, [{ id: 'x' }, { id: 'y' }])]);
  await fsp.mkdir(path.join(dir, 'b/dt=2026-11-23'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'b/dt=2026-11-23/part-00000.parquet'), 'half');
  await fsp.mkdir(path.join(dir, 'a/_tmp.dt=2026-11-24.abcd'), { recursive: true });
  await fsp.mkdir(path.join(dir, 'c/dt=1'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'c/dt=1/_SUCCESS'), '{not json');
  await fsp.mkdir(path.join(dir, '_runs/daily-refresh/2026-11-23'), { recursive: true });
  await fsp.writeFile(path.join(dir, '_runs/daily-refresh/2026-11-23/20261124T013000000Z-0a1b2c3d.json'), '{}');
  await fsp.mkdir(path.join(dir, '_deliveries/ledger/globex'), { recursive: true });
  await fsp.writeFile(path.join(dir, '_deliveries/ledger/globex/dt=2026-11-23.json'), '{}');
  await fsp.mkdir(path.join(dir, '_bridge'), { recursive: true });
  await fsp.writeFile(path.join(dir, '_bridge/checkpoint.json'), '{}');
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('listing datasets', () => {
  it('tells complete, incomplete, damaged datasets and staging leftovers apart (run history and the delivery ledger are not datasets)', async () => {
    const list = await listDatasets(root);
    expect(list.map((d) => [d.path, d.state])).toEqual([
      ['a/_tmp.dt=2026-11-24.abcd', 'staging-leftover'],
      ['a/dt=2026-11-23', 'complete'],
      ['b/dt=2026-11-23', 'incomplete'],
      ['c/dt=1', 'damaged'],
    ]);
    expect(list[1]).toMatchObject({ rows: 2, files: 1, kind: 'parquet' });
    expect(list[3]!.problem).toMatch(/not a readable marker/);
  });

  it('says what to do when the root does not exist', async () => {
    await expect(listDatasets(joinUri(root, 'nope'))).rejects.toThrow(StorageError);
    await expect(listDatasets(joinUri(root, 'nope'))).rejects.toThrow(/courier generate/);
  });

  it('is what `courier datasets` prints, as text and as JSON', async () => {
    const text = await runCourier(['datasets', dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/complete +a\/dt=2026-11-23 +2 rows in 1 files/);
    expect(text.stdout).toMatch(/INCOMPLETE +b\/dt=2026-11-23/);
    const json = await runCourier(['--json', 'datasets', dir]);
    expect(JSON.parse(json.stdout).datasets).toHaveLength(4);
  });
});
