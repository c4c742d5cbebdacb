/** Finding the days of a dated dataset (`<name>/dt=YYYY-MM-DD`) that are complete, through storage. */
import { fileSystemFor, isComplete, joinUri, toStorageUri } from '../storage/index.ts';

const DT = /^dt=(\d{4}-\d{2}-\d{2})$/;

/** The file of a snapshot dataset that holds the snapshot. */
export const SNAPSHOT_FILE = 'segments.snap';

/** The URI of `<root>/<name>/dt=<day>`. */
export function datedUri(storageRoot: string, name: string, day: string): string {
  return joinUri(toStorageUri(storageRoot), `${name}/dt=${day}`);
}

/**
 * The latest day whose `<name>/dt=<day>` has a valid `_SUCCESS` marker, on or before `onOrBefore` when given;
 * null when there is none. Incomplete days (a write running or failed) are passed over.
 */
export async function latestCompleteDay(storageRoot: string, name: string, onOrBefore?: string): Promise<string | null> {
  const dir = joinUri(toStorageUri(storageRoot), name);
  const fs = fileSystemFor(dir);
  const days = (await fs.list(dir))
    .filter((e) => e.isDirectory)
    .map((e) => DT.exec(e.name)?.[1])
    .filter((d): d is string => d !== undefined && (onOrBefore === undefined || d <= onOrBefore))
    .sort()
    .reverse();
  for (const d of days) if (await isComplete(fs, joinUri(dir, `dt=${d}`))) return d;
  return null;
}
