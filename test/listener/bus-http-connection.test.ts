// The listener's own HTTP/1.1 reading and answering, over raw sockets against a real listener (one process):
// how requests arrive (split, pipelined), how connections end, and bad input on one connection among many.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RunningListener } from '../../listener/index.ts';
import { startFixtureListener, useFixtureListener } from './listener-fixtures.ts';
import { RawConnection } from './raw-http.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const request = (uid: string, extra = '') => `GET /segments?uid=${uid} HTTP/1.1\r\nHost: bus\r\n${extra}\r\n`;
// Fixture users and their answers.
const USERS: [string, string][] = [
  ['1610818136837885133', '4412001\n'],
  ['2222222222222222222', '4412002\n4412004\n'],
  ['4444444444444444444', '4412001\n4412004\n'],
  ['8888888888888888888', '4412001\n4412002\n'],
  ['unknown', '\n'],
];

describe('the bus HTTP connection', () => {
  let listener: RunningListener;
  useFixtureListener((started) => (listener = started));

  async function clientErrors(): Promise<string> {
    return listener.metrics.registry.getSingleMetricAsString('listener_client_errors_total');
  }

  it('reads a request sent one byte per packet, then the next on the same connection', async () => {
    const c = await RawConnection.open(listener.port);
    const bytes = Buffer.from(request(USERS[1]![0]));
    for (const b of bytes) {
      c.write(Buffer.from([b]));
      await sleep(2);
    }
    const r = await c.response();
    expect([r.status, r.body, r.headers['content-type'], r.headers['content-length']]).toEqual([200, USERS[1]![1], 'text/plain', String(USERS[1]![1].length)]);
    expect((await c.get(`/segments?uid=${USERS[0]![0]}`)).body).toBe(USERS[0]![1]);
    expect(c.closed).toBe(false);
    c.close();
  });

  it('answers pipelined requests in one write in order, including one split into the next write', async () => {
    const c = await RawConnection.open(listener.port);
    const all = USERS.map(([uid]) => request(uid)).join('');
    const cut = all.length - 7;
    c.write(all.slice(0, cut));
    await sleep(20);
    c.write(all.slice(cut));
    for (const [, body] of USERS) expect((await c.response()).body).toBe(body);
    expect(c.unread).toBe('');
    expect(c.closed).toBe(false);
    c.close();
  });

  it('closes an HTTP/1.0 connection after its answer unless it asks for keep-alive', async () => {
    const once = await RawConnection.open(listener.port);
    once.write(`GET /segments?uid=${USERS[0]![0]} HTTP/1.0\r\n\r\n`);
    const r = await once.response();
    expect([r.status, r.body, r.headers['connection']]).toEqual([200, USERS[0]![1], 'close']);
    expect(await once.waitClosed()).toBe(true);

    const kept = await RawConnection.open(listener.port);
    for (const [uid, body] of USERS.slice(0, 2)) {
      kept.write(`GET /segments?uid=${uid} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
      const answer = await kept.response();
      expect([answer.body, answer.headers['connection'], answer.headers['keep-alive']]).toEqual([body, 'keep-alive', 'timeout=150']);
    }
    expect(kept.closed).toBe(false);
    kept.close();
  });

  it('closes after answering a request with Connection: close, and answers nothing pipelined behind it', async () => {
    const c = await RawConnection.open(listener.port);
    c.write(request(USERS[3]![0], 'Connection: close\r\n') + request(USERS[1]![0]));
    const r = await c.response();
    expect([r.status, r.body, r.headers['connection']]).toEqual([200, USERS[3]![1], 'close']);
    expect(await c.waitClosed()).toBe(true);
    expect(c.unread).toBe('');
  });

  it('answers HEAD with the headers of the answer and no body', async () => {
    const c = await RawConnection.open(listener.port);
    c.write(`HEAD /segments?uid=${USERS[1]![0]} HTTP/1.1\r\n\r\nHEAD /ready HTTP/1.1\r\n\r\n`);
    const bid = await c.response(5000, true);
    expect([bid.status, bid.headers['content-length'], bid.body]).toEqual([200, String(USERS[1]![1].length), '']);
    const ready = await c.response(5000, true);
    expect([ready.status, ready.headers['content-length']]).toEqual([200, '1']);
    // Nothing after the two heads: no body was sent.
    expect((await c.get('/ready')).body).toBe('1');
    c.close();
  });

  it('refuses a head over maxHeaderBytes with 431 even when it arrives in pieces', async () => {
    const c = await RawConnection.open(listener.port);
    c.write('GET /segments?uid=1 HTTP/1.1\r\n');
    for (let i = 0; i < 30 && !c.closed; i++) {
      c.write(`X-Pad-${i}: ${'p'.repeat(90)}\r\n`);
      await sleep(2);
    }
    expect((await c.response()).status).toBe(431);
    expect(await c.waitClosed()).toBe(true);
    expect(await clientErrors()).toMatch(/code="HPE_HEADER_OVERFLOW"\} [1-9]/);
  });

  it('never answers a request body as a request: Content-Length or chunked gets 400 and the connection closed', async () => {
    const inner = request(USERS[1]![0]);
    for (const [name, bytes] of [
      ['content-length', `GET /segments?uid=${USERS[0]![0]} HTTP/1.1\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`],
      ['chunked', `GET /segments?uid=${USERS[0]![0]} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`],
      ['content-length, body sent later', `GET /ready HTTP/1.1\r\nContent-Length: ${inner.length}\r\n\r\n`],
    ] as const) {
      const c = await RawConnection.open(listener.port);
      c.write(bytes);
      if (name === 'content-length, body sent later') {
        await sleep(20);
        if (!c.closed) c.write(inner);
      }
      const r = await c.response();
      expect([r.status, r.body, r.headers['connection']], name).toEqual([400, '\n', 'close']);
      expect(await c.waitClosed(), name).toBe(true);
      expect(c.unread, name).toBe('');
    }
    expect(await listener.metrics.registry.getSingleMetricAsString('listener_rejected_requests_total')).toMatch(/reason="body"\} 3\b/);
  });

  it('refuses other methods and bytes that are not HTTP with 400, closing the connection', async () => {
    for (const [name, bytes, code] of [
      ['DELETE', 'DELETE /segments?uid=1 HTTP/1.1\r\n\r\n', undefined],
      ['OPTIONS', 'OPTIONS /ready HTTP/1.1\r\n\r\n', undefined],
      ['binary', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]), 'HPE_INVALID_METHOD'],
      ['TLS hello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), 'HPE_INVALID_METHOD'],
      ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'HPE_INVALID_URL'],
      ['a bad header after a good request', `${request(USERS[0]![0])}GET /ready HTTP/1.1\r\nBad Header\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ] as const) {
      const c = await RawConnection.open(listener.port);
      c.write(bytes);
      if (name === 'a bad header after a good request') expect((await c.response()).body).toBe(USERS[0]![1]);
      const r = await c.response();
      expect(r.status, name).toBe(400);
      expect(await c.waitClosed(), name).toBe(true);
      if (code !== undefined) expect(await clientErrors(), name).toMatch(new RegExp(`code="${code}"\\} [1-9]`));
    }
    expect(await listener.metrics.registry.getSingleMetricAsString('listener_rejected_requests_total')).toMatch(/reason="method"\} 2\b/);
  });

  it('answers 408 to a head still incomplete after the headers timeout; idle and slow-but-whole connections stay', async () => {
    const idle = await RawConnection.open(listener.port);
    expect((await idle.get('/ready')).body).toBe('1');
    const slow = await RawConnection.open(listener.port);
    // A whole request first (answered), then the start of a next one that never completes.
    slow.write(request(USERS[0]![0]) + 'GET /segments?uid=1 HTTP/1.1\r\nHo');
    expect((await slow.response()).body).toBe(USERS[0]![1]);
    const started = Date.now();
    const r = await slow.response(5000);
    expect(r.status).toBe(408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(await slow.waitClosed()).toBe(true);
    // A client sending each request in pieces, each whole within the timeout, is never cut off.
    const pieces = await RawConnection.open(listener.port);
    for (let i = 0; i < 4; i++) {
      const text = request(USERS[2]![0]);
      pieces.write(text.slice(0, 10));
      await sleep(200);
      pieces.write(text.slice(10));
      expect((await pieces.response()).body).toBe(USERS[2]![1]);
      await sleep(200);
    }
    // The idle connection has now been idle well past the headers timeout.
    expect(idle.closed).toBe(false);
    expect((await idle.get('/ready')).body).toBe('1');
    idle.close();
    pieces.close();
    expect(await clientErrors()).toMatch(/code="ERR_HTTP_REQUEST_TIMEOUT"\} [1-9]/);
  });

  it('keeps answering many connections while one of them misbehaves', async () => {
    const good = await Promise.all(Array.from({ length: 40 }, () => RawConnection.open(listener.port)));
    const bad = await RawConnection.open(listener.port);
    const rounds = 10;
    const work = good.map(async (c, i) => {
      for (let k = 0; k < rounds; k++) {
        const [uid, body] = USERS[(i + k) % USERS.length]!;
        expect((await c.get(`/segments?uid=${uid}`)).body).toBe(body);
      }
    });
    // Meanwhile: a huge head in pieces, then garbage, then a reset.
    bad.write('GET /segments?uid=1 HTTP/1.1\r\n');
    bad.write(`X-Big: ${'x'.repeat(10_000)}\r\n`);
    await Promise.all(work);
    // The 40 good ones, the misbehaving one (if not yet closed) and the suite's others are open.
    const open = await listener.metrics.registry.getSingleMetricAsString('listener_open_connections');
    expect(Number(/listener_open_connections (\d+)/.exec(open)?.[1])).toBeGreaterThanOrEqual(40);
    expect((await bad.response()).status).toBe(431);
    const reset = await RawConnection.open(listener.port);
    reset.write('GET /segm');
    reset.socket.resetAndDestroy();
    for (const [i, c] of good.entries()) {
      expect((await c.get(`/segments?uid=${USERS[i % USERS.length]![0]}`)).body).toBe(USERS[i % USERS.length]![1]);
      expect(c.closed).toBe(false);
      c.close();
    }
    await sleep(100);
    const after = await listener.metrics.registry.getSingleMetricAsString('listener_open_connections');
    expect(Number(/listener_open_connections (\d+)/.exec(after)?.[1])).toBeLessThan(40);
    expect(listener.ready()).toBe(true);
  });
});

