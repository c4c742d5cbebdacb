/**
 * The impression bus, emulated: N keep-alive connections, each sending the ready check and then M bid requests,
 * one in flight per connection, over raw sockets (the lightest client Node has). A request unanswered after
 * 10 ms makes the bus close the connection (the request is lost) and open a new one. Reports req/s, latency
 * percentiles (microseconds, process.hrtime.bigint), answers over 7 ms and closed connections. With --rate it
 * holds a steady request rate instead (open loop) for --seconds.
 *
 *   tsx bench/bus-emulator.ts --port 8090 [--connections 1600] [--requests 300] [--rate 10000 --seconds 10]
 */
import { connect, type Socket } from 'node:net';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface BusOptions {
  host: string;
  port: number;
  connections: number;
  /** Bid requests per connection (closed loop). */
  requests: number;
  readyPath: string;
  /** Bid request target; `${UID}` is replaced by a user id. */
  target: string;
  /** User ids are String(uidBase + i) for i in [0, uidCount), drawn in a fixed pseudo-random order. */
  uidBase: bigint;
  uidCount: number;
  /** The bus's timeout: an answer slower than this closes the connection. */
  timeoutMs: number;
  /** Open loop: requests per second (0: closed loop). */
  rate: number;
  seconds: number;
}

export interface BusReport {
  mode: 'closed-loop' | 'open-loop';
  connections: number;
  requestsSent: number;
  answered: number;
  seconds: number;
  reqPerSec: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  over7ms: number;
  /** Connections the emulator closed because an answer took over the timeout. */
  closedConnections: number;
  /** Connections the server closed, or that failed. */
  lostConnections: number;
  readyNotOne: number;
  /** Open loop: sends skipped because every connection had a request in flight. */
  unsent: number;
}

export const DEFAULT_BUS_OPTIONS: BusOptions = {
  host: '127.0.0.1',
  port: 8090,
  connections: 1600,
  requests: 300,
  readyPath: '/ready',
  target: '/segments?uid=${UID}&region=nym',
  uidBase: 1_000_000_000_000_000_000n,
  uidCount: 2_000_000,
  timeoutMs: 10,
  rate: 0,
  seconds: 10,
};

