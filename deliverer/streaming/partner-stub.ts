/**
 * A stand-in for partners' HTTP APIs, for the demo, the tests and the bench: node:http with keep-alive, one
 * behaviour per partner path (the first path segment: /acme/... is partner "acme"), with latency, a share of 500s,
 * of 429s with Retry-After, of connection resets, of late answers (timeouts), or one fixed status for everything (e.g. always 400). It counts
 * what arrives per partner, by Idempotency-Key, so a test can prove every request arrived and how many twice.
 *
 * Control endpoints: GET /_stub/stats (JSON counts), GET /_stub/ids/<partner> (accepted request ids),
 * PUT /_stub/behaviour/<partner> (JSON fields of StubBehaviour to change), POST /_stub/reset (zero the counts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the stub answers one partner's requests. */
export interface StubBehaviour {
  /** Delay before each answer, ms. */
  latencyMs: number;
  /** Share of requests answered 500. */
  errorRate: number;
  /** Share answered 429 with Retry-After. */
  tooManyRate: number;
  /** Retry-After of the 429s, seconds. */
  retryAfterSeconds: number;
  /** Share whose connection is destroyed without an answer. */
  resetRate: number;
  /** Share answered late: after `slowMs` more (past the sender's timeout, it is a timeout). */
  slowRate: number;
  /** Extra delay of the slow answers, ms. */
  slowMs: number;
  /** When set, every request is answered with this status (e.g. 400: a partner refusing everything). */
  fixedStatus?: number;
}

export const DEFAULT_STUB_BEHAVIOUR: StubBehaviour = { latencyMs: 0, errorRate: 0, tooManyRate: 0, retryAfterSeconds: 1, resetRate: 0, slowRate: 0, slowMs: 0 };

export interface PartnerStubOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Behaviour of partners without their own. */
  defaults?: Partial<StubBehaviour>;
  /** Behaviour by partner path name. */
  partners?: Record<string, Partial<StubBehaviour>>;
  /** Seed of the random choice of which requests fail, so runs repeat. */
  seed?: number;
}

/** What one partner path received. */
export interface StubPartnerStats {
  received: number;
  /** Answers by HTTP status, plus "reset" for destroyed connections and "abandoned" for senders gone before the answer. */
  answered: Record<string, number>;
  /** Distinct request ids answered 2xx. */
  accepted: number;
  /** 2xx answers to an id already answered 2xx: the duplicates an at-least-once sender may cause. */
  duplicates: number;
  /** Requests without an Idempotency-Key (or X-Request-Id) header. */
  withoutKey: number;
}

interface PartnerState {
  behaviour: StubBehaviour;
  stats: StubPartnerStats;
  acceptedIds: Map<string, number>;
}

/** A running partner stub. */
export interface PartnerStub {
  readonly port: number;
  /** http://host:port, no trailing slash. */
  readonly url: string;
  stats(): Record<string, StubPartnerStats>;
  /** Request ids answered 2xx for a partner path, with how many times each. */
  acceptedIds(partner: string): ReadonlyMap<string, number>;
  setBehaviour(partner: string, change: Partial<StubBehaviour>): void;
  reset(): void;
  close(): Promise<void>;
}

