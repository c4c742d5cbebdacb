/**
 * A throw-away redis-server on 127.0.0.1 for tests and benches: installed with apt-get when missing (see
 * system-binaries.ts), no persistence unless asked, stopped by PID.
 */
import { acceptsConnections, ensureBinary, freePort, startService, type RunningService } from './system-binaries.ts';

/** A running test Redis and its URL. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly service: RunningService;
  stop(): Promise<void>;
  /** Kills the server (SIGKILL) and, after `downMs`, starts it again on the same port (with its data if persistent). */
  restart(downMs: number): Promise<void>;
}

/**
 * Starts redis-server on a free port; `stop()` ends exactly that process. With `persistDir`, every write is in an
 * append-only file there, fsynced before Redis answers, so a SIGKILL and restart lose nothing acknowledged.
 */
export async function startRedis(options: { persistDir?: string } = {}): Promise<TestRedis> {
  const binary = await ensureBinary('redis-server', 'redis-server');
  const port = await freePort();
  const persistence = options.persistDir ? ['--dir', options.persistDir, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--protected-mode', 'yes'];
  const start = () => startService(binary, args, { ready: () => acceptsConnections(port) });
  let service = await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get service() {
      return service;
    },
    stop: () => service.stop(),
    async restart(downMs) {
      const gone = new Promise((resolve) => service.process.once('exit', resolve));
      service.process.kill('SIGKILL');
      await gone;
      await new Promise((r) => setTimeout(r, downMs));
      service = await start();
    },
  };
}
