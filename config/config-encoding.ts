// A config file must be UTF-8 text. Read otherwise (UTF-16 from some Windows editors, latin-1, a binary file
// under the wrong name) the YAML parser sees NULs or U+FFFD and the problems it reports point away from the cause.
import { isUtf8 } from 'node:buffer';
import { ConfigError } from './config-error.ts';

/** The text of a config file's bytes; a ConfigError at the first offending byte unless they are UTF-8 without NULs. */
export function decodeConfigBytes(bytes: Uint8Array, file: string): string {
  const fail = (offset: number, message: string): never => {
    const { line, column } = positionOf(bytes, offset);
    throw new ConfigError(file, [{ file, line, column, field: '', message }]);
  };
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    fail(0, 'the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) fail(nul, 'the file holds a NUL byte here: it is binary, or UTF-16 without a byte order mark; save it as UTF-8 text');
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    fail(at, `the file is not valid UTF-8 here (byte 0x${bytes[at]!.toString(16).toUpperCase().padStart(2, '0')}; latin-1 or another legacy encoding?); save it as UTF-8`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Offset of the first byte that cannot begin or continue a UTF-8 sequence (binary search on streaming decodes). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  // A streaming decode accepts a prefix that ends inside a sequence, so the longest accepted prefix ends at the culprit.
  const decodes = (n: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (decodes(mid)) lo = mid;
    else hi = mid - 1;
  }
  // The accepted prefix may end inside a sequence that the next byte breaks: then its lead byte is the culprit.
  let at = lo;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, lo));
  } catch {
    while (at > 0 && (bytes[at - 1]! & 0xc0) === 0x80) at--;
    if (at > 0) at--;
  }
  return Math.min(at, bytes.length - 1);
}

/** 1-based line and column (in bytes) of `offset`. */
function positionOf(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
