import { describe, expect, it } from 'vitest';
import { acceptsConnections, ensureBinary, freePort, startService } from './system-binaries.ts';

describe('system binaries for integration tests', () => {
  it('finds an installed binary without installing anything', async () => {
    expect(await ensureBinary('sh', 'dash')).toMatch(/\/sh$/);
  });

  it('starts a server on a free port, waits until it accepts connections, and stops only it', async () => {
    const port = await freePort();
    expect(await acceptsConnections(port)).toBe(false);
    const server = await startService(
      process.execPath,
      ['-e', `require('node:net').createServer((s) => s.end()).listen(${port}, '127.0.0.1')`],
      { ready: () => acceptsConnections(port), timeoutMs: 10_000 },
    );
    expect(server.pid).toBeGreaterThan(0);
    expect(await acceptsConnections(port)).toBe(true);
    await server.stop();
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    expect(await acceptsConnections(port)).toBe(false);
  });

  it('fails with the output of a process that exits before it is ready', async () => {
    await expect(
      startService(process.execPath, ['-e', 'console.error("bad flag --nope"); process.exit(3)'], { ready: async () => false, timeoutMs: 10_000 }),
    ).rejects.toThrow(/exited \(3\) before it was ready:\s+bad flag --nope/);
  });
});
