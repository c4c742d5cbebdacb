/**
 * The listener's HTTP answers as whole byte strings, each written with one socket.write: the status line and the
 * fixed headers (Content-Type: text/plain, keep-alive or close, no Date) prebuilt per status, then the
 * Content-Length digits and the body. Answers that never change (ready, not ready, the empty answer, errors) are
 * built once; only an answer with segment codes is assembled per request.
 */

/** Statuses the listener answers with. */
export type AnswerStatus = 200 | 400 | 404 | 408 | 431 | 503;

const REASON: Record<AnswerStatus, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
};

/** One answer prebuilt four ways: kept alive or closing, with its body or for HEAD without it. */
export interface PrebuiltAnswer {
  readonly keepAlive: Buffer;
  readonly close: Buffer;
  readonly headKeepAlive: Buffer;
  readonly headClose: Buffer;
}

/** Builds the answers of one listener (the Keep-Alive header names its keep-alive timeout). */
export class BusHttpAnswers {
  private readonly okKeepAlive: Buffer;
  private readonly okClose: Buffer;

  constructor(private readonly keepAliveSeconds: number) {
    this.okKeepAlive = this.prefix(200, false);
    this.okClose = this.prefix(200, true);
  }

  /** Status line and headers up to the Content-Length value (the last header, so its digits follow). */
  private prefix(status: AnswerStatus, close: boolean): Buffer {
    const connection = close ? 'Connection: close\r\n' : `Connection: keep-alive\r\nKeep-Alive: timeout=${this.keepAliveSeconds}\r\n`;
    return Buffer.from(`HTTP/1.1 ${status} ${REASON[status]}\r\nContent-Type: text/plain\r\n${connection}Content-Length: `, 'latin1');
  }

  /** An answer whose status and body never change. */
  prebuilt(status: AnswerStatus, body: Buffer): PrebuiltAnswer {
    const build = (close: boolean, head: boolean) =>
      Buffer.concat([this.prefix(status, close), Buffer.from(`${body.length}\r\n\r\n`, 'latin1'), head ? Buffer.alloc(0) : body]);
    return { keepAlive: build(false, false), close: build(true, false), headKeepAlive: build(false, true), headClose: build(true, true) };
  }

  /** A 200 answer with this body, as one new buffer (the socket may hold on to it until the kernel takes it). */
  ok(body: Uint8Array, close: boolean, head: boolean): Buffer {
    const prefix = close ? this.okClose : this.okKeepAlive;
    const length = body.length;
    const digits = length < 10 ? 1 : length < 100 ? 2 : length < 1000 ? 3 : length < 10000 ? 4 : String(length).length;
    const bodyStart = prefix.length + digits + 4;
    const out = Buffer.allocUnsafe(head ? bodyStart : bodyStart + length);
    out.set(prefix, 0);
    for (let at = bodyStart - 5, n = length; at >= prefix.length; at--, n = (n / 10) | 0) out[at] = 0x30 + (n % 10);
    out[bodyStart - 4] = 0x0d;
    out[bodyStart - 3] = 0x0a;
    out[bodyStart - 2] = 0x0d;
    out[bodyStart - 1] = 0x0a;
    if (!head) out.set(body, bodyStart);
    return out;
  }
}
