/**
 * One bus connection on a plain TCP socket: reads request heads as they arrive (whole, pipelined several to a
 * chunk, or split down to a byte per chunk), hands each request's target to the listener, and writes each answer
 * as one buffer, in order. Bad input is answered and the connection closed; it never throws.
 */
import type { Socket } from 'node:net';
import type { BusHttpAnswers, PrebuiltAnswer } from './bus-http-answers.ts';
import { parseRequestHead, RequestHead, type HeadProblem } from './bus-http-head.ts';

/** What every connection of one server shares. */
export interface BusHttpContext {
  readonly maxHeaderBytes: number;
  readonly answers: BusHttpAnswers;
  /** 400 closing, with the empty answer: a request body or another method. */
  readonly rejectAnswer: PrebuiltAnswer;
  /** Bytes answered to heads that are not HTTP, too long or too slow, before closing. */
  readonly problemAnswers: { readonly badRequest: Buffer; readonly tooLarge: Buffer; readonly timeout: Buffer };
  /** A graceful stop has begun: each answer closes its connection. */
  stopping: boolean;
  /** Answers one request by calling answer() or answerPrebuilt() on the connection, synchronously. */
  onRequest(connection: BusHttpConnection, target: string): void;
  /** A request refused before the listener saw it: a body or a method other than GET/HEAD. */
  onRejected(reason: 'body' | 'method'): void;
  /** A connection dropped for bad bytes, a too long or too slow head, or a socket error. */
  onClientError(code: string): void;
}

// One reused head for all connections: requests are read and answered synchronously, one at a time.
const head = new RequestHead();

export class BusHttpConnection {
  /** The start of a head not yet complete (a copy once a later chunk is added to it). */
  private pending: Buffer | undefined;
  /** Date.now() when the pending head's first bytes came; 0 when no head is pending. */
  headStartedAt = 0;
  /** Set by every read; the server's sweep clears it to find idle connections. */
  active = true;
  /** When the sweep first found this connection idle. */
  idleSince = 0;
  /** Answered with close, or being closed: later bytes are ignored. */
  private finished = false;
  private headOnly = false;
  private closeAfter = false;

  constructor(
    readonly socket: Socket,
    private readonly context: BusHttpContext,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      context.onClientError(error.code ?? 'unknown');
      socket.destroy();
    });
  }

  /** True while no request is in progress: nothing of a next head has arrived. */
  get idle(): boolean {
    return this.headStartedAt === 0;
  }

  private read(chunk: Buffer): void {
    if (this.finished) return;
    this.active = true;
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const context = this.context;
    let at = 0;
    while (at < buf.length) {
      const result = parseRequestHead(buf, at, buf.length, context.maxHeaderBytes, head);
      if (result === 'incomplete') {
        this.pending = buf.subarray(at);
        if (this.headStartedAt === 0) this.headStartedAt = Date.now();
        return;
      }
      this.headStartedAt = 0;
      if (result !== 'complete') {
        this.fail(result);
        return;
      }
      at = head.end;
      this.headOnly = head.method === 'HEAD';
      if (head.method === 'other' || head.body) {
        // Never read a body: it would be taken for the next request. Answer and close instead.
        context.onRejected(head.method === 'other' ? 'method' : 'body');
        this.closeAfter = true;
        this.answerPrebuilt(context.rejectAnswer);
        return;
      }
      this.closeAfter = head.close || (head.minor === 0 && !head.keepAlive) || context.stopping;
      context.onRequest(this, buf.toString('latin1', head.targetStart, head.targetEnd));
      if (this.finished) return;
    }
  }

  /** Answers the current request 200 with this body. */
  answer(body: Uint8Array): void {
    this.write(this.context.answers.ok(body, this.closeAfter, this.headOnly));
  }

  /** Answers the current request with a prebuilt answer. */
  answerPrebuilt(answer: PrebuiltAnswer): void {
    this.write(this.closeAfter ? (this.headOnly ? answer.headClose : answer.close) : this.headOnly ? answer.headKeepAlive : answer.keepAlive);
  }

  private write(bytes: Buffer): void {
    if (this.closeAfter) this.finish(bytes);
    else if (!this.socket.write(bytes) && !this.socket.isPaused()) {
      // A client that sends requests without reading the answers: read no more until they drain, so the
      // answers waiting in memory stay bounded (by about one read's worth of requests).
      const socket = this.socket;
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  }

  /** A head the listener will not answer normally: counted, answered with its status, closed. */
  private fail(problem: HeadProblem | 'ERR_HTTP_REQUEST_TIMEOUT'): void {
    this.context.onClientError(problem);
    const { badRequest, tooLarge, timeout } = this.context.problemAnswers;
    this.finish(problem === 'HPE_HEADER_OVERFLOW' ? tooLarge : problem === 'ERR_HTTP_REQUEST_TIMEOUT' ? timeout : badRequest);
  }

  /** The sweep found the pending head older than the headers timeout (a slowloris client). */
  timeOut(): void {
    this.pending = undefined;
    this.headStartedAt = 0;
    this.fail('ERR_HTTP_REQUEST_TIMEOUT');
  }

  /** Writes the last bytes, then closes; the socket is destroyed once they are handed to the kernel. */
  finish(bytes?: Buffer): void {
    if (this.finished) return;
    this.finished = true;
    this.pending = undefined;
    this.headStartedAt = 0;
    const socket = this.socket;
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    if (bytes !== undefined) socket.write(bytes);
    // Ends our side, and destroys the socket once written even if the peer never closes its side.
    socket.destroySoon();
  }
}
