/**
 * lockStoreArea: one holder at a time, the second told who holds it; freed on release, at once when the holder
 * on this host has died (SIGKILL), and after the stale time when nobody refreshes it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockStoreArea, StorageError, toStorageUri, joinUri } from '../../storage/index.ts';

let dir: string;
let area: string;
const lost: Error[] = [];
const onLost = (e: Error) => lost.push(e);

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-store-lock-'));
  area = joinUri(toStorageUri(dir), '_deliveries');
  lost.length = 0;
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('lockStoreArea', () => {
  it('lets one holder in; the second is refused with the holder named, and gets in after release', async () => {
    const first = await lockStoreArea(area, { holder: 'the file deliverer', onLost });
    const refused = await lockStoreArea(area, { holder: 'the file deliverer', onLost }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageError);
    const message = (refused as Error).message;
    expect(message).toContain(`the file deliverer cannot start: the file deliverer (pid ${process.pid} on ${os.hostname()}`);
    expect(message).toContain('run one per storage root');
    expect(message).toContain(path.join(dir, '_deliveries'));
    await first.release();
    await first.release(); // idempotent
    const second = await lockStoreArea(area, { holder: 'the file deliverer', onLost });
    await second.release();
    expect(lost).toEqual([]);
    // Released: neither the lock nor the holder record is left behind.
    expect(await fs.readdir(path.join(dir, '_deliveries'))).toEqual([]);
  });

  it('frees at once a lock whose holder on this host was killed (SIGKILL)', async () => {
    const { lockPid } = await holdInChild(area);
    process.kill(lockPid, 'SIGKILL');
    await waitForExit(lockPid);
    const lock = await lockStoreArea(area, { holder: 'the queue bridge', onLost });
    const holder = JSON.parse(await fs.readFile(path.join(dir, '_deliveries', 'holder.json'), 'utf8')) as { pid: number; holder: string };
    expect(holder).toMatchObject({ pid: process.pid, holder: 'the queue bridge' });
    await lock.release();
  });

  it('refuses while a live holder in another process refreshes it, however long the wait', async () => {
    const { lockPid } = await holdInChild(area, 2000);
    try {
      // Past the 2 s stale time: the live holder keeps refreshing the lock, so it stays held.
      await new Promise((r) => setTimeout(r, 2600));
      const refused = await lockStoreArea(area, { holder: 'the file deliverer', staleMs: 2000, onLost }).catch((e: unknown) => e);
      expect((refused as Error).message).toContain(`(pid ${lockPid} on ${os.hostname()}`);
    } finally {
      process.kill(lockPid, 'SIGKILL');
      await waitForExit(lockPid);
    }
  });

  it('takes over a lock nobody refreshes once it is stale, even when its holder record names a live process elsewhere', async () => {
    const areaDir = path.join(dir, '_deliveries');
    await fs.mkdir(path.join(areaDir, 'lock'), { recursive: true });
    await fs.writeFile(path.join(areaDir, 'holder.json'), JSON.stringify({ holder: 'the file deliverer', pid: 1, host: 'other-host', since: '2026-11-20T00:00:00Z' }));
    const refused = await lockStoreArea(area, { holder: 'the file deliverer', staleMs: 2000, onLost }).catch((e: unknown) => e);
    expect((refused as Error).message).toContain('(pid 1 on other-host, since 2026-11-20T00:00:00Z)');
    const old = new Date(Date.now() - 5000);
    await fs.utimes(path.join(areaDir, 'lock'), old, old);
    const lock = await lockStoreArea(area, { holder: 'the file deliverer', staleMs: 2000, onLost });
    await lock.release();
  });

  it('tells the holder when its lock is taken away (directory removed under it)', async () => {
    const lock = await lockStoreArea(area, { holder: 'the file deliverer', staleMs: 2000, onLost });
    await fs.rm(path.join(dir, '_deliveries', 'lock'), { recursive: true });
    for (let i = 0; i < 40 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(lost.length).toBe(1);
    await lock.release();
  });
});

/** Starts a child process that takes the lock and holds it until killed; resolves once it holds it. */
async function holdInChild(areaUri: string, staleMs = 30_000): Promise<{ lockPid: number }> {
  const storage = new URL('../../storage/index.ts', import.meta.url).href;
  const code = `const { lockStoreArea } = await import(${JSON.stringify(storage)});
await lockStoreArea(${JSON.stringify(areaUri)}, { holder: 'the file deliverer', staleMs: ${staleMs}, onLost: () => process.exit(3) });
process.stdout.write('held\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child did not take the lock within 20 s')), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('held')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the child exited with ${code} before taking the lock`)));
  });
  return { lockPid: child.pid! };
}

async function waitForExit(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} did not exit`);
}
