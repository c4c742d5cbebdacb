/**
 * Synthetic webapp sync logs: `logs/dt=YYYY-MM-DD/hour=HH/webapp-<host>.log.gz`, 24 hourly partitions per day,
 * one gzipped line file per webapp host and hour, each day committed with a `_SUCCESS` marker (kind `files`).
 *
 * Every file is generated from its own PRNG (seeded by seed, day, hour and host), and every id is derived by
 * hashing, so files are independent and a re-run with the same arguments writes byte-identical files. Lines are
 * produced in ~256 KiB chunks and gzipped as a stream (zlib works on the thread pool while the next chunk is
 * built), so memory stays flat whatever the line count.
 */
import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { TransformOptions } from 'node:stream';
import { createGzip, type ZlibOptions } from 'node:zlib';
import { DatasetStaging, fileSystemFor, joinUri, type DatasetMarker } from '../../storage/index.ts';
import { formatLogTimestamp, formatWebappLogLine, seededRandom, type SeededRandom } from '../../udfs/index.ts';
import { cookieIdOf, hashKey, mix32, partnerUidStyle, partnerUserIdOf, type PartnerUidStyle } from './synthetic-ids.ts';

/** Share of all lines that are requests to /sync (a few of them carry no cookie or fail, so count as `other`). */
export const SYNC_REQUEST_SHARE = 0.145;
/** Share of all lines that are malformed. */
export const MALFORMED_SHARE = 0.005;
/** Share of /sync requests from browsers without our cookie (the webapp sets one; nothing to sync yet). */
const SYNC_WITHOUT_COOKIE = 0.02;
/** Share of /sync requests the webapp failed (503): no sync recorded. */
const SYNC_FAILED = 0.01;
/** A (cookie, partner) pair keeps its partner user id for this many days, then the partner re-issues it. */
export const PARTNER_UID_ROTATION_DAYS = 30;
/** Average number of sync requests per cookie of the pool over the whole run. */
const SYNCS_PER_POOL_COOKIE = 3;
/** gzip level of the log files: 1 compresses these lines ~5.2x at ~200 MB/s; level 6 reaches ~6x at half the speed. */
export const LOG_GZIP_LEVEL = 1;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Bytes of lines per chunk handed to gzip; every line is far shorter. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Relative traffic per UTC hour: a European audience, quiet at night, a morning rise, a plateau through the
 * working day and the evening peak around 20:00.
 */
export const DIURNAL_WEIGHTS: readonly number[] = [
  0.9, 0.6, 0.45, 0.35, 0.32, 0.38, 0.6, 1.0, 1.4, 1.6, 1.65, 1.7, 1.75, 1.7, 1.65, 1.6, 1.6, 1.7, 1.9, 2.1, 2.2, 2.0, 1.6, 1.2,
];

