// A raw HTTP/1.1 client over one socket, for sending exactly the bytes a test wants (garbage, partial headers,
// bodies) and seeing exactly what comes back, including whether the server closed the connection.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class RawConnection {
  private data = Buffer.alloc(0);
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Bytes received and not yet read as a response. */
  get unread(): string {
    return this.data.toString('latin1');
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a GET and reads its response. */
  async get(target: string, extraHeaders = ''): Promise<RawResponse> {
    this.write(`GET ${target} HTTP/1.1\r\nHost: bus\r\n${extraHeaders}\r\n`);
    return this.response();
  }

  /** The next response (for a HEAD request `bodyless`), or throws when the connection closes or nothing comes within `timeoutMs`. */
  async response(timeoutMs = 5000, bodyless = false): Promise<RawResponse> {
    let parsed: { response: RawResponse; length: number } | undefined;
    const ok = await this.until(() => (parsed = parse(this.data, bodyless)) !== undefined || this.closed, timeoutMs);
    if (!parsed) throw new Error(ok ? 'connection closed before a response' : 'no response in time');
    this.data = this.data.subarray(parsed.length);
    return parsed.response;
  }

  /** True when the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    return this.until(() => this.closed, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

function parse(data: Buffer, bodyless: boolean): { response: RawResponse; length: number } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = data.toString('latin1', 0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const length = bodyless ? 0 : Number(headers['content-length'] ?? 0);
  if (data.length < end + 4 + length) return undefined;
  return {
    response: { status: Number(statusLine!.split(' ')[1]), headers, body: data.toString('utf8', end + 4, end + 4 + length) },
    length: end + 4 + length,
  };
}
