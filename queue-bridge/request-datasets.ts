/**
 * Finds the request datasets the bridge may hand over: complete `<root>/<name>/dt=YYYY-MM-DD` directories (their
 * `_SUCCESS` marker written), oldest day first, with their files split by queue (partner × priority).
 */
import { datasetFiles, fileSystemFor, isComplete, joinUri, StorageError, type DatasetFile, type RecordSchema } from '../storage/index.ts';
import { queuedRequestSchema, type Priority, type QueueKey } from './sync-request.ts';

/** A complete request dataset: its id in the checkpoint, marker checksum and files. */
export interface RequestDataset {
  /** `<name>/dt=<day>`, relative to the storage root. */
  readonly id: string;
  readonly uri: string;
  readonly checksum: string;
  readonly schema: RecordSchema;
  readonly files: readonly RequestFile[];
}

/** One Parquet file of a request dataset: every row goes to `queue`. */
export interface RequestFile {
  readonly dataset: string;
  /** Path relative to the dataset directory, as in the marker. */
  readonly path: string;
  readonly queue: QueueKey;
  readonly rows: number;
  readonly file: DatasetFile;
}

const DAY_DIR = /^dt=\d{4}-\d{2}-\d{2}$/;

/** The days of `<root>/<name>` whose datasets are complete, oldest first. */
export async function completeRequestDays(root: string, name: string): Promise<string[]> {
  const dir = joinUri(root, name);
  const fs = fileSystemFor(dir);
  if (!(await fs.exists(dir))) return [];
  const days = (await fs.list(dir)).filter((e) => e.isDirectory && DAY_DIR.test(e.name)).map((e) => e.name);
  days.sort();
  const complete: string[] = [];
  for (const day of days) if (await isComplete(fs, joinUri(dir, day))) complete.push(day);
  return complete;
}

/** Checks that the marker's schema has the request columns with the types the queue carries. */
function checkSchema(schema: RecordSchema, uri: string): void {
  const wanted = [...queuedRequestSchema.fields, { name: 'partner_id', type: 'int32' }, { name: 'priority', type: 'string' }];
  for (const f of wanted) {
    const got = schema.fields.find((x) => x.name === f.name);
    if (!got || got.type !== f.type) {
      throw new StorageError(
        uri,
        got ? `column ${f.name} is ${got.type}, the queue needs ${f.type}` : `has no column ${f.name}`,
        'this is not a data sync request dataset (see docs/formats.md#data-sync-requests); check queue.requestsDataset',
      );
    }
  }
}

/** Reads a complete request dataset's marker: its files with their queues, in marker (path) order. */
export async function openRequestDataset(root: string, name: string, day: string): Promise<RequestDataset> {
  const id = `${name}/${day}`;
  const uri = joinUri(root, name, day);
  const { marker, schema, files } = await datasetFiles(uri);
  checkSchema(schema, uri);
  const out: RequestFile[] = files.map((file) => {
    const partnerId = file.partition['partner_id'];
    const priority = file.partition['priority'];
    if (typeof partnerId !== 'number' || (priority !== 'high' && priority !== 'normal')) {
      throw new StorageError(file.uri, 'is not under partner=<id>/priority=<high|normal>', 'the request dataset must be partitioned by partner_id and priority');
    }
    return { dataset: id, path: file.path, queue: { partnerId, priority: priority as Priority }, rows: file.rows, file };
  });
  return { id, uri, checksum: marker.checksum, schema, files: out };
}