/** The kinds of malformed lines the generator writes (see docs/formats.md for the parser reason of each). */
export const MALFORMED_KINDS = ['truncated', 'bad-timestamp', 'missing-field', 'garbage', 'bad-partner', 'bad-cookie-id'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** Line counters of a run (or a day). */
export interface LogCounts {
  lines: number;
  syncLines: number;
  otherLines: number;
  malformedLines: number;
  malformedByKind: Record<MalformedKind, number>;
}

export function emptyLogCounts(): LogCounts {
  return {
    lines: 0,
    syncLines: 0,
    otherLines: 0,
    malformedLines: 0,
    malformedByKind: Object.fromEntries(MALFORMED_KINDS.map((k) => [k, 0])) as Record<MalformedKind, number>,
  };
}

export function addCounts(into: LogCounts, from: LogCounts): void {
  into.lines += from.lines;
  into.syncLines += from.syncLines;
  into.otherLines += from.otherLines;
  into.malformedLines += from.malformedLines;
  for (const k of MALFORMED_KINDS) into.malformedByKind[k] += from.malformedByKind[k];
}

/** One partner as the log generator sees it. */
interface PartnerPlan {
  id: number;
  style: PartnerUidStyle;
  /** Which of the sync URL shapes this partner's redirect uses. */
  template: number;
}

/** What every log file of a run shares. */
export interface LogRun {
  seed: number;
  /** Cookies of the pool; cookie `i` has id `cookieIdOf(cookieKey, i)`; hot cookies have low indices. */
  poolSize: number;
  cookieKey: number;
  puidKey: number;
  partners: PartnerPlan[];
  /** Cumulative partner weights (bigger partners first get more syncs). */
  partnerCdf: Float64Array;
  hosts: string[];
  cookieCache: (string | undefined)[];
}

/** The cookie pool size for a run of `totalLines`: about three sync requests per cookie. */
export function cookiePoolSize(totalLines: number): number {
  return Math.max(64, Math.ceil((totalLines * SYNC_REQUEST_SHARE) / SYNCS_PER_POOL_COOKIE));
}

export function planLogRun(seed: number, totalLines: number, partnerIds: readonly number[], hosts: string[]): LogRun {
  const poolSize = cookiePoolSize(totalLines);
  const weights = partnerIds.map((_, i) => 1 / Math.pow(i + 1, 0.6));
  const sum = weights.reduce((a, b) => a + b, 0);
  const partnerCdf = new Float64Array(weights.length);
  let acc = 0;
  weights.forEach((w, i) => (partnerCdf[i] = acc += w / sum));
  partnerCdf[weights.length - 1] = 1;
  return {
    seed,
    poolSize,
    cookieKey: hashKey(seed, 0xc0),
    puidKey: hashKey(seed, 0xd1),
    partners: partnerIds.map((id) => ({ id, style: partnerUidStyle(id), template: id % 3 })),
    partnerCdf,
    hosts,
    cookieCache: new Array(Math.min(poolSize, 1 << 20)),
  };
}

/** The cookie id of pool (or later) index `i`, cached for the hot low indices. */
export function poolCookieId(run: LogRun, i: number): string {
  if (i < run.cookieCache.length) return (run.cookieCache[i] ??= cookieIdOf(run.cookieKey, i));
  return cookieIdOf(run.cookieKey, i);
}

/** Lines per day and hour: `total` split by day (weekends quieter, ±8% day noise) and the diurnal curve, exactly. */
export function planLogLines(total: number, dates: readonly string[], seed: number): number[][] {
  const rng = seededRandom(hashKey(seed, 0xda));
  const weights: number[] = [];
  for (const date of dates) {
    const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
    const day = (dow === 0 || dow === 6 ? 0.85 : 1) * (0.92 + 0.16 * rng.float());
    for (const h of DIURNAL_WEIGHTS) weights.push(day * h);
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k++, left--) counts[order[k % order.length]![1]]! += 1;
  return dates.map((_, d) => counts.slice(d * 24, d * 24 + 24));
}

/** Splits an hour's lines over the hosts as a round-robin balancer would (±1 line). */
export function splitOverHosts(n: number, hosts: number, hour: number): number[] {
  const base = Math.floor(n / hosts);
  const extra = n - base * hosts;
  // The hosts that get the extra lines rotate with the hour, so no host is always the busiest.
  return Array.from({ length: hosts }, (_, h) => base + ((((h - hour) % hosts) + hosts) % hosts < extra ? 1 : 0));
}

// ---- request content ----

const BROWSER_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 12; moto g(60)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
];
const BOT_UAS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'curl/8.5.0',
  '-',
];
const HEALTH_UA = 'ELB-HealthChecker/2.0';
const CATEGORIES = ['shoes', 'outdoor', 'kitchen', 'garden', 'electronics', 'books', 'toys', 'travel', 'fitness', 'home-office'];
const SEARCHES = ['running+shoes', 'tent', 'coffee+grinder', 'usb-c+cable', 'garden+hose', 'kids+bike', 'city+break', 'yoga+mat', 'desk+lamp', 'rain+jacket'];
const ARTICLES = ['how-to-choose-a-tent', 'best-coffee-at-home', 'spring-garden-checklist', 'city-breaks-2026', 'home-office-ergonomics'];
const ASSETS = [
  '/static/js/app.3f9c2a71.js',
  '/static/js/vendor.8b1d0e44.js',
  '/static/js/chunk-checkout.71ac09e2.js',
  '/static/css/main.5c0a9f12.css',
  '/img/logo.svg',
  '/favicon.ico',
  '/fonts/inter-var.woff2',
];
const BOT_PATHS = ['/robots.txt', '/sitemap.xml', '/wp-login.php', '/.env', '/ads.txt'];

