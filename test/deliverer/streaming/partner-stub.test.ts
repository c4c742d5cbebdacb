import { Agent, request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBehaviour, startPartnerStub, type PartnerStub } from '../../../deliverer/index.ts';

let stub: PartnerStub;
let agent: Agent;

beforeEach(async () => {
  stub = await startPartnerStub({ partners: { busy: { tooManyRate: 1, retryAfterSeconds: 7 } } });
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
});
afterEach(async () => {
  agent.destroy();
  await stub.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reusedSocket: boolean;
}

function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${stub.url}${path}`, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('partner stub', () => {
  it('answers 200 over a kept-alive connection and counts ids, duplicates and keyless requests per path', async () => {
    const first = await send('POST', '/acme/sync?uid=1', { 'idempotency-key': 'r1' }, '{"a":1}');
    const second = await send('POST', '/acme/sync?uid=1', { 'idempotency-key': 'r1' }, '{"a":1}');
    await send('POST', '/acme/other', { 'x-request-id': 'r2' });
    await send('GET', '/acme');
    await send('PUT', '/globex/x', { 'idempotency-key': 'g1' });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.reusedSocket).toBe(true);
    expect(stub.stats()).toEqual({
      busy: { received: 0, answered: {}, accepted: 0, duplicates: 0, withoutKey: 0 },
      acme: { received: 4, answered: { '200': 4 }, accepted: 2, duplicates: 1, withoutKey: 1 },
      globex: { received: 1, answered: { '200': 1 }, accepted: 1, duplicates: 0, withoutKey: 0 },
    });
    expect([...stub.acceptedIds('acme')]).toEqual([
      ['r1', 2],
      ['r2', 1],
    ]);
  });

  it('answers 429 with Retry-After, 500, a fixed status, or resets the connection, as configured', async () => {
    const busy = await send('POST', '/busy/x', { 'idempotency-key': 'b1' });
    expect(busy.status).toBe(429);
    expect(busy.headers['retry-after']).toBe('7');
    stub.setBehaviour('down', { errorRate: 1 });
    expect((await send('POST', '/down/x')).status).toBe(500);
    stub.setBehaviour('picky', { fixedStatus: 400 });
    expect((await send('POST', '/picky/x')).status).toBe(400);
    stub.setBehaviour('cut', { resetRate: 1 });
    await expect(send('POST', '/cut/x')).rejects.toThrow(/socket hang up|ECONNRESET/);
    const stats = stub.stats();
    expect(stats['busy']!.answered).toEqual({ '429': 1 });
    expect(stats['down']!.answered).toEqual({ '500': 1 });
    expect(stats['picky']!.answered).toEqual({ '400': 1 });
    expect(stats['cut']!.answered).toEqual({ reset: 1 });
    // Only 2xx answers make an id accepted.
    expect(stats['busy']!.accepted).toBe(0);
  });

  it('delays answers by latencyMs', async () => {
    stub.setBehaviour('slow', { latencyMs: 120 });
    const t0 = performance.now();
    await send('POST', '/slow/x');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
  });

  it('serves its counts and takes behaviour changes over HTTP', async () => {
    await send('POST', '/acme/x', { 'idempotency-key': 'r1' });
    const stats = JSON.parse((await send('GET', '/_stub/stats')).body) as { partners: Record<string, { accepted: number; behaviour: object }> };
    expect(stats.partners['acme']).toMatchObject({ accepted: 1, behaviour: { errorRate: 0 } });
    expect(JSON.parse((await send('GET', '/_stub/ids/acme')).body)).toEqual(['r1']);

    const changed = await send('PUT', '/_stub/behaviour/acme', { 'content-type': 'application/json' }, '{"errorRate":1}');
    expect(changed.status).toBe(200);
    expect((await send('POST', '/acme/x')).status).toBe(500);
    const refused = await send('PUT', '/_stub/behaviour/acme', {}, '{"errorRate":2}');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/errorRate is a share between 0 and 1/);

    expect((await send('POST', '/_stub/reset')).status).toBe(200);
    expect(stub.stats()['acme']!.received).toBe(0);
    expect((await send('GET', '/_stub/nothing')).status).toBe(404);
  });

  it('refuses behaviours that make no sense, naming the partner and field', () => {
    expect(() => checkBehaviour({ errorRate: 0.7, resetRate: 0.5 }, 'acme')).toThrow(/"acme".*above 1/);
    expect(() => checkBehaviour({ latencyMs: -1 }, 'acme')).toThrow(/latencyMs must be a number >= 0/);
    expect(() => checkBehaviour({ fixedStatus: 99 }, 'acme')).toThrow(/fixedStatus must be an HTTP status/);
    expect(() => checkBehaviour({ speed: 1 } as never, 'acme')).toThrow(/unknown field "speed"/);
  });

  it('answers a slow share late; a sender gone before the answer leaves nothing accepted ("abandoned")', async () => {
    stub.setBehaviour('late', { slowRate: 1, slowMs: 300 });
    const t0 = Date.now();
    const answered = await send('POST', '/late/sync', { 'idempotency-key': 'l1' });
    expect(answered.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    // A sender that times out after 50 ms: the stub answers into a closed socket, so the id is not accepted.
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${stub.url}/late/sync`, { method: 'POST', headers: { 'idempotency-key': 'l2' } });
      req.setTimeout(50, () => {
        req.destroy();
        resolve();
      });
      req.on('error', () => undefined);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(stub.stats()['late']).toMatchObject({ received: 2, answered: { '200': 1, abandoned: 1 }, accepted: 1 });
    expect([...stub.acceptedIds('late').keys()]).toEqual(['l1']);
    expect(() => checkBehaviour({ slowRate: 2 }, 'late')).toThrow(/slowRate is a share between 0 and 1/);
  });
});
