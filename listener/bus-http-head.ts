/**
 * A strict reader of one HTTP/1.x request head, for the impression bus's traffic: `GET <target> HTTP/1.1`, a few
 * headers, no body. It reads the bytes in place and keeps only what the listener acts on (method, where the target
 * is, version, and the Content-Length, Transfer-Encoding and Connection headers): no string or object per request.
 */

/** Why a head is not a request the listener answers normally (named as llhttp names them, for the metrics). */
export type HeadProblem =
  | 'HPE_INVALID_METHOD'
  | 'HPE_INVALID_URL'
  | 'HPE_INVALID_VERSION'
  | 'HPE_INVALID_HEADER_TOKEN'
  | 'HPE_INVALID_CONTENT_LENGTH'
  | 'HPE_HEADER_OVERFLOW';

/** What one parse found: a whole head, not yet a whole head, or a problem. */
export type HeadResult = 'complete' | 'incomplete' | HeadProblem;

/** The fields of the last complete head, written in place by parseRequestHead (one instance reused). */
export class RequestHead {
  /** GET and HEAD are answered; any other method is rejected. */
  method: 'GET' | 'HEAD' | 'other' = 'GET';
  targetStart = 0;
  targetEnd = 0;
  /** The x of HTTP/1.x. */
  minor = 1;
  /** Content-Length above 0 or any Transfer-Encoding: the request has a body. */
  body = false;
  /** Connection: close. */
  close = false;
  /** Connection: keep-alive (what keeps an HTTP/1.0 connection open). */
  keepAlive = false;
  /** Where the head ends (just past its empty line). */
  end = 0;
}

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

/** RFC 9110 tchar: the bytes of methods and header names. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

const lower = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const CONTENT_LENGTH = lower('content-length');
const TRANSFER_ENCODING = lower('transfer-encoding');
const CONNECTION = lower('connection');
const CLOSE = lower('close');
const KEEP_ALIVE = lower('keep-alive');

/** Case-insensitive match of buf[at, at + name.length) with a lower-case ASCII name (callers check the length). */
function matches(buf: Uint8Array, at: number, name: Uint8Array): boolean {
  // | 0x20 lowers ASCII letters and maps no other byte that can occur here (CR cannot) onto a letter or '-'.
  for (let k = 0; k < name.length; k++) if ((buf[at + k]! | 0x20) !== name[k]) return false;
  return true;
}

/**
 * Reads the request head starting at buf[start] (bytes up to `end` are available) into `out`. A head longer than
 * maxBytes (request line and headers) is HPE_HEADER_OVERFLOW, whether or not its end has arrived.
 */
export function parseRequestHead(buf: Uint8Array, start: number, end: number, maxBytes: number, out: RequestHead): HeadResult {
  const limit = Math.min(end, start + maxBytes);
  // Running out of bytes: more may come, unless maxBytes of them did not make a head.
  const more: HeadResult = end - start >= maxBytes ? 'HPE_HEADER_OVERFLOW' : 'incomplete';
  let i = start;
  while (i < limit && TOKEN[buf[i]!] === 1) i++;
  if (i >= limit) return more;
  const methodLength = i - start;
  if (buf[i] !== SP || methodLength === 0) return 'HPE_INVALID_METHOD';
  if (methodLength === 3 && buf[start] === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) out.method = 'GET';
  else if (methodLength === 4 && buf[start] === 0x48 && buf[start + 1] === 0x45 && buf[start + 2] === 0x41 && buf[start + 3] === 0x44) out.method = 'HEAD';
  else out.method = 'other';

  // Origin-form only (`/path?query`): what the bus sends. Visible ASCII, and bytes over 0x7f as Node accepts them.
  const targetStart = ++i;
  if (i < limit && buf[i] !== 0x2f) return 'HPE_INVALID_URL';
  for (; i < limit; i++) {
    const c = buf[i]!;
    if (c <= SP || c === 0x7f) break;
  }
  if (i >= limit) return more;
  if (buf[i] !== SP) return 'HPE_INVALID_URL';
  out.targetStart = targetStart;
  out.targetEnd = i;

  // "HTTP/1.x\r\n"
  if (limit - ++i < 10) {
    for (let k = 0; i + k < limit; k++) if (buf[i + k] !== 'HTTP/1.0\r\n'.charCodeAt(k) && k !== 7) return 'HPE_INVALID_VERSION';
    return more;
  }
  if (buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 || buf[i + 4] !== 0x2f || buf[i + 5] !== 0x31 || buf[i + 6] !== 0x2e) return 'HPE_INVALID_VERSION';
  const minor = buf[i + 7]! - 0x30;
  if ((minor !== 0 && minor !== 1) || buf[i + 8] !== CR || buf[i + 9] !== LF) return 'HPE_INVALID_VERSION';
  out.minor = minor;
  i += 10;

  out.body = false;
  out.close = false;
  out.keepAlive = false;
  for (;;) {
    if (i >= limit) return more;
    if (buf[i] === CR) {
      if (i + 1 >= limit) return more;
      if (buf[i + 1] !== LF) return 'HPE_INVALID_HEADER_TOKEN';
      out.end = i + 2;
      return 'complete';
    }
    const nameStart = i;
    while (i < limit && TOKEN[buf[i]!] === 1) i++;
    if (i >= limit) return more;
    const nameLength = i - nameStart;
    if (buf[i] !== COLON || nameLength === 0) return 'HPE_INVALID_HEADER_TOKEN';
    i++;
    while (i < limit && (buf[i] === SP || buf[i] === HT)) i++;
    const valueStart = i;
    for (; i < limit; i++) {
      const c = buf[i]!;
      if (c === CR) break;
      if ((c < SP && c !== HT) || c === 0x7f) return 'HPE_INVALID_HEADER_TOKEN';
    }
    if (i + 1 >= limit) return more;
    if (buf[i + 1] !== LF) return 'HPE_INVALID_HEADER_TOKEN';
    let valueEnd = i;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HT)) valueEnd--;
    i += 2;

    if (nameLength === 14 && matches(buf, nameStart, CONTENT_LENGTH)) {
      if (valueEnd === valueStart) return 'HPE_INVALID_CONTENT_LENGTH';
      for (let k = valueStart; k < valueEnd; k++) {
        const d = buf[k]! - 0x30;
        if (d < 0 || d > 9) return 'HPE_INVALID_CONTENT_LENGTH';
        if (d !== 0) out.body = true;
      }
    } else if (nameLength === 17 && matches(buf, nameStart, TRANSFER_ENCODING)) {
      out.body = true;
    } else if (nameLength === 10 && matches(buf, nameStart, CONNECTION)) {
      // A comma-separated list of tokens; only close and keep-alive matter.
      let k = valueStart;
      while (k < valueEnd) {
        let tokenEnd = k;
        while (tokenEnd < valueEnd && buf[tokenEnd] !== 0x2c) tokenEnd++;
        let a = k;
        let b = tokenEnd;
        while (a < b && (buf[a] === SP || buf[a] === HT)) a++;
        while (b > a && (buf[b - 1] === SP || buf[b - 1] === HT)) b--;
        if (b - a === 5 && matches(buf, a, CLOSE)) out.close = true;
        else if (b - a === 10 && matches(buf, a, KEEP_ALIVE)) out.keepAlive = true;
        k = tokenEnd + 1;
      }
    }
  }
}