const U32 = 4294967296;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Buffer's own latin1 writer (untyped in @types/node): Buffer#write minus its argument juggling. */
type LatinBuffer = Buffer & { latin1Write(text: string, offset: number): number };

/** Lines of one log file. */
export interface LogFilePlan {
  /** Days since the epoch of the file's day. */
  dayNumber: number;
  hour: number;
  hostIndex: number;
  lines: number;
}

/** Builds the lines of one hourly host file. */
class LineMaker {
  readonly counts = emptyLogCounts();
  private readonly host: string;

  constructor(
    private readonly run: LogRun,
    private readonly rng: SeededRandom,
    private readonly plan: LogFilePlan,
  ) {
    this.host = run.hosts[plan.hostIndex]!;
  }

  /** A pool cookie index, skewed: cookie i is drawn with density ∝ 1/sqrt(i), so a few browsers are very active. */
  private cookieIndex(): number {
    const u = this.rng.float();
    return Math.floor(this.run.poolSize * u * u);
  }

  private latency(base: number, span: number): number {
    const r = this.rng.next();
    const l = base + (r % span);
    return r < 0.01 * U32 ? l * 8 + (r % 97) : l;
  }

  private browserUa(cookie: number): string {
    return BROWSER_UAS[mix32(cookie ^ 0x5bd1e995) % BROWSER_UAS.length]!;
  }

  /** The partner user id of a (cookie, partner) pair on this day: stable for PARTNER_UID_ROTATION_DAYS. */
  private partnerUserId(cookie: number, partner: PartnerPlan): string {
    const phase = mix32((cookie ^ Math.imul(partner.id, 0x27d4eb2d)) >>> 0) % PARTNER_UID_ROTATION_DAYS;
    const generation = Math.floor((this.plan.dayNumber + phase) / PARTNER_UID_ROTATION_DAYS);
    return partnerUserIdOf(partner.style, hashKey(this.run.puidKey, cookie, partner.id, generation));
  }

  private pickPartner(): PartnerPlan {
    const u = this.rng.float();
    const cdf = this.run.partnerCdf;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return this.run.partners[lo]!;
  }

  private syncTarget(partner: PartnerPlan, puid: string): string {
    const p = partner.style === 'base64' ? encodeURIComponent(puid) : puid;
    switch (partner.template) {
      case 0:
        return `/sync?partner=${partner.id}&puid=${p}`;
      case 1:
        return `/sync?puid=${p}&partner=${partner.id}&gdpr=0`;
      default:
        return `/sync?partner=${partner.id}&puid=${p}&cb=${this.rng.next()}`;
    }
  }

  /** A /sync request; `forceSync` makes it a recorded sync (cookie present, 200) for malformed variants. */
  syncLine(ts: number, forceSync: boolean): string {
    const partner = this.pickPartner();
    const r = this.rng.float();
    const noCookie = !forceSync && r < SYNC_WITHOUT_COOKIE;
    const failed = !forceSync && !noCookie && r < SYNC_WITHOUT_COOKIE + SYNC_FAILED;
    const cookie = this.cookieIndex();
    const status = failed ? 503 : r > 0.97 ? 302 : 200;
    if (!forceSync) {
      if (noCookie || failed) this.counts.otherLines++;
      else this.counts.syncLines++;
    }
    return formatWebappLogLine({
      ts,
      host: this.host,
      method: 'GET',
      target: this.syncTarget(partner, this.partnerUserId(cookie, partner)),
      status,
      cookieId: noCookie ? null : poolCookieId(this.run, cookie),
      userAgent: this.browserUa(cookie),
      latencyMs: failed ? this.latency(1000, 4000) : this.latency(1, 12),
    });
  }

