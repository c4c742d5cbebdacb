/**
 * One listener process: a node:http server tuned for the impression bus (long keep-alive, no request cap, no
 * timeouts on idle connections, Nagle off, small fixed headers), answering bid requests from the current
 * segment snapshot, the ready check, and bad input without ever throwing.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { BidUri } from './bid-uri.ts';
import { ListenerMetrics } from './listener-metrics.ts';
import type { ListenerSettings } from './listener-settings.ts';
import { LogWriter } from './log-writer.ts';
import { EMPTY_ANSWER } from './segment-snapshot.ts';
import { SnapshotWatcher } from './snapshot-loader.ts';

const READY = Buffer.from('1');
const NOT_READY = Buffer.from('0\n');
const CLOSE_400 = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const CLOSE_408 = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const CLOSE_431 = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** A running listener process. */
export interface RunningListener {
  /** The port it listens on (the one picked when settings.port is 0). */
  readonly port: number;
  readonly server: http.Server;
  readonly metrics: ListenerMetrics;
  readonly watcher: SnapshotWatcher;
  readonly logWriter: LogWriter;
  /** What the ready check answers now. */
  ready(): boolean;
  /** Graceful stop: not ready at once, open connections finish (up to stopGraceMs), log buffer flushed. */
  stop(): Promise<void>;
}

/** Starts a listener process: log writer, snapshot (loaded and polled), server. Resolves once it listens. */
export async function startListener(settings: ListenerSettings, logger: Logger): Promise<RunningListener> {
  const bid = new BidUri(settings.bidUri);
  const logWriter = await LogWriter.start(
    { dir: settings.log.dir, fileStem: `listener-${hostname()}-${process.pid}`, bufferBytes: settings.log.bufferBytes, flushMs: settings.log.flushMs },
    (m) => {
      if (m.type === 'error') logger.error({ problem: m.message }, 'log-level data could not be written');
      else if (m.type === 'opened' || m.type === 'closed') logger.info({ file: m.file }, `log file ${m.type}`);
    },
  );
  const ring = logWriter.ring;
  let stopping = false;
  let connections = 0;
  const ready = () => !stopping && watcher.current !== undefined && logWriter.healthy;

  const metrics = new ListenerMetrics({
    ready,
    snapshotUsers: () => watcher.current?.users ?? 0,
    snapshotBytes: () => watcher.current?.bytes.length ?? 0,
    snapshotDay: () => watcher.current?.date,
    connections: () => connections,
    logDropped: () => ring.dropped,
    logWritten: () => logWriter.written,
    logPendingBytes: () => ring.pending,
  });
  const watcher: SnapshotWatcher = new SnapshotWatcher(
    { storageRoot: settings.storageRoot, snapshotDataset: settings.snapshotDataset },
    {
      loaded: (snapshot, seconds, previous) => {
        metrics.snapshotLoads.labels('loaded').inc();
        logger.info(
          { day: snapshot.date, users: snapshot.users, answers: snapshot.answerCount, bytes: snapshot.bytes.length, seconds, previous: previous?.date },
          previous ? 'swapped in a newer segment snapshot' : 'segment snapshot loaded: ready',
        );
      },
      failed: (error, day) => {
        metrics.snapshotLoads.labels('failed').inc();
        logger.error({ day, err: error }, `segment snapshot ${day} could not be loaded; still answering from ${watcher.current?.date ?? 'none (not ready)'}`);
      },
    },
  );

  const { requests, readyChecks, rejected } = metrics;
  const readyPath = settings.readyPath;
  const plain = (res: ServerResponse, status: number, body: Buffer) => {
    res.sendDate = false;
    res.writeHead(status, ['Content-Type', 'text/plain', 'Content-Length', String(body.length)]);
    res.end(body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    if (stopping) res.shouldKeepAlive = false;
    const target = req.url ?? '';
    // The bus sends bodiless GETs; anything else is answered empty and the connection closed, so an unread
    // body can never be taken for the next request.
    if ((req.method !== 'GET' && req.method !== 'HEAD') || announcesBody(req.rawHeaders)) {
      rejected.labels(req.method !== 'GET' && req.method !== 'HEAD' ? 'method' : 'body').inc();
      res.shouldKeepAlive = false;
      plain(res, 400, EMPTY_ANSWER);
      return;
    }
    if (target === readyPath) {
      const yes = ready();
      if (yes) readyChecks.yes++;
      else readyChecks.no++;
      plain(res, yes ? 200 : 503, yes ? READY : NOT_READY);
      return;
    }
    const parsed = bid.parse(target);
    if (typeof parsed === 'string') {
      rejected.labels(parsed).inc();
      plain(res, parsed === 'not-bid-path' ? 404 : 200, EMPTY_ANSWER);
      if (parsed !== 'not-bid-path') ring.append('bad-request', Date.now(), elapsedNs(started), '', '', undefined);
      return;
    }
    const snapshot = watcher.current;
    if (snapshot === undefined) {
      requests['not-ready']++;
      plain(res, 200, EMPTY_ANSWER);
      ring.append('not-ready', Date.now(), elapsedNs(started), parsed.region, parsed.userId, undefined);
      return;
    }
    const answer = snapshot.lookup(parsed.region, parsed.userId);
    plain(res, 200, answer);
    const outcome = answer === EMPTY_ANSWER ? 'miss' : 'hit';
    requests[outcome]++;
    ring.append(outcome, Date.now(), elapsedNs(started), parsed.region, parsed.userId, answer);
  };

  const server = http.createServer(
    {
      keepAlive: true,
      keepAliveInitialDelay: 30_000,
      noDelay: true,
      maxHeaderSize: settings.maxHeaderBytes,
      // No limit on a whole request's time: the headers timeout alone guards against slow clients.
      requestTimeout: 0,
      headersTimeout: settings.headersTimeoutMs,
      // How often incomplete requests are checked against the headers timeout (default 30 s).
      connectionsCheckingInterval: Math.min(1000, settings.headersTimeoutMs),
    },
    onRequest,
  );
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = 0;
  server.timeout = 0;
  server.maxHeadersCount = 64;
  server.on('connection', (socket: Socket) => {
    connections++;
    socket.once('close', () => connections--);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const code = error.code ?? 'unknown';
    metrics.clientError(code);
    if (!socket.writable || code === 'ECONNRESET' || code === 'EPIPE') {
      socket.destroy();
      return;
    }
    socket.end(code === 'HPE_HEADER_OVERFLOW' ? CLOSE_431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? CLOSE_408 : CLOSE_400);
    socket.destroySoon();
  });

  await watcher.start(settings.pollMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'listener server error'));
  const port = (server.address() as { port: number }).port;
  logger.info({ host: settings.host, port, ready: ready(), snapshot: watcher.current?.date }, 'listener listening');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), settings.stopGraceMs);
      await closed;
      clearTimeout(grace);
      await watcher.stop();
      await logWriter.stop();
      logger.info({ written: logWriter.written, dropped: ring.dropped }, 'listener stopped; log buffer flushed');
    })());

  return { port, server, metrics, watcher, logWriter, ready, stop };
}

function elapsedNs(started: number): number {
  return Math.round((performance.now() - started) * 1e6);
}

/** Whether the request has a Content-Length or Transfer-Encoding header (without building req.headers). */
function announcesBody(raw: string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if ((name.length === 14 || name.length === 17) && /^(content-length|transfer-encoding)$/i.test(name)) return true;
  }
  return false;
}