describe('a graceful stop', () => {
  it('closes idle connections at once and answers a request under way with Connection: close', async () => {
    const fx = await startFixtureListener('2026-11-23', { stopGraceMs: 2000 });
    const listener = fx.listener;
    try {
      const idle = await RawConnection.open(listener.port);
      const busy = await RawConnection.open(listener.port);
      expect((await idle.get('/ready')).body).toBe('1');
      const text = request(USERS[1]![0]);
      busy.write(text.slice(0, 12));
      await sleep(20);
      const stopping = listener.stop();
      expect(await idle.waitClosed(1000)).toBe(true);
      expect(busy.closed).toBe(false);
      busy.write(text.slice(12));
      const r = await busy.response();
      expect([r.status, r.body, r.headers['connection']]).toEqual([200, USERS[1]![1], 'close']);
      expect(await busy.waitClosed(1000)).toBe(true);
      await stopping;
    } finally {
      await fx.stop();
    }
  });
});

describe('a client that does not read its answers', () => {
  it('is read no further until its answers drain, then gets every answer in order', async () => {
    const fx = await startFixtureListener();
    const listener = fx.listener;
    let serverSide: Socket | undefined;
    listener.server.on('connection', (s: Socket) => (serverSide = s));
    const client = connect({ port: listener.port, host: '127.0.0.1' });
    try {
      await new Promise((r) => client.once('connect', r));
      client.pause();
      const count = 100_000;
      const [uid, body] = USERS[1]!;
      client.write(request(uid).repeat(count));
      const deadline = Date.now() + 10_000;
      while (!serverSide?.isPaused() && Date.now() < deadline) await sleep(20);
      expect(serverSide?.isPaused()).toBe(true);
      // Reading the answers lets the server go on until every request is answered.
      let received = '';
      client.setEncoding('latin1').on('data', (d: string) => (received += d));
      client.resume();
      // Until the answers stop coming.
      for (let seen = -1; received.length !== seen && Date.now() < deadline + 10_000; ) {
        seen = received.length;
        await sleep(300);
      }
      const answer = `Content-Length: ${body.length}\r\n\r\n${body}`;
      const answers = received.split('HTTP/1.1 200 OK\r\n').slice(1);
      expect(answers).toHaveLength(count);
      expect(answers.every((a) => a.endsWith(answer))).toBe(true);
    } finally {
      client.destroy();
      await fx.stop();
    }
  }, 30_000);
});