  /** A page, asset, pixel, API, health-check or bot request. */
  otherLine(ts: number, count: boolean): string {
    if (count) this.counts.otherLines++;
    const rng = this.rng;
    const r = rng.next();
    const u = r / U32;
    const cookie = this.cookieIndex();
    const anonymous = (r & 0xff) < 31; // ~12% of browsers arrive without our cookie
    let method = 'GET';
    let target: string;
    let status = 200;
    let latencyMs: number;
    let cookieId: string | null = anonymous ? null : poolCookieId(this.run, cookie);
    let userAgent = this.browserUa(cookie);
    if (u < 0.35) {
      const v = rng.next();
      const k = v % 10;
      const w = v >>> 4; // bits independent of k
      target =
        k < 2
          ? '/'
          : k < 5
            ? `/products/${10000 + (w % 89000)}`
            : k < 7
              ? `/category/${CATEGORIES[w % CATEGORIES.length]}`
              : k < 9
                ? `/search?q=${SEARCHES[w % SEARCHES.length]}&page=${1 + ((w >>> 8) % 3)}`
                : `/articles/${ARTICLES[w % ARTICLES.length]}`;
      const s = (v >>> 16) % 100;
      status = s < 90 ? 200 : s < 94 ? 304 : s < 96 ? 301 : s < 99 ? 404 : 500;
      latencyMs = this.latency(15, 380);
    } else if (u < 0.6) {
      const v = rng.next();
      target = (v & 7) === 0 ? `/img/products/${10000 + (v % 89000)}.webp` : ASSETS[v % ASSETS.length]!;
      status = (v >>> 20) % 10 < 4 ? 304 : 200;
      latencyMs = this.latency(1, 15);
    } else if (u < 0.75) {
      target = `/px.gif?e=pv&p=${10000 + (rng.next() % 89000)}&cb=${rng.next()}`;
      latencyMs = this.latency(1, 5);
    } else if (u < 0.9) {
      const v = rng.next();
      if (v & 1) {
        method = 'POST';
        target = '/api/v1/events';
        status = 204;
      } else {
        target = `/api/v1/recommendations?slot=${(v >>> 1) % 2 ? 'home' : 'pdp'}&limit=10`;
      }
      latencyMs = this.latency(3, 60);
    } else if (u < 0.95) {
      target = '/healthz';
      cookieId = null;
      userAgent = HEALTH_UA;
      latencyMs = this.latency(0, 3);
    } else {
      const v = rng.next();
      target = BOT_PATHS[v % BOT_PATHS.length]!;
      status = target === '/robots.txt' || target === '/ads.txt' || target === '/sitemap.xml' ? 200 : 404;
      cookieId = null;
      userAgent = BOT_UAS[(v >>> 8) % BOT_UAS.length]!;
      latencyMs = this.latency(1, 20);
    }
    return formatWebappLogLine({ ts, host: this.host, method, target, status, cookieId, userAgent, latencyMs });
  }

