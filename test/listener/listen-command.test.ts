// `courier listen` and `courier listen snapshot` as users run them: the real executable, two worker processes.
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPath } from '../../storage/index.ts';
import { runCourier } from '../cli/run-courier.ts';
import { tempRoot, writeInputs } from './listener-fixtures.ts';
import { RawConnection } from './raw-http.ts';

const bin = fileURLToPath(new URL('../../bin/courier.js', import.meta.url));
const DAY = '2026-11-23';

describe('courier listen', () => {
  let t: Awaited<ReturnType<typeof tempRoot>>;
  beforeAll(async () => {
    t = await tempRoot();
    await writeInputs(t.root, DAY);
    await writeFile(
      path.join(t.dir, 'courier.yaml'),
      `storage:
  root: ./data
listener:
  partnerId: 50
  port: 8090
  logDir: ./logs
  logFlushMs: 100
  pollMs: 200
partners:
  - id: 50
    name: xandr
    delivery: realtime
    segmentMap: { 1001: "4412001", 1002: "4412002", 1004: "4412004" }
`,
    );
  });
  afterAll(() => t.done());

  it('builds the snapshot, serves it from two processes, sums their metrics and flushes both logs on SIGTERM', async () => {
    const built = await runCourier(['--json', '--log-level', 'silent', 'listen', 'snapshot'], { cwd: t.dir });
    expect(built.code, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ date: DAY, users: 4, partnerCookies: 7 });

    const child = spawn(process.execPath, [bin, '--json', '--log-level', 'warn', 'listen', '--workers', '2', '--port', '0', '--metrics-port', '0'], {
      cwd: t.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes('}') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const started = JSON.parse(stdout) as { port: number; workers: number; metricsPort: number };
      expect(started.workers).toBe(2);

      // Several connections, so both processes get some (the primary hands connections out round-robin).
      const conns = await Promise.all(Array.from({ length: 6 }, () => RawConnection.open(started.port)));
      for (const c of conns) {
        expect((await c.get('/ready')).body).toBe('1');
        expect((await c.get('/segments?uid=2222222222222222222&region=nym')).body).toBe('4412002\n4412004\n');
      }
      const metrics = await (await fetch(`http://127.0.0.1:${started.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/listener_requests_total\{outcome="hit"\} 6\b/);
      expect(metrics).toMatch(/listener_ready_checks_total\{answer="1"\} 6\b/);
      for (const c of conns) c.close();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    const logDir = path.join(localPath(t.root), '..', 'logs', `dt=${new Date().toISOString().slice(0, 10)}`);
    const files = (await readdir(logDir)).filter((f) => f.endsWith('.tsv.gz'));
    expect(files).toHaveLength(2);
    const lines = (await Promise.all(files.map(async (f) => gunzipSync(await readFile(path.join(logDir, f))).toString().trimEnd().split('\n')))).flat();
    expect(lines.filter((l) => l.includes('\thit\tnym\t2222222222222222222\t4412002,4412004\t'))).toHaveLength(6);
  }, 120_000);
});
