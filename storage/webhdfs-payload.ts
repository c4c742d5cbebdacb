/**
 * The bytes of a WebHDFS upload, with their size and sha256 counted as they are sent. A payload knows whether
 * it can be sent again: buffers and local files can (so a refused or cut upload is retried), a caller's stream
 * cannot once an attempt has taken it.
 */
import * as fs from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import type { WriteSource } from './file-system.ts';

/** One upload's body source. */
export interface UploadPayload {
  /** A fresh body for one attempt (counters restart); a stream payload gives its one stream. */
  body(): Buffer | Readable;
  /** True when another attempt can send the same bytes from the start. */
  canResend(): boolean;
  /** Size and hash of what the last attempt sent. */
  written(): { bytes: number; sha256: string };
}

/** A payload of the data handed to writeAtomic. */
export function payloadOf(data: WriteSource): UploadPayload {
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const sha256 = createHash('sha256').update(buf).digest('hex');
    return { body: () => buf, canResend: () => true, written: () => ({ bytes: buf.byteLength, sha256 }) };
  }
  const counted = countingStream();
  let taken = false;
  return {
    body: () => {
      taken = true;
      // pipeline passes a source failure on to the tap, so the upload fails instead of hanging.
      return pipeline(Readable.from(data), counted.tap, () => undefined);
    },
    // Once handed to an attempt the stream is spent: a failed attempt destroys it even before its first byte.
    canResend: () => !taken,
    written: () => counted.digest(),
  };
}

/** A payload read from a local file, opened afresh for every attempt. */
export function filePayload(path: string): UploadPayload {
  let counted = countingStream();
  return {
    body: () => {
      counted = countingStream();
      return pipeline(fs.createReadStream(path, { highWaterMark: 1 << 20 }), counted.tap, () => undefined);
    },
    canResend: () => true,
    written: () => counted.digest(),
  };
}

function countingStream(): { tap: Transform; bytes: () => number; digest: () => { bytes: number; sha256: string } } {
  const hash: Hash = createHash('sha256');
  let bytes = 0;
  let digest: { bytes: number; sha256: string } | undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return { tap, bytes: () => bytes, digest: () => (digest ??= { bytes, sha256: hash.digest('hex') }) };
}
