// A real listener on 127.0.0.1 (one process), driven over raw sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSegmentSnapshot, startListener, type RunningListener } from '../../listener/index.ts';
import { buildFixtureSnapshot, buildSettings, listenerSettings, silentLogger, tempRoot, writeInputs, XANDR } from './listener-fixtures.ts';
import { RawConnection } from './raw-http.ts';

const D1 = '2026-11-23';
const D2 = '2026-11-24';

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ready check', () => {
  let t: Awaited<ReturnType<typeof tempRoot>>;
  let listener: RunningListener;
  beforeAll(async () => {
    t = await tempRoot();
    listener = await startListener(listenerSettings(t.root, t.logDir), silentLogger);
  });
  afterAll(async () => {
    await listener.stop();
    await t.done();
  });

  it('answers without any 1 until a snapshot is loaded, then 1; never 1 after a stop begins', async () => {
    const c = await RawConnection.open(listener.port);
    const notReady = await c.get('/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.body).not.toContain('1');
    // Bid requests before the snapshot: the empty answer.
    expect((await c.get('/segments?uid=1610818136837885133')).body).toBe('\n');

    await buildFixtureSnapshot(t.root, D1);
    await waitFor(async () => (await c.get('/ready')).body === '1');
    const ready = await c.get('/ready');
    expect(ready).toMatchObject({ status: 200, body: '1' });
    expect(ready.headers['keep-alive']).toBe('timeout=150');
    expect(ready.headers['date']).toBeUndefined();
    expect((await c.get('/segments?uid=1610818136837885133&region=nym')).body).toBe('4412001\n');
    expect((await c.get('/segments?region=nym&uid=4444444444444444444')).body).toBe('4412001\n4412004\n');
    expect((await c.get('/segments?uid=unknown-user')).body).toBe('\n');

    const stopping = listener.stop();
    expect(listener.ready()).toBe(false);
    await stopping;
    expect(await c.waitClosed()).toBe(true);
  });
});

describe('a real server under bad input', () => {
  let t: Awaited<ReturnType<typeof tempRoot>>;
  let listener: RunningListener;
  let healthy: RawConnection;
  beforeAll(async () => {
    t = await tempRoot();
    await buildFixtureSnapshot(t.root, D1);
    listener = await startListener(listenerSettings(t.root, t.logDir), silentLogger);
    healthy = await RawConnection.open(listener.port);
  });
  afterAll(async () => {
    healthy.close();
    await listener.stop();
    await t.done();
  });

  /** The connection that was not misbehaving still gets its answers. */
  async function othersUnaffected(): Promise<void> {
    expect((await healthy.get('/segments?uid=2222222222222222222')).body).toBe('4412002\n4412004\n');
  }

  it('answers a malformed query or an unknown or unfilled macro with the empty answer, keeping the connection', async () => {
    const c = await RawConnection.open(listener.port);
    for (const target of [
      '/segments?uid=%E0%A4%A',
      '/segments?uid=${USER_ID}&region=${REGION}',
      '/segments?user=${XANDR_ID}',
      '/segments?uid=',
      '/segments?&&==&uid',
      '/segments?uid=a%00b',
      `/segments?uid=${'9'.repeat(300)}`,
      '/segments',
    ]) {
      const r = await c.get(target);
      expect([r.status, r.body], target).toEqual([200, '\n']);
    }
    expect((await c.get('/other?uid=1')).status).toBe(404);
    expect((await c.get('/segments?uid=2222222222222222222&region=${REGION}')).body).toBe('4412002\n4412004\n');
    expect(c.closed).toBe(false);
    c.close();
    await othersUnaffected();
  });

  it('closes the connection on a request body, another method, oversized headers or garbage bytes', async () => {
    const cases: [string, string | Buffer, number][] = [
      ['body', 'GET /segments?uid=1 HTTP/1.1\r\nHost: bus\r\nContent-Length: 5\r\n\r\nhello', 400],
      ['chunked body', 'GET /segments?uid=1 HTTP/1.1\r\nHost: bus\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 400],
      ['POST', 'POST /segments?uid=1 HTTP/1.1\r\nHost: bus\r\nContent-Length: 0\r\n\r\n', 400],
      ['oversized headers', `GET /segments?uid=1 HTTP/1.1\r\nHost: bus\r\nX-Big: ${'x'.repeat(4000)}\r\n\r\n`, 431],
      ['garbage', Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]), 400],
      ['garbage text', 'HELLO WORLD\r\n\r\n', 400],
    ];
    for (const [name, bytes, status] of cases) {
      const c = await RawConnection.open(listener.port);
      c.write(bytes);
      const r = await c.response();
      expect(r.status, name).toBe(status);
      expect(await c.waitClosed(), name).toBe(true);
    }
    await othersUnaffected();
    expect(listener.ready()).toBe(true);
  });

  it('drops a slowloris client whose headers never complete, but keeps idle keep-alive connections open', async () => {
    const idle = await RawConnection.open(listener.port);
    expect((await idle.get('/ready')).body).toBe('1');
    const slow = await RawConnection.open(listener.port);
    slow.write('GET /segments?uid=1 HTTP/1.1\r\nHost: bus\r\n');
    const started = Date.now();
    // Drip a header line every 100 ms, never the end of the headers; the headers timeout is 500 ms.
    const drip = setInterval(() => !slow.closed && slow.write('X-Slow: 1\r\n'), 100);
    try {
      expect(await slow.waitClosed(5000)).toBe(true);
    } finally {
      clearInterval(drip);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    // The idle connection has been idle longer than the headers timeout and still works.
    await new Promise((r) => setTimeout(r, 300));
    expect(idle.closed).toBe(false);
    expect((await idle.get('/segments?uid=8888888888888888888')).body).toBe('4412001\n4412002\n');
    idle.close();
    await othersUnaffected();
  });
});

describe('snapshot swap', () => {
  let t: Awaited<ReturnType<typeof tempRoot>>;
  let listener: RunningListener;
  beforeAll(async () => {
    t = await tempRoot();
    await buildFixtureSnapshot(t.root, D1);
    listener = await startListener(listenerSettings(t.root, t.logDir, { pollMs: 50 }), silentLogger);
  });
  afterAll(async () => {
    await listener.stop();
    await t.done();
  });

  it('keeps answering while a newer snapshot loads, then answers from it', async () => {
    const c = await RawConnection.open(listener.port);
    const uid = '6666666666666666666';
    expect((await c.get(`/segments?uid=${uid}`)).body).toBe('\n');
    // Day 2: user 666 gains segment 1002 through cookie 6.
    await writeInputs(t.root, D2, [[6, XANDR, uid]], [[6, [1002]]]);
    const building = buildSegmentSnapshot(buildSettings(t.root, D2));
    const seen = new Set<string>();
    let answered = 0;
    const deadline = Date.now() + 10_000;
    // One request in flight at a time, like the bus, until the new answer shows (bounded by the deadline).
    while (Date.now() < deadline) {
      const r = await c.get(`/segments?uid=${uid}`);
      expect(r.status).toBe(200);
      answered++;
      seen.add(r.body);
      if (r.body === '4412002\n') break;
    }
    await building;
    expect([...seen].sort()).toEqual(['\n', '4412002\n']);
    expect(answered).toBeGreaterThan(1);
    expect(listener.watcher.current?.date).toBe(D2);
    expect((await c.get('/ready')).body).toBe('1');
  });
});
