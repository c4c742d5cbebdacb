/**
 * Entry of a listener worker process (forked by listener-cluster.ts): settings come as JSON in the
 * environment, "stop" comes as an IPC message; it reports "listening" with its port.
 */
import { pino } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ListenerClusterSettings } from './listener-settings.ts';
import { startListener } from './listener-server.ts';
import { SETTINGS_ENV } from './listener-cluster.ts';

const settings = JSON.parse(process.env[SETTINGS_ENV] ?? 'null') as ListenerClusterSettings | null;
if (settings === null) throw new Error(`${SETTINGS_ENV} is not set: this module is started by \`courier listen\``);
const logger = pino({ level: settings.logLevel, base: { pid: process.pid, worker: process.env['NODE_UNIQUE_ID'] } });
const listener = await startListener(settings, logger);
// The primary's /metrics asks every worker for its registry over IPC; constructing one adds the worker's responder.
AggregatorRegistry.setRegistries([listener.metrics.registry]);
new AggregatorRegistry();
process.send?.({ type: 'listening', port: listener.port });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void listener.stop().then(() => process.exit(0));
};
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'stop') stop();
});
// The primary handles signals; a worker signalled directly stops gracefully too.
process.on('SIGTERM', stop);
process.on('SIGINT', () => {});
process.on('disconnect', stop);