  /** A malformed line: a valid line broken one way; bytes, since garbage is not valid UTF-8. */
  malformedLine(ts: number): Buffer | string {
    const rng = this.rng;
    const kind = MALFORMED_KINDS[rng.int(MALFORMED_KINDS.length)]!;
    this.counts.malformedLines++;
    this.counts.malformedByKind[kind]++;
    const base = kind === 'bad-partner' || rng.chance(0.5) ? this.syncLine(ts, true) : this.otherLine(ts, false);
    const fields = base.split('\t');
    switch (kind) {
      case 'truncated': {
        // Cut before the last tab, so at most 7 fields remain (a writer killed mid-line, a lost buffer tail).
        return base.slice(0, 1 + rng.int(base.lastIndexOf('\t')));
      }
      case 'bad-timestamp': {
        const iso = formatLogTimestamp(ts);
        const variants = [
          String(Math.floor(ts / 1000)),
          `[${iso.slice(8, 10)}/${MONTHS[Number(iso.slice(5, 7)) - 1]}/${iso.slice(0, 4)}:${iso.slice(11, 19)} +0000]`,
          iso.replace('T', ' '),
          `${iso.slice(0, 19)}Z`,
          `${iso.slice(0, 5)}13${iso.slice(7)}`,
          `${iso.slice(0, 5)}02-30${iso.slice(10)}`,
          '-',
          '',
        ];
        fields[0] = variants[rng.int(variants.length)]!;
        return fields.join('\t');
      }
      case 'missing-field': {
        if (rng.chance(0.5)) fields[[1, 2, 3, 6][rng.int(4)]!] = '';
        else fields.splice(rng.int(8), 1);
        return fields.join('\t');
      }
      case 'garbage': {
        const r = rng.float();
        const junk = garbageBytes(rng, r < 0.2 ? 8 + rng.int(112) : 4 + rng.int(36));
        if (r < 0.2) return junk;
        const at = r < 0.4 ? 3 : 6;
        return Buffer.concat([Buffer.from(fields.slice(0, at).join('\t') + '\t', 'latin1'), junk, Buffer.from('\t' + fields.slice(at + 1).join('\t'), 'latin1')]);
      }
      case 'bad-partner': {
        const m = /partner=\d+/.exec(fields[3]!)!;
        const bad = ['acme', `${m[0].slice(8)}x`, '', '-17', '0', '1e3', '%31%37', '99999999999', 'null', undefined][rng.int(10)];
        const target = fields[3]!;
        fields[3] =
          bad === undefined
            ? target.replace(/&?partner=\d+/, '').replace('?&', '?')
            : target.slice(0, m.index) + `partner=${bad}` + target.slice(m.index + m[0].length);
        return fields.join('\t');
      }
      case 'bad-cookie-id': {
        const good = fields[5] === '-' ? poolCookieId(this.run, this.cookieIndex()) : fields[5]!;
        const variants = [good.slice(0, 21), `${good.slice(0, 10)}+/${good.slice(12)}`, `${good}==`, 'null', '', `"${good}"`];
        fields[5] = variants[rng.int(variants.length)]!;
        return fields.join('\t');
      }
    }
  }
}

/** Random bytes that are never valid text: the first is a control byte or 0xfe/0xff; none is `\n` or `\r`. */
function garbageBytes(rng: SeededRandom, n: number): Buffer {
  const first = [0x00, 0x01, 0x02, 0x1b, 0x7f, 0xfe, 0xff];
  const b = Buffer.alloc(n);
  b[0] = first[rng.int(first.length)]!;
  for (let i = 1; i < n; i++) {
    let x = rng.int(256);
    if (x === 0x0a || x === 0x0d) x = 0xff;
    b[i] = x;
  }
  return b;
}

/**
 * The lines of one hourly host file as byte chunks, timestamps ascending within the hour. Adds to
 * `counts` and reports lines written through `onLines` once per chunk.
 */
export function* logFileChunks(run: LogRun, plan: LogFilePlan, counts: LogCounts, onLines?: (n: number) => void): Generator<Buffer> {
  const rng = seededRandom(hashKey(run.seed, 0x106, plan.dayNumber, plan.hour, plan.hostIndex));
  const maker = new LineMaker(run, rng, plan);
  const start = plan.dayNumber * DAY_MS + plan.hour * HOUR_MS;
  const n = plan.lines;
  // Lines are ASCII (garbage comes as bytes): written one byte per character straight into the chunk buffer,
  // which is cheaper than concatenating a chunk-sized string and encoding it.
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let at = 0;
  let pending = 0;
  for (let i = 0; i < n; i++) {
    const ts = start + Math.floor(((i + rng.float()) * HOUR_MS) / n);
    const u = rng.float();
    const line = u >= MALFORMED_SHARE + SYNC_REQUEST_SHARE ? maker.otherLine(ts, true) : u >= MALFORMED_SHARE ? maker.syncLine(ts, false) : maker.malformedLine(ts);
    if (at + line.length + 1 > CHUNK_BYTES) {
      yield buf.subarray(0, at);
      onLines?.(pending);
      pending = 0;
      buf = Buffer.allocUnsafe(CHUNK_BYTES);
      at = 0;
    }
    at += typeof line === 'string' ? (buf as LatinBuffer).latin1Write(line, at) : line.copy(buf, at);
    buf[at++] = 10;
    pending++;
  }
  if (at > 0) yield buf.subarray(0, at);
  if (pending) onLines?.(pending);
  maker.counts.lines = n;
  addCounts(counts, maker.counts);
}

