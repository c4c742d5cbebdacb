/**
 * `courier status --serve`: a local HTTP server for the status page. GET / is the page, /fragment its refreshed
 * content, /status.json the same data for scripts, /metrics the workflow metrics read from the run history.
 * Every request collects afresh; a failing collection answers 500 with the reason and the server stays up.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listRuns } from '../workflows/index.ts';
import { StatusCollector, type MetricsSource, type StatusSnapshot } from './status-model.ts';
import { statusContentHtml, statusPageHtml } from './status-page.ts';
import { workflowRegistry } from './workflow-metrics.ts';

/** What the status server needs. */
export interface StatusServerOptions {
  readonly storageRoot: string;
  readonly sources: readonly MetricsSource[];
  readonly port: number;
  readonly host?: string;
  readonly refreshSeconds?: number;
  readonly runsShown?: number;
}

/** A running status server. */
export interface StatusServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the status server; a taken port fails naming the option to change. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const collector = new StatusCollector(options.storageRoot, options.sources, options.runsShown);
  const registry = workflowRegistry(async () => (await listRuns(options.storageRoot)).runs);
  const refresh = options.refreshSeconds ?? 5;
  // Page loads and refreshes from several tabs share one collection at a time.
  let pending: Promise<StatusSnapshot> | undefined;
  const collect = () => {
    pending ??= collector.collect().finally(() => (pending = undefined));
    return pending;
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async (): Promise<[number, string, string]> => {
      if (req.method !== 'GET') return [405, 'text/plain', 'only GET\n'];
      if (path === '/') return [200, 'text/html; charset=utf-8', statusPageHtml(await collect(), refresh)];
      if (path === '/fragment') return [200, 'text/html; charset=utf-8', statusContentHtml(await collect())];
      if (path === '/status.json') return [200, 'application/json', `${JSON.stringify(await collect(), null, 2)}\n`];
      if (path === '/metrics') return [200, registry.contentType, await registry.metrics()];
      return [404, 'text/plain', 'not found: the page is at /, its data at /status.json, metrics at /metrics\n'];
    };
    answer().then(
      ([status, type, body]) => res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`status collection failed: ${e.message}\n`),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot serve the status page on ${host}:${options.port}: ${e.message}; choose another --port or status.port`)));
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
