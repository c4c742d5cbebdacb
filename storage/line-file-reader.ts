/**
 * Reads the text files of a `files` dataset (the webapp logs) line by line: a file whose name ends `.gz` is
 * gunzipped as a stream (never whole in memory), anything else is read as UTF-8. A damaged gzip file fails
 * naming the file and the line reached, so a cut-off copy is never taken for a short hour of logs. A line
 * longer than `maxLineChars` is handed out cut to that length, the rest of it skipped up to its newline: a few
 * KB of gzip can inflate to gigabytes without one, and memory and time must stay bounded by the limit.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { checkListedFile, type DatasetFile } from './dataset-reader.ts';
import { fileSystemFor } from './file-system.ts';
import { StorageError } from './storage-error.ts';

/**
 * Inflating runs on libuv's thread pool: larger chunks and a deeper buffer let it run ahead of the thread that
 * splits and maps the lines, where zlib's 16 KiB defaults kept the two taking turns.
 */
const GUNZIP_OPTIONS = { chunkSize: 256 * 1024, readableHighWaterMark: 4 * 1024 * 1024 };
const DECODE_BLOCK = 16 * 1024;

/** A batch of lines of one file. */
export interface LineBatch {
  /** The lines, without their `\n` or `\r\n`. */
  readonly lines: string[];
  /** 0-based number of the first line of the batch in its file. */
  readonly firstLine: number;
  /** Bytes of the file read so far (compressed bytes for a gzipped file). */
  readonly bytesRead: number;
}

/** Default `maxLineChars`: far beyond any real log line (a user agent and an 8 KB URL), small enough to hold. */
export const MAX_LINE_CHARS = 1 << 20;

/**
 * Reads one listed text file (size checked against its marker) as batches of `batchRows` lines (default 8192),
 * each at most `maxLineChars` characters (default MAX_LINE_CHARS; a longer line is cut there).
 */
export async function* readLineFile(file: DatasetFile, options: { batchRows?: number; maxLineChars?: number } = {}): AsyncGenerator<LineBatch> {
  const batchRows = Math.max(1, options.batchRows ?? 8192);
  const maxLineChars = Math.max(1, options.maxLineChars ?? MAX_LINE_CHARS);
  await checkListedFile(file);
  const raw = await fileSystemFor(file.uri).openRead(file.uri);
  const gzipped = file.uri.endsWith('.gz');
  let bytesRead = 0;
  // The first bytes, to tell a file that is not gzip from a gzip file damaged further on.
  let head = Buffer.alloc(0);
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (head.length < 2) head = Buffer.concat([head, chunk.subarray(0, 2)]);
      bytesRead += chunk.length;
      done(null, chunk);
    },
  });
  // The callback form returns the last stream and destroys it with the first error, which the loop below rethrows.
  const text: Readable = gzipped ? pipeline(raw, counter, createGunzip(GUNZIP_OPTIONS), () => undefined) : pipeline(raw, counter, () => undefined);
  const decoder = new StringDecoder('utf8');
  let tail = '';
  let lines: string[] = [];
  let firstLine = 0;
  let lineNo = 0;
  const lineOf = (p: string): string => {
    const l = p.length > maxLineChars ? p.slice(0, maxLineChars) : p;
    return l.endsWith('\r') ? l.slice(0, -1) : l;
  };
  try {
    for await (const chunk of text) {
      const bytes = chunk as Buffer;
      // Decoded in blocks of DECODE_BLOCK bytes: an all-ASCII block takes V8's fast path, and in a big block one
      // accented user agent sends the whole block down the slow one (measured: 2.2 s of a 17 s step at 256 KiB).
      for (let off = 0; off < bytes.length; off += DECODE_BLOCK) {
        const s = decoder.write(bytes.subarray(off, Math.min(bytes.length, off + DECODE_BLOCK)));
        // Only the new text is searched and split: re-splitting the unfinished line with every chunk made a
        // line without newlines quadratic (16 MiB took 6 s, and 1 GiB from a 1 MB gzip file would take hours).
        if (s.indexOf('\n') < 0) {
          if (tail.length <= maxLineChars) tail += s;
          continue;
        }
        const parts = s.split('\n');
        parts[0] = tail.length > maxLineChars ? tail : tail + parts[0]!;
        tail = parts.pop()!;
        for (const p of parts) {
          lines.push(lineOf(p));
          lineNo++;
          if (lines.length >= batchRows) {
            yield { lines, firstLine, bytesRead };
            firstLine = lineNo;
            lines = [];
          }
        }
      }
    }
  } catch (e) {
    throw gzipError(file.uri, e, lineNo, head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b);
  } finally {
    text.destroy();
  }
  const last = tail + decoder.end();
  if (last !== '') lines.push(lineOf(last));
  if (lines.length > 0) yield { lines, firstLine, bytesRead };
}

/** A StorageError for a failed read: what is wrong with the gzip data, and the last complete line read. */
function gzipError(uri: string, e: unknown, lines: number, notGzip: boolean): StorageError {
  if (e instanceof StorageError) return e;
  const err = e as NodeJS.ErrnoException;
  const hint = 're-copy the file, or re-run the stage that writes its dataset';
  if (err.code === 'Z_BUF_ERROR' || /unexpected end of file/.test(err.message ?? '')) {
    return new StorageError(uri, `gzip data is truncated at line ${lines} (0-based; ${lines} complete lines were read before the stream ended)`, hint, { cause: e });
  }
  // A header error with the gzip magic up front is a damaged later member or trailing bytes, not a text file.
  if (/header/.test(err.message ?? '') && lines === 0 && notGzip) {
    return new StorageError(uri, `is not gzip data (${err.message}), though its name ends .gz`, hint, { cause: e });
  }
  if (err.code?.startsWith('Z_')) {
    return new StorageError(uri, `gzip data is corrupt at line ${lines} (0-based): ${err.message}`, hint, { cause: e });
  }
  return new StorageError(uri, `reading failed at line ${lines} (0-based): ${err.message ?? String(e)}`, undefined, { cause: e });
}