interface Conn {
  socket: Socket;
  buf: Buffer;
  sentAt: bigint;
  inFlight: boolean;
  ready: boolean;
  left: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Runs the emulator against a listener; resolves with the report. */
export async function runBusEmulator(options: Partial<BusOptions> = {}): Promise<BusReport> {
  const o = { ...DEFAULT_BUS_OPTIONS, ...options };
  const openLoop = o.rate > 0;
  const maxSamples = openLoop ? Math.ceil(o.rate * o.seconds * 1.1) + 1000 : o.connections * o.requests;
  const latencies = new Float64Array(maxSamples);
  let answered = 0;
  let sent = 0;
  let closed = 0;
  let lost = 0;
  let readyNotOne = 0;
  let unsent = 0;
  let over7 = 0;
  let x = 0x9e3779b9;
  const nextUid = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return String(o.uidBase + BigInt(x % o.uidCount));
  };
  const [before, after] = o.target.split('${UID}') as [string, string];
  const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: listener\r\n\r\n`;
  const readyRequest = request(o.readyPath);
  const conns = new Set<Conn>();
  const idle: Conn[] = [];
  let finishedConns = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let stopping = false;

  const send = (c: Conn) => {
    c.inFlight = true;
    c.sentAt = process.hrtime.bigint();
    sent++;
    c.socket.write(request(before + nextUid() + after));
  };
  const next = (c: Conn) => {
    if (openLoop) {
      if (!stopping) idle.push(c);
      return;
    }
    if (c.left > 0) {
      c.left--;
      send(c);
    } else {
      c.socket.destroy();
      conns.delete(c);
      if (++finishedConns === o.connections) done();
    }
  };
  const open = (left: number) => {
    const socket = connect({ host: o.host, port: o.port, noDelay: true });
    const c: Conn = { socket, buf: Buffer.alloc(0), sentAt: 0n, inFlight: false, ready: false, left };
    conns.add(c);
    socket.on('connect', () => {
      c.inFlight = true;
      c.sentAt = process.hrtime.bigint();
      socket.write(readyRequest);
    });
    socket.on('data', (d) => {
      c.buf = c.buf.length === 0 ? d : Buffer.concat([c.buf, d]);
      for (;;) {
        const end = c.buf.indexOf(HEADER_END);
        if (end < 0) return;
        const head = c.buf.toString('latin1', 0, end);
        const m = /content-length: *(\d+)/i.exec(head);
        const length = m ? Number(m[1]) : 0;
        if (c.buf.length < end + 4 + length) return;
        const body = c.buf.subarray(end + 4, end + 4 + length);
        c.buf = c.buf.subarray(end + 4 + length);
        const us = Number(process.hrtime.bigint() - c.sentAt) / 1000;
        c.inFlight = false;
        if (!c.ready) {
          c.ready = true;
          if (body.toString() !== '1') readyNotOne++;
        } else {
          if (answered < latencies.length) latencies[answered] = us;
          answered++;
          if (us > 7000) over7++;
        }
        next(c);
      }
    });
    const gone = () => {
      if (!conns.delete(c)) return;
      lost++;
      if (!openLoop && ++finishedConns === o.connections) done();
    };
    socket.on('error', gone);
    socket.on('close', gone);
  };

  // The bus's 10 ms timeout: one sweep per millisecond is far cheaper than a timer per request.
  const timeoutNs = BigInt(o.timeoutMs * 1_000_000);
  const sweep = setInterval(() => {
    const now = process.hrtime.bigint();
    for (const c of conns) {
      if (c.inFlight && c.ready && now - c.sentAt > timeoutNs) {
        conns.delete(c);
        c.socket.destroy();
        closed++;
        if (!openLoop) open(c.left);
        else if (!stopping) open(0);
      }
    }
  }, 1);

  const started = process.hrtime.bigint();
  for (let i = 0; i < o.connections; i++) open(o.requests);
  let pacer: NodeJS.Timeout | undefined;
  if (openLoop) {
    // Wait for every connection's ready check, then pace.
    while (idle.length + lost < o.connections) await new Promise((r) => setTimeout(r, 5));
    const t0 = process.hrtime.bigint();
    let due = 0;
    pacer = setInterval(() => {
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
      if (elapsed >= o.seconds) {
        stopping = true;
        clearInterval(pacer);
        setTimeout(done, 50);
        return;
      }
      const target = Math.floor(elapsed * o.rate);
      while (due < target) {
        due++;
        const c = idle.pop();
        if (c) send(c);
        else unsent++;
      }
    }, 1);
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sweep);
  for (const c of conns) c.socket.destroy();
  const n = Math.min(answered, latencies.length);
  const sorted = latencies.subarray(0, n).sort();
  const pct = (p: number) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]!);
  return {
    mode: openLoop ? 'open-loop' : 'closed-loop',
    connections: o.connections,
    requestsSent: sent,
    answered,
    seconds,
    reqPerSec: answered / (openLoop ? o.seconds : seconds),
    p50Us: pct(0.5),
    p99Us: pct(0.99),
    p999Us: pct(0.999),
    maxUs: n === 0 ? 0 : sorted[n - 1]!,
    over7ms: over7,
    closedConnections: closed,
    lostConnections: lost,
    readyNotOne,
    unsent,
  };
}

const HELP = `Usage: tsx bench/bus-emulator.ts [options]

Emulates the Xandr impression bus against a listener: keep-alive connections, a ready check each, then bid
requests one in flight per connection; an answer slower than --timeout-ms closes the connection.

  --host <h>          listener host (default 127.0.0.1)
  --port <n>          listener port (default 8090)
  --connections <n>   keep-alive connections (default 1600)
  --requests <n>      bid requests per connection, closed loop (default 300)
  --rate <n>          open loop: hold this many requests per second instead
  --seconds <n>       open loop duration (default 10)
  --ready-path <p>    ready check path (default /ready)
  --target <t>        bid request target, \${UID} replaced (default /segments?uid=\${UID}&region=nym)
  --uid-base <n>      user ids are uid-base + 0 .. uid-count-1 (default 1000000000000000000)
  --uid-count <n>     (default 2000000)
  --timeout-ms <n>    the bus's timeout (default 10)
  --help              this text
Prints the report as one JSON line.`;

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      connections: { type: 'string' },
      requests: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      'ready-path': { type: 'string' },
      target: { type: 'string' },
      'uid-base': { type: 'string' },
      'uid-count': { type: 'string' },
      'timeout-ms': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number >= 0, got "${v}"`);
    return n;
  };
  const options: Partial<BusOptions> = {};
  if (values.host) options.host = values.host;
  const set = <K extends keyof BusOptions>(key: K, v: BusOptions[K] | undefined) => {
    if (v !== undefined) options[key] = v;
  };
  set('port', num(values.port, 'port'));
  set('connections', num(values.connections, 'connections'));
  set('requests', num(values.requests, 'requests'));
  set('rate', num(values.rate, 'rate'));
  set('seconds', num(values.seconds, 'seconds'));
  set('readyPath', values['ready-path']);
  set('target', values.target);
  set('uidBase', values['uid-base'] === undefined ? undefined : BigInt(values['uid-base']));
  set('uidCount', num(values['uid-count'], 'uid-count'));
  set('timeoutMs', num(values['timeout-ms'], 'timeout-ms'));
  process.stdout.write(JSON.stringify(await runBusEmulator(options)) + '\n');
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await cli();
}
