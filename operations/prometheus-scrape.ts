/**
 * Reads one Prometheus /metrics endpoint and parses its text format (parse-prometheus-text-format), so the status
 * page can show the processes' figures without a Prometheus server. A source that does not answer is `down` with
 * the reason, never an exception: one dead process must not take the page with it.
 */
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';

/** One sample: its labels and value (histograms: their buckets). */
export interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
  readonly buckets?: ReadonlyMap<number, number>;
}

/** The result of scraping one endpoint. */
export interface Scrape {
  readonly url: string;
  readonly up: boolean;
  /** Why it is down: connection refused, timeout, HTTP status, unparsable text. */
  readonly error?: string;
  /** Milliseconds since the epoch when the scrape finished. */
  readonly at: number;
  readonly families: ReadonlyMap<string, readonly Sample[]>;
}

/** Parses Prometheus text into families by name; throws with the parser's message on bad text. */
export function parseMetricsText(text: string): Map<string, Sample[]> {
  const families = new Map<string, Sample[]>();
  for (const family of parsePrometheusTextFormat(text) as ParsedFamily[]) {
    families.set(family.name, family.metrics.map(toSample));
  }
  return families;
}

function toSample(m: ParsedSample): Sample {
  if (m.buckets === undefined) return { labels: m.labels ?? {}, value: Number(m.value) };
  const buckets = new Map<number, number>();
  for (const [le, count] of Object.entries(m.buckets)) buckets.set(le === '+Inf' ? Infinity : Number(le), Number(count));
  return { labels: m.labels ?? {}, value: buckets.get(Infinity) ?? Number(m.count ?? 0), buckets };
}

/** GETs `url` (within `timeoutMs`) and parses it; a failure comes back as a down scrape naming the reason. */
export async function scrapeMetrics(url: string, timeoutMs = 2000): Promise<Scrape> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (!res.ok) return down(url, `HTTP ${res.status} from ${url}`);
    return { url, up: true, at: Date.now(), families: parseMetricsText(text) };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const reason = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    return down(url, `${reason} (${url})`);
  }
}

function down(url: string, error: string): Scrape {
  return { url, up: false, error, at: Date.now(), families: new Map() };
}

/** The samples of `name` in a scrape (none when absent). */
export function samples(scrape: Scrape | undefined, name: string): readonly Sample[] {
  return scrape?.families.get(name) ?? [];
}

/** The q-quantile (0..1) of a cumulative histogram, interpolated within its bucket as PromQL's histogram_quantile does. */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / Math.max(count - lowerCount, 1e-12);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
