/**
 * The impression bus, emulated: N keep-alive connections, each sending the ready check and then M bid requests,
 * one in flight per connection, over raw sockets (the lightest client Node has). A request unanswered after
 * 10 ms makes the bus close the connection (the request is lost) and open a new one. Reports req/s, latency
 * percentiles (microseconds, performance.now), answers over 7 ms (and of those, the ones certainly late whatever the
 * emulator's own delays) and closed connections, and its own event-loop
 * delay (an answer waiting while the emulator is busy counts as latency). Per request it makes no string, BigInt
 * or buffer: each connection rewrites the user id in its own request bytes, and answers are framed by byte scans. With --rate it
 * holds a steady request rate instead (open loop) for --seconds.
 *
 *   tsx bench/bus-emulator.ts --port 8090 [--connections 1600] [--requests 300] [--rate 10000 --seconds 10]
 */
import { connect, type Socket } from 'node:net';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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
  /**
   * Of those, answers the server certainly sent late: ones that cannot have arrived before 7 ms after their request,
   * whatever the emulator's own delays. An answer read in a loop iteration arrived after that iteration's previous
   * poll for sockets, which came after the last-but-one tick of the emulator's 1 ms timer; so (that tick - sent)
   * is a lower bound of its latency. Answers over 7 ms not counted here may have waited unread in the emulator.
   */
  over7msCertain: number;
  /** Connections the emulator closed because an answer took over the timeout. */
  closedConnections: number;
  /** Connections the server closed, or that failed. */
  lostConnections: number;
  readyNotOne: number;
  /** Open loop: sends skipped because every connection had a request in flight. */
  unsent: number;
  /**
   * The emulator's own event-loop delay (p99, max; 1 ms sampling timer): an answer that arrives while its loop is
   * busy waits unread, and that wait is in the latencies above.
   */
  emulatorLoopDelayP99Us: number;
  emulatorLoopDelayMaxUs: number;
  /** CPU seconds (user + system) the emulator itself used. */
  emulatorCpuSeconds: number;
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
  /** Bytes of an answer not yet complete (rare: an answer usually arrives in one read). */
  buf: Buffer | undefined;
  /** performance.now() when the request in flight was sent. */
  sentAt: number;
  inFlight: boolean;
  ready: boolean;
  left: number;
  /** Position in the list of open connections (removal swaps the last one in). */
  index: number;
  /** This connection's request bytes, rewritten in place per request (one in flight: the last write is done). */
  request: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('Content-Length: ');
const CR = 13;

/**
 * Where an answer starting at `from` ends (index after its body), or -1 while incomplete. Both servers the bench
 * drives write `Content-Length: ` spelled so; other spellings fall back to a case-insensitive match.
 */
function answerEnd(buf: Buffer, from: number): number {
  const end = buf.indexOf(HEADER_END, from);
  if (end < 0) return -1;
  let at = buf.indexOf(CONTENT_LENGTH, from);
  let length = 0;
  if (at >= 0 && at < end) {
    for (at += CONTENT_LENGTH.length; at < end && buf[at] !== CR; at++) length = length * 10 + buf[at]! - 48;
  } else {
    const m = /content-length: *(\d+)/i.exec(buf.toString('latin1', from, end));
    length = m ? Number(m[1]) : 0;
  }
  return buf.length < end + 4 + length ? -1 : end + 4 + length;
}

