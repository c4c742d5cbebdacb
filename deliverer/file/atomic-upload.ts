/**
 * Brings one file to `delivered` from whatever state a previous run left it in, so a partner never sees half a
 * file and a crash at any point neither loses nor doubles one:
 *
 * - upload under a hidden temporary name (`.<name>.<token>.part`, recorded in the ledger first), check the bytes
 *   sent against the marker and the remote size, record `renaming`, rename to the final name, record `delivered`;
 * - on restart in `uploading`: the temporary file may be partial, so it is deleted and the file sent again;
 * - on restart in `renaming`: the final name present means the rename happened; the temporary file complete
 *   means it did not, so it is renamed now; neither means the rename happened and the partner already took the
 *   file (only a rename removes the temporary file);
 * - a file already under the final name that the ledger did not send is compared byte for byte: identical counts
 *   as delivered, different is a conflict, never overwritten.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as posix from 'node:path/posix';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { DeliveryError, isRetryable } from './delivery-error.ts';
import type { DeliveredHow, LedgerEntry, LedgerFile } from './delivery-ledger.ts';
import type { RemoteSession } from './remote-session.ts';
import { RateLimit, type UploadSource } from './upload-source.ts';

/** One file's delivery over an open session. */
export interface FileUpload {
  readonly session: RemoteSession;
  readonly entry: LedgerEntry;
  readonly file: LedgerFile;
  /** Persists the ledger entry (after each state change). */
  save(): Promise<void>;
  /** The bytes to send; prepared on first call only, since a reconciled file needs none. */
  source(): Promise<UploadSource>;
  readonly maxBytesPerSecond?: number;
  readonly logger: Logger;
}

/** The temporary name an upload of `name` uses; hidden and with a suffix partners' pickup patterns skip. */
export function tempNameFor(name: string): string {
  return `.${name}.${randomBytes(4).toString('hex')}.part`;
}

function isTempOf(name: string, candidate: string): boolean {
  return candidate.startsWith(`.${name}.`) && candidate.endsWith('.part') && /^[0-9a-f]{8}$/.test(candidate.slice(name.length + 2, -'.part'.length));
}

/** Delivers `u.file`; returns how it came to be delivered, or `already` when the ledger said so. */
export async function deliverFile(u: FileUpload): Promise<DeliveredHow | 'already'> {
  const { session, file } = u;
  if (file.state === 'delivered') return 'already';
  const dir = posix.dirname(file.remotePath);
  const finalName = posix.basename(file.remotePath);
  await session.mkdirs(dir);
  const entries = new Map((await session.list(dir)).map((e) => [e.name, e]));
  const final = entries.get(finalName);

  if (file.state === 'renaming' && file.tempPath) {
    const tempName = posix.basename(file.tempPath);
    const temp = entries.get(tempName);
    if (final) {
      // Renamed before the crash (a local target may also still hold the temporary link).
      if (temp) await session.delete(file.tempPath);
      return done(u, 'reconciled', 'the rename of an interrupted run had happened');
    }
    if (temp && temp.size === file.bytes) {
      await session.rename(file.tempPath, file.remotePath);
      return done(u, 'reconciled', 'finished the rename of an interrupted run');
    }
    if (!temp) return done(u, 'reconciled', 'the rename of an interrupted run had happened and the partner has since taken the file');
  }

  for (const name of entries.keys()) if (isTempOf(finalName, name)) await session.delete(posix.join(dir, name));
  const source = await u.source();
  if (final) {
    if (final.size === source.bytes && (await remoteSha256(await session.openRead(file.remotePath))) === source.sha256) {
      return done(u, 'found-on-remote', 'the final name already held identical bytes');
    }
    throw new DeliveryError(
      'conflict',
      `partner ${u.entry.partner}: ${session.where}${file.remotePath} already exists (${final.size} bytes) with other content than ${u.entry.dataset}/${file.name}; ` +
        "courier never overwrites a partner's file: ask the partner whether it is theirs, then remove or rename it and run courier deliver again",
    );
  }

  const tempPath = posix.join(dir, tempNameFor(finalName));
  file.state = 'uploading';
  file.tempPath = tempPath;
  file.attempts += 1;
  delete file.lastError;
  await u.save();

  let stream: Readable = await source.open();
  if (u.maxBytesPerSecond) stream = stream.pipe(new RateLimit(u.maxBytesPerSecond));
  let sourceError: Error | undefined;
  stream.on('error', (e) => (sourceError ??= e));
  try {
    await session.put(stream, tempPath);
  } catch (e) {
    // A refused write leaves a partial temporary file taking the partner's space: remove it while still connected.
    if (!isRetryable(e)) await session.delete(tempPath).catch(() => undefined);
    if (sourceError) throw new DeliveryError('local', `reading ${u.entry.dataset}/${file.name} for upload failed: ${sourceError.message}`, { cause: sourceError });
    throw e;
  }
  try {
    source.check();
  } catch (e) {
    await session.delete(tempPath).catch(() => undefined);
    throw e;
  }
  const uploaded = await session.stat(tempPath);
  if (uploaded?.size !== source.bytes) {
    // Some servers end a refused write quietly; a full or read-only disk is not worth retrying.
    const problem = await session.storageProblem(dir);
    if (problem) {
      await session.delete(tempPath).catch(() => undefined);
      throw new DeliveryError(
        'remote-storage',
        `partner ${u.entry.partner}: writing ${tempPath} on ${session.where} stopped at ${uploaded?.size ?? 0} of ${source.bytes} bytes: ${problem}; the file stays pending: ask the partner to free space or fix permissions, then run courier deliver again`,
      );
    }
    throw new DeliveryError(
      'connection',
      `partner ${u.entry.partner}: ${session.where}${tempPath} has ${uploaded?.size ?? 'no'} bytes after the upload, expected ${source.bytes}; the upload was cut short and is sent again`,
    );
  }
  file.state = 'renaming';
  await u.save();
  await session.rename(tempPath, file.remotePath);
  return done(u, 'uploaded');
}

async function done(u: FileUpload, how: DeliveredHow, note?: string): Promise<DeliveredHow> {
  const { file } = u;
  file.state = 'delivered';
  file.how = how;
  file.deliveredAt = new Date().toISOString();
  delete file.tempPath;
  delete file.lastError;
  await u.save();
  if (note) u.logger.info({ partner: u.entry.partner, file: file.name, remotePath: file.remotePath, how }, note);
  return how;
}

async function remoteSha256(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}
