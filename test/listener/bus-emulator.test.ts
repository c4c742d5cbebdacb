// The bench's bus emulator against a real listener: every request answered, the ready check seen as 1.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runBusEmulator, writeDecimal } from '../../bench/bus-emulator.ts';
import type { RunningListener } from '../../listener/index.ts';
import { useFixtureListener } from './listener-fixtures.ts';

describe('bus emulator user ids', () => {
  it('writes hi * 1e9 + lo as decimal digits in place, as String would', () => {
    const into = Buffer.alloc(32, '#');
    for (const [hi, lo] of [[0, 0], [0, 7], [0, 999_999_999], [1, 0], [1_000_000_000, 5], [2_222_222_222, 222_222_222], [18_446_744_073, 709_551_615]] as const) {
      const end = writeDecimal(into, 3, hi, lo);
      expect(into.toString('latin1', 3, end)).toBe(String(BigInt(hi) * 1_000_000_000n + BigInt(lo)));
      expect(into[2]).toBe(35);
    }
  });
});

describe('bus emulator', () => {
  let listener: RunningListener;
  useFixtureListener((started) => (listener = started));

  it('sends the ready check then M requests on each of N connections, one in flight, and reports them', async () => {
    const r = await runBusEmulator({ port: listener.port, connections: 20, requests: 25, timeoutMs: 1000, uidBase: 2222222222222222222n, uidCount: 1 });
    expect(r).toMatchObject({ mode: 'closed-loop', requestsSent: 500, answered: 500, readyNotOne: 0, closedConnections: 0, lostConnections: 0 });
    expect(r.p50Us).toBeGreaterThan(0);
    expect(r.p999Us).toBeGreaterThanOrEqual(r.p99Us);
    const metrics = await listener.metrics.registry.getSingleMetricAsString('listener_requests_total');
    expect(metrics).toContain('listener_requests_total{outcome="hit"} 500');
  });

  it('holds a steady rate in open-loop mode', async () => {
    const r = await runBusEmulator({ port: listener.port, connections: 10, rate: 500, seconds: 1, timeoutMs: 1000 });
    expect(r.mode).toBe('open-loop');
    expect(r.answered).toBeGreaterThan(400);
    expect(r.answered).toBeLessThanOrEqual(510);
  });
});

describe('bus emulator: answers certainly late', () => {
  /** A server in a child process (so blocking this process's loop delays only the emulator) answering `1` after `delayMs`. */
  async function slowServer(delayMs: number): Promise<{ port: number; stop: () => void }> {
    const code = `const s = require('node:net').createServer((socket) => {
      socket.setNoDelay(true);
      socket.on('data', () => setTimeout(() => socket.writable && socket.write('HTTP/1.1 200 OK\\r\\nContent-Length: 1\\r\\n\\r\\n1'), ${delayMs}));
      socket.on('error', () => socket.destroy());
    });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (c) => reject(new Error(`slow server exited with ${c}`)));
    });
    return { port, stop: () => child.kill('SIGKILL') };
  }

  it('counts answers a server sends after 40 ms as certainly late', async () => {
    const server = await slowServer(40);
    try {
      const r = await runBusEmulator({ port: server.port, connections: 4, requests: 10, timeoutMs: 1000 });
      expect(r.answered).toBe(40);
      expect(r.over7ms).toBe(40);
      expect(r.over7msCertain).toBe(40);
    } finally {
      server.stop();
    }
  });

  it('does not count answers that waited unread while the emulator itself was busy', async () => {
    const server = await slowServer(0);
    try {
      // Block the emulator's loop for 30 ms now and then: the answers come in time but are read late, so they
      // are over 7 ms but not certainly late.
      const blocker = setInterval(() => {
        const until = performance.now() + 30;
        while (performance.now() < until);
      }, 60);
      const r = await runBusEmulator({ port: server.port, connections: 4, rate: 400, seconds: 1, timeoutMs: 1000 }).finally(() => clearInterval(blocker));
      expect(r.over7ms).toBeGreaterThan(0);
      expect(r.over7msCertain).toBe(0);
    } finally {
      server.stop();
    }
  });
});