/** Writes the decimal digits of hi * 1e9 + lo (lo < 1e9) at `at`; returns the index after them. */
export function writeDecimal(into: Buffer, at: number, hi: number, lo: number): number {
  const digits = (v: number) => {
    let n = 1;
    for (; v >= 10; n++) v = Math.floor(v / 10);
    return n;
  };
  const end = at + (hi > 0 ? digits(hi) + 9 : digits(lo));
  let i = end;
  let v = lo;
  if (hi > 0) {
    for (let k = 0; k < 9; k++, v = Math.floor(v / 10)) into[--i] = 48 + (v % 10);
    v = hi;
  }
  for (; i > at; v = Math.floor(v / 10)) into[--i] = 48 + (v % 10);
  return end;
}

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
  let over7Certain = 0;
  // The last two ticks of the 1 ms sweep timer (see over7msCertain).
  let tick1 = 0;
  let tick2 = 0;
  let x = 0x9e3779b9;
  // User ids as two exact numbers (above and below 1e9) so that no BigInt or string is made per request.
  const baseHi = Number(o.uidBase / 1_000_000_000n);
  const baseLo = Number(o.uidBase % 1_000_000_000n);
  const [before, after] = o.target.split('${UID}') as [string, string];
  const head = Buffer.from(`GET ${before}`, 'latin1');
  const tail = Buffer.from(`${after} HTTP/1.1\r\nHost: listener\r\n\r\n`, 'latin1');
  const requestBytes = head.length + 40 + tail.length;
  const readyRequest = Buffer.from(`GET ${o.readyPath} HTTP/1.1\r\nHost: listener\r\n\r\n`, 'latin1');
  const conns: Conn[] = [];
  // Open loop: idle connections are used in turn (first in, first out), so the load spreads over every
  // connection and server process as the bus's does; last in, first out piled it on the connections of
  // whichever process had answered last.
  const idle: (Conn | undefined)[] = new Array<Conn | undefined>(o.connections + 1);
  let idleHead = 0;
  let idleTail = 0;
  const idleCount = () => (idleTail - idleHead + idle.length) % idle.length;
  const takeIdle = (): Conn | undefined => {
    while (idleHead !== idleTail) {
      const c = idle[idleHead]!;
      idle[idleHead] = undefined;
      idleHead = (idleHead + 1) % idle.length;
      if (c.index >= 0) return c;
    }
    return undefined;
  };
  let finishedConns = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let stopping = false;
  // The emulator's own event-loop delay: time an answer waits in its socket while this loop is busy is
  // counted in the latencies, so it is reported beside them.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();

  const drop = (c: Conn): boolean => {
    if (c.index < 0) return false;
    const last = conns.pop()!;
    if (last !== c) {
      conns[c.index] = last;
      last.index = c.index;
    }
    c.index = -1;
    return true;
  };
  const send = (c: Conn) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    let lo = baseLo + (x % o.uidCount);
    const hi = baseHi + Math.floor(lo / 1e9);
    lo %= 1e9;
    const at = writeDecimal(c.request, head.length, hi, lo);
    const end = at + tail.copy(c.request, at);
    c.inFlight = true;
    c.sentAt = performance.now();
    sent++;
    c.socket.write(c.request.subarray(0, end));
  };
  const next = (c: Conn) => {
    if (openLoop) {
      if (!stopping) {
        idle[idleTail] = c;
        idleTail = (idleTail + 1) % idle.length;
      }
      return;
    }
    if (c.left > 0) {
      c.left--;
      send(c);
    } else {
      c.socket.destroy();
      drop(c);
      if (++finishedConns === o.connections) done();
    }
  };
  const open = (left: number) => {
    const socket = connect({ host: o.host, port: o.port, noDelay: true });
    const request = Buffer.allocUnsafe(requestBytes);
    head.copy(request);
    const c: Conn = { socket, buf: undefined, sentAt: 0, inFlight: false, ready: false, left, index: conns.length, request };
    conns.push(c);
    socket.on('connect', () => {
      c.inFlight = true;
      c.sentAt = performance.now();
      socket.write(readyRequest);
    });
    socket.on('data', (d: Buffer) => {
      const buf = c.buf === undefined ? d : Buffer.concat([c.buf, d]);
      let from = 0;
      for (;;) {
        const end = answerEnd(buf, from);
        if (end < 0) break;
        const us = (performance.now() - c.sentAt) * 1000;
        c.inFlight = false;
        if (!c.ready) {
          c.ready = true;
          if (buf.indexOf(HEADER_END, from) + 5 !== end || buf[end - 1] !== 49) readyNotOne++;
        } else {
          if (answered < latencies.length) latencies[answered] = us;
          answered++;
          if (us > 7000) {
            over7++;
            if (tick2 - c.sentAt > 7) over7Certain++;
          }
        }
        from = end;
        next(c);
      }
      c.buf = from === buf.length ? undefined : buf.subarray(from);
    });
    const gone = () => {
      if (!drop(c)) return;
      lost++;
      if (!openLoop && ++finishedConns === o.connections) done();
    };
    socket.on('error', gone);
    socket.on('close', gone);
  };

  // The bus's 10 ms timeout: one sweep per millisecond is far cheaper than a timer per request. It runs in the
  // check phase (setImmediate), after this loop iteration has read its sockets: an answer that arrived while the
  // emulator was busy is read before its connection is judged, so the emulator's own lag closes no connection.
  const sweepNow = () => {
    const limit = performance.now() - o.timeoutMs;
    for (let i = conns.length - 1; i >= 0; i--) {
      const c = conns[i]!;
      if (c.inFlight && c.ready && c.sentAt < limit) {
        drop(c);
        c.socket.destroy();
        closed++;
        if (!openLoop) open(c.left);
        else if (!stopping) open(0);
      }
    }
  };
  const sweep = setInterval(() => {
    tick2 = tick1;
    tick1 = performance.now();
    setImmediate(sweepNow);
  }, 1);

  const started = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < o.connections; i++) open(o.requests);
  let pacer: NodeJS.Timeout | undefined;
  if (openLoop) {
    // Wait for every connection's ready check, then pace.
    while (idleCount() + lost < o.connections) await new Promise((r) => setTimeout(r, 5));
    loopDelay.reset();
    const t0 = performance.now();
    let due = 0;
    pacer = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= o.seconds) {
        stopping = true;
        clearInterval(pacer);
        setTimeout(done, 50);
        return;
      }
      const target = Math.floor(elapsed * o.rate);
      while (due < target) {
        due++;
        const c = takeIdle();
        if (c) send(c);
        else unsent++;
      }
    }, 1);
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sweep);
  loopDelay.disable();
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
    over7msCertain: over7Certain,
    closedConnections: closed,
    lostConnections: lost,
    readyNotOne,
    unsent,
    emulatorLoopDelayP99Us: loopDelay.percentile(99) / 1000,
    emulatorLoopDelayMaxUs: loopDelay.max / 1000,
    emulatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
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