/** Starts the stub; resolves once it listens. */
export async function startPartnerStub(options: PartnerStubOptions = {}): Promise<PartnerStub> {
  const defaults = { ...DEFAULT_STUB_BEHAVIOUR, ...checkBehaviour(options.defaults ?? {}, 'defaults') };
  const partners = new Map<string, PartnerState>();
  const random = seededUniform(options.seed ?? 1);
  const stateOf = (name: string): PartnerState => {
    let state = partners.get(name);
    if (!state) {
      const own = options.partners?.[name] ?? {};
      state = { behaviour: { ...defaults, ...checkBehaviour(own, name) }, stats: emptyStats(), acceptedIds: new Map() };
      partners.set(name, state);
    }
    return state;
  };
  for (const name of Object.keys(options.partners ?? {})) stateOf(name);

  const server: Server = createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/_stub/')) {
      control(req, res, url, { partners, stateOf });
      return;
    }
    const name = partnerOf(url);
    const state = stateOf(name);
    state.stats.received++;
    const key = header(req, 'idempotency-key') ?? header(req, 'x-request-id');
    if (key === undefined) state.stats.withoutKey++;
    // The body is read whole before answering, as a real API would.
    req.on('data', noop);
    req.on('end', () => {
      const b = state.behaviour;
      // Drawn apart from the answer's draw, so a slow share does not shift which requests fail.
      const delay = b.latencyMs + (b.slowRate > 0 && random() < b.slowRate ? b.slowMs : 0);
      const answer = () => respond(state, key, res, random());
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  // Above keepAliveTimeout, so an idle keep-alive socket is closed by its own timer, not taken for a slow client.
  server.headersTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    port,
    url: `http://${host}:${port}`,
    stats: () => Object.fromEntries([...partners].map(([name, s]) => [name, { ...s.stats, answered: { ...s.stats.answered } }])),
    acceptedIds: (partner) => partners.get(partner)?.acceptedIds ?? new Map(),
    setBehaviour: (partner, change) => {
      const state = stateOf(partner);
      state.behaviour = { ...state.behaviour, ...checkBehaviour(change, partner) };
    },
    reset: () => resetCounts(partners),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function respond(state: PartnerState, key: string | undefined, res: ServerResponse, draw: number): void {
  const b = state.behaviour;
  const count = (what: string) => {
    state.stats.answered[what] = (state.stats.answered[what] ?? 0) + 1;
  };
  // The sender gave up (its timeout) before the answer: a partner that commits only as it answers has nothing.
  if (res.destroyed || res.socket === null || res.socket.destroyed) {
    count('abandoned');
    return;
  }
  if (b.fixedStatus !== undefined) {
    count(String(b.fixedStatus));
    res.writeHead(b.fixedStatus, { 'content-type': 'application/json' }).end('{"error":"refused by the partner stub"}');
    return;
  }
  if (draw < b.resetRate) {
    count('reset');
    res.socket?.destroy();
    return;
  }
  if (draw < b.resetRate + b.errorRate) {
    count('500');
    res.writeHead(500, { 'content-type': 'text/plain' }).end('stub: internal error');
    return;
  }
  if (draw < b.resetRate + b.errorRate + b.tooManyRate) {
    count('429');
    res.writeHead(429, { 'retry-after': String(b.retryAfterSeconds), 'content-type': 'text/plain' }).end('stub: slow down');
    return;
  }
  count('200');
  if (key !== undefined) {
    const seen = state.acceptedIds.get(key) ?? 0;
    state.acceptedIds.set(key, seen + 1);
    if (seen === 0) state.stats.accepted++;
    else state.stats.duplicates++;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' }).end('ok\n');
}

function control(
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  ctx: { partners: Map<string, PartnerState>; stateOf: (name: string) => PartnerState },
): void {
  const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(value)}\n`);
  const [, , what = '', name = ''] = url.split('?')[0]!.split('/').map(decodeURIComponent);
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    if (req.method === 'GET' && what === 'stats') {
      json(200, { partners: Object.fromEntries([...ctx.partners].map(([n, s]) => [n, { ...s.stats, behaviour: s.behaviour }])) });
    } else if (req.method === 'GET' && what === 'ids' && name) {
      json(200, [...(ctx.partners.get(name)?.acceptedIds.keys() ?? [])]);
    } else if (req.method === 'PUT' && what === 'behaviour' && name) {
      try {
        const state = ctx.stateOf(name);
        state.behaviour = { ...state.behaviour, ...checkBehaviour(JSON.parse(body) as Partial<StubBehaviour>, name) };
        json(200, state.behaviour);
      } catch (e) {
        json(400, { error: (e as Error).message });
      }
    } else if (req.method === 'POST' && what === 'reset') {
      resetCounts(ctx.partners);
      json(200, { ok: true });
    } else {
      json(404, { error: 'unknown control endpoint; use GET /_stub/stats, GET /_stub/ids/<partner>, PUT /_stub/behaviour/<partner>, POST /_stub/reset' });
    }
  });
}

/** Validates a behaviour change; an error names the partner and field. */
export function checkBehaviour(change: Partial<StubBehaviour>, partner: string): Partial<StubBehaviour> {
  const where = `partner stub behaviour of "${partner}"`;
  if (typeof change !== 'object' || change === null) throw new Error(`${where}: expected an object of behaviour fields`);
  const known: (keyof StubBehaviour)[] = ['latencyMs', 'errorRate', 'tooManyRate', 'retryAfterSeconds', 'resetRate', 'slowRate', 'slowMs', 'fixedStatus'];
  for (const [key, value] of Object.entries(change)) {
    if (!known.includes(key as keyof StubBehaviour)) throw new Error(`${where}: unknown field "${key}"; known: ${known.join(', ')}`);
    if (key === 'fixedStatus' && value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${where}: ${key} must be a number >= 0, got ${JSON.stringify(value)}`);
    if (key.endsWith('Rate') && value > 1) throw new Error(`${where}: ${key} is a share between 0 and 1, got ${value}`);
    if (key === 'fixedStatus' && (!Number.isInteger(value) || value < 200 || value > 599)) {
      throw new Error(`${where}: fixedStatus must be an HTTP status 200-599, got ${value}`);
    }
  }
  const sum = (change.errorRate ?? 0) + (change.tooManyRate ?? 0) + (change.resetRate ?? 0);
  if (sum > 1) throw new Error(`${where}: errorRate + tooManyRate + resetRate is ${sum}, above 1`);
  return change;
}

function partnerOf(url: string): string {
  const end = url.slice(1).search(/[/?]/);
  const first = end < 0 ? url.slice(1) : url.slice(1, end + 1);
  return first === '' ? 'root' : decodeURIComponent(first);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function resetCounts(partners: Map<string, PartnerState>): void {
  for (const state of partners.values()) {
    state.stats = emptyStats();
    state.acceptedIds.clear();
  }
}

function emptyStats(): StubPartnerStats {
  return { received: 0, answered: {}, accepted: 0, duplicates: 0, withoutKey: 0 };
}

function noop(): void {}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
