/**
 * The bridge's checkpoint, `<root>/_bridge/checkpoint.json`: per request dataset file, how many rows (from the
 * file's start, in file order) were handed to the broker and how many are acknowledged. Acknowledged is a low-water
 * mark: every row below it was acknowledged, whatever order the acks came in. A restart takes back the spans of
 * [acked, handed) the broker still holds and resends each file from the first row it may not hold: at most the rows
 * between `acked` and `handed` (all of them with the embedded broker, whose queues die with its process), never
 * skipping one.
 */
import { z } from 'zod';
import { fileSystemFor, joinUri, StorageError } from '../storage/index.ts';

export const CHECKPOINT_FORMAT = 'courier-bridge-checkpoint/1';

/** Progress of one data file. */
export interface FileProgress {
  rows: number;
  /** Rows [0, handed) went to the broker at some point. */
  handed: number;
  /** Rows [0, acked) are acknowledged; acked ≤ handed ≤ rows. */
  acked: number;
  /**
   * Where rows of [acked, handed) sit in the broker: [first sequence number, first row, rows] per span, so a restart
   * takes back what a durable broker (Redis) still holds instead of sending it again.
   */
  spans?: [number, number, number][];
}

/** Progress of one dataset; a finished one keeps no per-file detail. */
export interface DatasetProgress {
  /** The marker's checksum: a dataset rewritten since is handed over again from the start. */
  checksum: string;
  done: boolean;
  /** By file path relative to the dataset directory. */
  files: Record<string, FileProgress>;
}

export interface BridgeCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  writtenAt: string;
  /** By dataset id, `<name>/dt=<day>`. */
  datasets: Record<string, DatasetProgress>;
}

const fileProgress = z
  .strictObject({
    rows: z.number().int().min(0),
    handed: z.number().int().min(0),
    acked: z.number().int().min(0),
    spans: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(1)])).optional(),
  })
  .refine((f) => f.acked <= f.handed && f.handed <= f.rows, { message: 'needs acked ≤ handed ≤ rows' });

const checkpointSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  writtenAt: z.string(),
  datasets: z.record(z.string(), z.strictObject({ checksum: z.string(), done: z.boolean(), files: z.record(z.string(), fileProgress) })),
});

/** The bridge's area of a storage root: its checkpoint, and the lock that keeps it to one bridge. */
export function bridgeAreaUri(root: string): string {
  return joinUri(root, '_bridge');
}

/** Where the checkpoint of a storage root lives. */
export function checkpointUri(root: string): string {
  return joinUri(bridgeAreaUri(root), 'checkpoint.json');
}

/** Reads the checkpoint, or an empty one when there is none yet; a damaged file is an error saying what to do. */
export async function readCheckpoint(root: string): Promise<BridgeCheckpoint> {
  const uri = checkpointUri(root);
  const fs = fileSystemFor(uri);
  if (!(await fs.exists(uri))) return { format: CHECKPOINT_FORMAT, writtenAt: new Date(0).toISOString(), datasets: {} };
  const fix = 'move it aside to start over (every request dataset is then handed over again: duplicates, nothing lost)';
  let json: unknown;
  try {
    json = JSON.parse((await fs.readBytes(uri)).toString('utf8'));
  } catch (e) {
    throw new StorageError(uri, `is not valid JSON: ${(e as Error).message}`, fix, { cause: e });
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StorageError(uri, `is not a bridge checkpoint: at ${issue.path.join('.') || 'top level'}: ${issue.message}`, fix);
  }
  return parsed.data as BridgeCheckpoint;
}

/** Writes the checkpoint atomically (a temporary file renamed into place): a crash leaves the old or the new one. */
export async function writeCheckpoint(root: string, checkpoint: BridgeCheckpoint): Promise<void> {
  const uri = checkpointUri(root);
  checkpoint.writtenAt = new Date().toISOString();
  await fileSystemFor(uri).writeAtomic(uri, `${JSON.stringify(checkpoint, null, 2)}\n`);
}
