/**
 * `courier listen`: the listener in several processes sharing one port (node:cluster), so a GC pause in one
 * stalls only its share of the bus's connections. The primary forks the workers, restarts one that dies,
 * serves /metrics summed over them, and on SIGTERM/SIGINT stops them gracefully (each flushes its log buffer).
 */
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ListenerClusterSettings } from './listener-settings.ts';
import { startListener } from './listener-server.ts';

/** The environment variable carrying the settings to worker processes. */
export const SETTINGS_ENV = 'COURIER_LISTENER_SETTINGS';

/** A running `courier listen`. */
export interface ListenerCluster {
  /** The port the workers listen on. */
  port: number;
  metricsPort: number | undefined;
  /** Stops every worker gracefully; resolves when all have exited. */
  stop(): Promise<void>;
  /** Resolves when the cluster has stopped (by stop() or a signal). */
  stopped: Promise<void>;
}

/** Starts the listener processes and resolves once all listen. With workers 1 the listener runs in this process. */
export async function runListenerCluster(settings: ListenerClusterSettings, logger: Logger): Promise<ListenerCluster> {
  if (settings.workers === 1) return runInProcess(settings, logger);
  const tsx = import.meta.resolve('tsx');
  cluster.setupPrimary({
    exec: new URL('./listener-worker-main.ts', import.meta.url).pathname,
    execArgv: ['--import', tsx],
    silent: false,
  });
  let stopping = false;
  const env = { [SETTINGS_ENV]: JSON.stringify(settings) };
  const workers = new Set<Worker>();
  let port = 0;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  const fork = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork(env);
      workers.add(worker);
      let listening = false;
      worker.on('message', (m: { type?: string; port?: number }) => {
        if (m?.type === 'listening') {
          listening = true;
          resolve(m.port!);
        }
      });
      worker.on('exit', (code, signal) => {
        workers.delete(worker);
        if (!listening) reject(new Error(`listener worker ${worker.process.pid} exited (${signal ?? code}) before it listened; see its log above`));
        else if (!stopping) {
          logger.error({ pid: worker.process.pid, code, signal }, 'listener worker died; starting another');
          setTimeout(() => void fork().catch((error: Error) => logger.error({ err: error }, 'could not restart a listener worker')), 500);
        }
        if (stopping && workers.size === 0) resolveStopped();
      });
    });

  try {
    // Port 0 too is one handle in the primary, so every worker shares the port it picked.
    const ports = await Promise.all(Array.from({ length: settings.workers }, fork));
    port = ports[0]!;
  } catch (error) {
    stopping = true;
    for (const w of workers) w.kill();
    throw error;
  }

  const aggregator = new AggregatorRegistry();
  const metricsServer = await serveMetrics(settings, () => aggregator.clusterMetrics(), aggregator.contentType);
  const metricsPort = metricsServer && (metricsServer.address() as { port: number }).port;
  logger.info({ port, workers: settings.workers, metricsPort }, 'courier listen: workers listening');

  const stop = async () => {
    if (!stopping) {
      stopping = true;
      logger.info('stopping: workers answer not ready, finish their connections and flush their log buffers');
      if (workers.size === 0) resolveStopped();
      for (const w of workers) w.send({ type: 'stop' });
      metricsServer?.close();
    }
    await stopped;
  };
  stopOnSignals(stop, stopped);
  return { port, metricsPort, stop, stopped };
}

async function runInProcess(settings: ListenerClusterSettings, logger: Logger): Promise<ListenerCluster> {
  const listener = await startListener(settings, logger);
  const registry = listener.metrics.registry;
  const metricsServer = await serveMetrics(settings, () => registry.metrics(), registry.contentType);
  const metricsPort = metricsServer && (metricsServer.address() as { port: number }).port;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const stop = async () => {
    metricsServer?.close();
    await listener.stop();
    resolveStopped();
  };
  stopOnSignals(stop, stopped);
  return { port: listener.port, metricsPort, stop, stopped };
}

/** Serves /metrics with `text()` on the configured port, when there is one. */
async function serveMetrics(settings: ListenerClusterSettings, text: () => Promise<string>, contentType: string): Promise<http.Server | undefined> {
  if (settings.metricsPort === undefined) return undefined;
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    text().then(
      (body) => res.writeHead(200, { 'Content-Type': contentType }).end(body),
      (error: Error) => res.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(settings.metricsPort, settings.metricsHost, resolve));
  return server;
}

/** Stops on SIGTERM or SIGINT until stopped, then lets go of the signals. */
function stopOnSignals(stop: () => Promise<void>, stopped: Promise<void>): void {
  const onSignal = () => void stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  void stopped.then(() => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  });
}