/**
 * Gzips chunks as a stream for a file write. zlib compresses on the thread pool; yielding to the event loop
 * after each chunk lets it run while the next chunk is built on the main thread.
 */
export async function* gzipChunks(chunks: Iterable<Uint8Array>, level = LOG_GZIP_LEVEL): AsyncGenerator<Uint8Array> {
  // zlib passes stream options through to its Transform: buffer up to 1 MiB of input ahead of the compressor.
  const gz = createGzip({ level, chunkSize: 256 * 1024, writableHighWaterMark: 1 << 20 } as ZlibOptions & TransformOptions);
  const stop = new AbortController();
  const feeding = (async () => {
    for (const chunk of chunks) {
      if (!gz.write(chunk)) await once(gz, 'drain', { signal: stop.signal });
      else await nextTurn();
    }
    gz.end();
  })();
  feeding.catch((e: unknown) => gz.destroy(e as Error));
  try {
    for await (const out of gz) yield out as Uint8Array;
    await feeding;
  } finally {
    stop.abort();
    if (!gz.destroyed) gz.destroy();
  }
}

/** The relative path of a log file inside its day dataset. */
export function logFilePath(hour: number, host: string): string {
  return `hour=${String(hour).padStart(2, '0')}/webapp-${host}.log.gz`;
}

/** Writes one day of logs as a `files` dataset and commits its `_SUCCESS` marker. */
export async function writeLogDay(
  out: string,
  run: LogRun,
  day: { date: string; hourLines: readonly number[] },
  options: { force: boolean; onLines?: (n: number) => void },
): Promise<{ uri: string; marker: DatasetMarker; counts: LogCounts }> {
  const uri = joinUri(out, 'logs', `dt=${day.date}`);
  const dayNumber = Math.round(Date.parse(`${day.date}T00:00:00Z`) / DAY_MS);
  const staging = await DatasetStaging.begin(fileSystemFor(uri), uri, { overwrite: options.force });
  const counts = emptyLogCounts();
  try {
    // One file at a time: this thread builds lines while zlib compresses the previous chunk on the thread
    // pool, which keeps two cores busy. (Worker threads per file measured no faster on two cores.)
    for (let hour = 0; hour < 24; hour++) {
      const perHost = splitOverHosts(day.hourLines[hour]!, run.hosts.length, hour);
      for (let hostIndex = 0; hostIndex < run.hosts.length; hostIndex++) {
        const plan: LogFilePlan = { dayNumber, hour, hostIndex, lines: perHost[hostIndex]! };
        await staging.addFile(logFilePath(hour, run.hosts[hostIndex]!), gzipChunks(logFileChunks(run, plan, counts, options.onLines)), plan.lines);
      }
    }
    const marker = await staging.commit({
      kind: 'files',
      partitionBy: [{ column: 'hour', key: 'hour' }],
      extra: {
        generator: 'courier generate',
        format: 'webapp-log/1',
        seed: run.seed,
        hosts: run.hosts,
        partners: run.partners.map((p) => p.id),
        lines: counts.lines,
        syncLines: counts.syncLines,
        otherLines: counts.otherLines,
        malformedLines: counts.malformedLines,
        malformedByKind: counts.malformedByKind,
      },
    });
    return { uri, marker, counts };
  } catch (e) {
    await staging.abort();
    throw e;
  }
}
