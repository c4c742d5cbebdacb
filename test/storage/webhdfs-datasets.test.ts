/**
 * Datasets on a webhdfs:// root, against the stand-in cluster built to the WebHDFS REST API document: Parquet
 * written locally and uploaded, staging renamed into place, `_SUCCESS` written last, readers going through the
 * marker, line files streamed, and the same rows as on file://.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  batchToRows,
  configureWebHdfs,
  datasetFiles,
  DatasetStaging,
  defineSchema,
  fileSystemFor,
  isComplete,
  joinUri,
  listDatasetFiles,
  lockStoreArea,
  readDataset,
  readLineFile,
  readMarker,
  rowsToBatch,
  toStorageUri,
  writeDataset,
  type Row,
} from '../../storage/index.ts';
import { startWebHdfsServer, type WebHdfsTestServer } from '../support/webhdfs-server.ts';

const schema = defineSchema({ request_id: 'string', partner_id: 'int32', priority: 'string', segments: 'list<string>' });
const rows: Row[] = Array.from({ length: 500 }, (_, i) => ({ request_id: `r${i}`, partner_id: [17, 42][i % 2]!, priority: i % 3 === 0 ? 'high' : 'normal', segments: [`s${i % 5}`] }));

let server: WebHdfsTestServer;
let hdfsRoot: string;
let fileRoot: string;
let dir: string;

beforeAll(async () => {
  server = await startWebHdfsServer({ auth: { security: 'off', anonymous: false } });
  server.seedDirectory('/courier', 'courier');
  configureWebHdfs({ user: 'courier', retryDelayMs: 5 });
  hdfsRoot = `webhdfs://${server.authority}/courier`;
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-webhdfs-ds-'));
  fileRoot = toStorageUri(dir);
});
afterAll(async () => {
  configureWebHdfs({});
  await server.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

async function readAll(uri: string): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of readDataset(uri)) out.push(...batchToRows(schema, b));
  return out.sort((a, b) => String(a['request_id']).localeCompare(String(b['request_id'])));
}

describe('datasets on a webhdfs:// root (stand-in cluster built to the WebHDFS REST API document)', () => {
  it('writes a partitioned Parquet dataset: staged, renamed into place, _SUCCESS last; it reads back as on file://', async () => {
    const spec = { partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'] };
    const onHdfs = await writeDataset(joinUri(hdfsRoot, 'requests/dt=2026-11-23'), schema, [rowsToBatch(schema, rows)], spec);
    const onFile = await writeDataset(joinUri(fileRoot, 'requests/dt=2026-11-23'), schema, [rowsToBatch(schema, rows)], spec);
    expect(onHdfs.rows).toBe(500);
    expect(onHdfs.files.map((f) => [f.path, f.rows])).toEqual(onFile.files.map((f) => [f.path, f.rows]));
    expect(server.walk('/courier/requests')).toEqual([
      '/courier/requests/dt=2026-11-23/',
      '/courier/requests/dt=2026-11-23/_SUCCESS',
      '/courier/requests/dt=2026-11-23/partner=17/',
      '/courier/requests/dt=2026-11-23/partner=17/priority=high/',
      '/courier/requests/dt=2026-11-23/partner=17/priority=high/part-00000.parquet',
      '/courier/requests/dt=2026-11-23/partner=17/priority=normal/',
      '/courier/requests/dt=2026-11-23/partner=17/priority=normal/part-00000.parquet',
      '/courier/requests/dt=2026-11-23/partner=42/',
      '/courier/requests/dt=2026-11-23/partner=42/priority=high/',
      '/courier/requests/dt=2026-11-23/partner=42/priority=high/part-00000.parquet',
      '/courier/requests/dt=2026-11-23/partner=42/priority=normal/',
      '/courier/requests/dt=2026-11-23/partner=42/priority=normal/part-00000.parquet',
    ]);
    // The marker's sizes are those of the uploaded files.
    for (const f of onHdfs.files) expect(server.fileData(`/courier/requests/dt=2026-11-23/${f.path}`)!.length).toBe(f.bytes);
    // The staging directory was renamed into place whole (one RENAME of a directory), and the marker came after it.
    const log = server.requests.filter((r) => r.listener === 'namenode' && (r.op === 'RENAME' || r.op === 'CREATE') && r.path.startsWith('/courier/requests'));
    const dirRename = log.findIndex((r) => r.op === 'RENAME' && /\/_tmp\.dt=2026-11-23\.[0-9a-f]+$/.test(r.path));
    expect(dirRename).toBeGreaterThanOrEqual(0);
    expect(log[dirRename]!.query['destination']).toBe('/courier/requests/dt=2026-11-23');
    expect(log.slice(dirRename + 1).every((r) => r.path.includes('_SUCCESS'))).toBe(true);
    expect(await readAll(joinUri(hdfsRoot, 'requests/dt=2026-11-23'))).toEqual(await readAll(joinUri(fileRoot, 'requests/dt=2026-11-23')));
    const { files } = await datasetFiles(joinUri(hdfsRoot, 'requests/dt=2026-11-23'), { partitions: { partner_id: [42] } });
    expect(files.map((f) => f.partition)).toEqual([
      { partner_id: 42, priority: 'high' },
      { partner_id: 42, priority: 'normal' },
    ]);
  });

  it('refuses to replace a complete dataset without overwrite, replaces it whole with it, and leaves nothing of a failed write', async () => {
    const uri = joinUri(hdfsRoot, 'store/dt=2026-11-23');
    await writeDataset(uri, schema, [rowsToBatch(schema, rows.slice(0, 10))]);
    await expect(writeDataset(uri, schema, [rowsToBatch(schema, rows.slice(0, 5))])).rejects.toThrow(/is already complete \(it has a _SUCCESS marker\).*--force/);
    await writeDataset(uri, schema, [rowsToBatch(schema, rows.slice(0, 5))], { overwrite: true });
    expect((await readMarker(fileSystemFor(uri), uri)).rows).toBe(5);
    async function* failing() {
      yield rowsToBatch(schema, rows.slice(0, 3));
      throw new Error('the stage failed half-way');
    }
    const other = joinUri(hdfsRoot, 'store/dt=2026-11-24');
    await expect(writeDataset(other, schema, failing())).rejects.toThrow(/half-way/);
    expect(await isComplete(fileSystemFor(other), other)).toBe(false);
    expect(server.walk('/courier/store').filter((p) => p.includes('2026-11-24'))).toEqual([]);
  });

  it('reads a files dataset of gzipped logs line by line through OPEN, with partition values from the paths', async () => {
    const uri = joinUri(hdfsRoot, 'logs/dt=2026-11-23');
    const staging = await DatasetStaging.begin(fileSystemFor(uri), uri);
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}\t${'x'.repeat(i % 50)}`);
    await staging.addFile('hour=08/web-01.log.gz', gzipSync(lines.join('\n') + '\n'), lines.length);
    await staging.addFile('hour=09/web-01.log', 'plain\r\ntext\n', 2);
    await staging.commit({ kind: 'files', partitionBy: [{ column: 'hour', key: 'hour' }] });
    const { files } = await listDatasetFiles(uri);
    expect(files.map((f) => [f.path, f.partition])).toEqual([
      ['hour=08/web-01.log.gz', { hour: '08' }],
      ['hour=09/web-01.log', { hour: '09' }],
    ]);
    const read: string[] = [];
    for await (const b of readLineFile(files[0]!, { batchRows: 4096 })) read.push(...b.lines);
    expect(read).toEqual(lines);
    const plain: string[] = [];
    for await (const b of readLineFile(files[1]!)) plain.push(...b.lines);
    expect(plain).toEqual(['plain', 'text']);
  });

  it('a file changed after its dataset was written is caught by its marker size', async () => {
    const uri = joinUri(hdfsRoot, 'damaged/dt=2026-11-23');
    await writeDataset(uri, schema, [rowsToBatch(schema, rows.slice(0, 20))]);
    server.seedFile('/courier/damaged/dt=2026-11-23/part-00000.parquet', 'PAR1 truncated', 'courier');
    await expect(readAll(uri)).rejects.toThrow(/has 14 bytes, the marker says \d+.*re-run the stage/);
  });

  it('says plainly that the bridge and deliverer locks need a local store (no HDFS lock yet)', async () => {
    await expect(lockStoreArea(joinUri(hdfsRoot, '_bridge'), { holder: 'the queue-bridge', onLost: () => undefined })).rejects.toThrow(
      /_bridge: the queue-bridge keeps its lock on a local file system only.*file:\/\/ storage root/,
    );
  });
});
