/**
 * One listener process: a TCP server speaking just the HTTP/1.1 the impression bus sends (bus-http-connection.ts;
 * on node:http the listener took 40.8 µs of CPU per request at 10k req/s, on this 24.7-27.1: docs/listener.md),
 * with the bus's settings: idle connections kept for the keep-alive timeout (150 s), no request cap, Nagle off, small fixed
 * headers. It answers bid requests from the current segment snapshot, the ready check, and bad input without ever
 * throwing.
 */
import net, { type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { BidUri } from './bid-uri.ts';
import { BusHttpAnswers } from './bus-http-answers.ts';
import { BusHttpConnection, type BusHttpContext } from './bus-http-connection.ts';
import { ListenerMetrics } from './listener-metrics.ts';
import type { ListenerSettings } from './listener-settings.ts';
import { LogWriter } from './log-writer.ts';
import { EMPTY_ANSWER } from './segment-snapshot.ts';
import { SnapshotWatcher } from './snapshot-loader.ts';

const READY = Buffer.from('1');
const NOT_READY = Buffer.from('0\n');

/** A running listener process. */
export interface RunningListener {
  /** The port it listens on (the one picked when settings.port is 0). */
  readonly port: number;
  readonly server: net.Server;
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
  const ready = () => !context.stopping && watcher.current !== undefined && logWriter.healthy;

  const metrics = new ListenerMetrics({
    ready,
    snapshotUsers: () => watcher.current?.users ?? 0,
    snapshotBytes: () => watcher.current?.bytes.length ?? 0,
    snapshotDay: () => watcher.current?.date,
    connections: () => connections.size,
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

  const { requests, readyChecks, rejected, answerSeconds } = metrics;
  const readyPath = settings.readyPath;
  const answers = new BusHttpAnswers(Math.floor(settings.keepAliveTimeoutMs / 1000));
  const readyYes = answers.prebuilt(200, READY);
  const readyNo = answers.prebuilt(503, NOT_READY);
  const empty = answers.prebuilt(200, EMPTY_ANSWER);
  const notFound = answers.prebuilt(404, EMPTY_ANSWER);
  const noBody = Buffer.alloc(0);

  const onRequest = (connection: BusHttpConnection, target: string) => {
    const started = performance.now();
    if (target === readyPath) {
      const yes = ready();
      if (yes) readyChecks.yes++;
      else readyChecks.no++;
      connection.answerPrebuilt(yes ? readyYes : readyNo);
      return;
    }
    const parsed = bid.parse(target);
    if (typeof parsed === 'string') {
      rejected.labels(parsed).inc();
      connection.answerPrebuilt(parsed === 'not-bid-path' ? notFound : empty);
      if (parsed !== 'not-bid-path') ring.append('bad-request', Date.now(), elapsedNs(started), '', '', undefined);
      return;
    }
    const snapshot = watcher.current;
    if (snapshot === undefined) {
      requests['not-ready']++;
      connection.answerPrebuilt(empty);
      ring.append('not-ready', Date.now(), elapsedNs(started), parsed.region, parsed.userId, undefined);
      return;
    }
    const answer = snapshot.lookup(parsed.region, parsed.userId);
    let outcome: 'hit' | 'miss';
    if (answer === EMPTY_ANSWER) {
      outcome = 'miss';
      connection.answerPrebuilt(empty);
    } else {
      outcome = 'hit';
      connection.answer(answer);
    }
    requests[outcome]++;
    const ns = elapsedNs(started);
    answerSeconds.observe(ns / 1e9);
    ring.append(outcome, Date.now(), ns, parsed.region, parsed.userId, answer);
  };

  const context: BusHttpContext = {
    maxHeaderBytes: settings.maxHeaderBytes,
    answers,
    rejectAnswer: answers.prebuilt(400, EMPTY_ANSWER),
    problemAnswers: {
      badRequest: answers.prebuilt(400, noBody).close,
      tooLarge: answers.prebuilt(431, noBody).close,
      timeout: answers.prebuilt(408, noBody).close,
    },
    stopping: false,
    onRequest,
    onRejected: (reason) => rejected.labels(reason).inc(),
    onClientError: (code) => metrics.clientError(code),
  };
  const connections = new Set<BusHttpConnection>();
  const server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 }, (socket: Socket) => {
    const connection = new BusHttpConnection(socket, context);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
    if (context.stopping) connection.finish();
  });

  // One timer for all connections, not one per request: a head pending longer than the headers timeout is a
  // slow client (408, closed); a connection with no request for the keep-alive timeout is closed. A connection
  // between requests is never touched by the first check, and the second is at least 150 s.
  const sweepMs = Math.min(1000, settings.headersTimeoutMs);
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of connections) {
      if (c.headStartedAt !== 0) {
        if (now - c.headStartedAt >= settings.headersTimeoutMs) c.timeOut();
      } else if (c.active) {
        c.active = false;
        c.idleSince = now;
      } else if (now - c.idleSince >= settings.keepAliveTimeoutMs) {
        c.finish();
      }
    }
  }, sweepMs);
  sweep.unref();

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
      context.stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle connections close now; one with a request under way answers it with Connection: close.
      for (const c of connections) if (c.idle) c.finish();
      const grace = setTimeout(() => {
        for (const c of connections) c.socket.destroy();
      }, settings.stopGraceMs);
      await closed;
      clearTimeout(grace);
      clearInterval(sweep);
      await watcher.stop();
      await logWriter.stop();
      logger.info({ written: logWriter.written, dropped: ring.dropped }, 'listener stopped; log buffer flushed');
    })());

  return { port, server, metrics, watcher, logWriter, ready, stop };
}

function elapsedNs(started: number): number {
  return Math.round((performance.now() - started) * 1e6);
}

