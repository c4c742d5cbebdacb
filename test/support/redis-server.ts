/**
 * A throw-away redis-server on 127.0.0.1 for tests and benches: installed with apt-get when missing (see
 * system-binaries.ts), no persistence, stopped by PID.
 */
import { acceptsConnections, ensureBinary, freePort, startService, type RunningService } from './system-binaries.ts';

/** A running test Redis and its URL. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly service: RunningService;
  stop(): Promise<void>;
}

/** Starts redis-server on a free port; `stop()` ends exactly that process. */
export async function startRedis(): Promise<TestRedis> {
  const binary = await ensureBinary('redis-server', 'redis-server');
  const port = await freePort();
  const service = await startService(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
    ready: () => acceptsConnections(port),
  });
  return { url: `redis://127.0.0.1:${port}`, port, service, stop: () => service.stop() };
}
