/**
 * Every process's /metrics (bridge, syncer, file deliverer, listener), served over HTTP by its real metrics class,
 * scraped and parsed with a Prometheus text-format parser; each name must be listed in docs/operations.md and each
 * listed name exposed. Then the status collector turns two scrapes into the page's figures and rates.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import fsSync from 'node:fs';
import os from 'node:os';
import { DeliveryLedger, type LedgerEntry, type LedgerFile } from '../../deliverer/file/index.ts';
import { toStorageUri } from '../../storage/index.ts';
import { parseMetricsText, scrapeMetrics, StatusCollector, type MetricsSource } from '../../operations/index.ts';
import { serveMetrics, type MetricsEndpoint } from '../../queue-bridge/index.ts';
import { METRICS_PROCESSES, metricsFixture } from './metrics-fixtures.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const endpoints: MetricsEndpoint[] = [];
afterAll(async () => {
  for (const e of endpoints) await e.close();
});

/** Node's own process metrics prom-client adds (documented once, as a group). */
const DEFAULT_METRIC = /^(courier_[a-z]+_)?(process_|nodejs_)/;

describe('metrics of every process', () => {
  it('parse as Prometheus text, and docs/operations.md lists exactly the names each process exposes', async () => {
    const doc = await fs.readFile(path.join(repoRoot, 'docs/operations.md'), 'utf8');
    for (const process of METRICS_PROCESSES) {
      const endpoint = await serveMetrics(metricsFixture(process).registry, 0);
      endpoints.push(endpoint);
      const scrape = await scrapeMetrics(`http://127.0.0.1:${endpoint.port}/metrics`);
      expect(scrape.up, scrape.error).toBe(true);
      const section = doc.split(/^### /m).find((s) => s.startsWith(`\`courier ${process}\``));
      expect(section, `docs/operations.md has a "### \`courier ${process}\`" section`).toBeDefined();
      const documented = [...(section ?? '').matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1] as string);
      const exposed = [...scrape.families.keys()].filter((n) => !DEFAULT_METRIC.test(n));
      expect(exposed.length).toBeGreaterThan(3);
      expect(documented.sort(), `metrics of courier ${process}`).toEqual(exposed.sort());
    }
  });

  it('a histogram parses into cumulative buckets', () => {
    const families = parseMetricsText('# HELP h x\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 3\nh_sum 0.5\nh_count 3\n');
    const h = families.get('h')?.[0];
    expect(h?.buckets?.get(0.1)).toBe(1);
    expect(h?.value).toBe(3);
  });

  it('two scrapes give queue fill and drain rates, syncer error rates, listener p99, and a closed endpoint is down', async () => {
    const fixtures = METRICS_PROCESSES.map((p) => metricsFixture(p));
    const sources: MetricsSource[] = [];
    for (const [i, process] of METRICS_PROCESSES.entries()) {
      const endpoint = await serveMetrics(fixtures[i]!.registry, 0);
      endpoints.push(endpoint);
      sources.push({ process, url: `http://127.0.0.1:${endpoint.port}/metrics` });
    }
    const closed = await serveMetrics(metricsFixture('sync').registry, 0);
    await closed.close();
    const deadUrl = `http://127.0.0.1:${closed.port}/metrics`;
    sources.push({ process: 'sync', url: deadUrl });
    const collector = new StatusCollector('file:///nonexistent-courier-store', sources);
    await collector.collect();
    await new Promise((r) => setTimeout(r, 250));
    for (const f of fixtures) f.step();
    const s = await collector.collect();
    expect(s.sources.filter((x) => !x.up).map((x) => x.url)).toEqual([deadUrl]);
    expect(s.sources.find((x) => x.url === deadUrl)?.error).toMatch(/ECONNREFUSED/);
    const high = s.queues.find((q) => q.queue === 'requests.17.high');
    expect(high?.depth).toBe(200);
    expect(high!.fillPerSecond! / high!.drainPerSecond!).toBeCloseTo(50 / 40, 1);
    expect(s.queues.find((q) => q.queue === 'requests.17.normal')?.drainPerSecond).toBe(0);
    const acme = s.sync.find((p) => p.partner === 'acme-dsp');
    expect(acme).toMatchObject({ sent: 200, errors: 10, delivered: 190, deadLetters: 2 });
    expect(acme?.errorsPerSecond).toBeGreaterThan(0);
    expect(s.deliveries[0]).toMatchObject({ partner: 'globex-dmp', files: 2, bytes: 3936, pendingDatasets: 1, failures: 2 });
    const listener = s.listeners[0];
    expect(listener?.ready).toBe(true);
    expect(listener?.over7ms).toBe(2);
    expect(listener?.p99Ms).toBeLessThan(1);
    expect(listener?.answersPerSecond).toBeGreaterThan(0);
    expect(s.runs).toEqual([]);
  });

  it('file deliveries: the last file, its bytes and when from the ledger in the store, also with the deliverer down', async () => {
    const dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'courier-status-ledger-'));
    const root = toStorageUri(dir);
    const ledger = new DeliveryLedger(root);
    // Ledger entries as the deliverer writes them (docs/file-deliverer.md): two delivered days and one under way.
    const entry = (day: string, state: 'pending' | 'delivered', files: LedgerFile[]): LedgerEntry => ({
      format: 'courier-delivery-ledger/1',
      partner: 'globex-dmp',
      dataset: `batch/globex-dmp/dt=${day}`,
      period: day,
      markerChecksum: 'x',
      target: 'file:///tmp/delivered',
      state,
      files,
      createdAt: `${day}T02:59:00.000Z`,
      updatedAt: `${day}T03:00:00.000Z`,
    });
    const file = (day: string, bytes: number): LedgerFile => ({
      name: `globex-dmp_${day}.tsv.gz`,
      role: 'data',
      bytes,
      sha256: 'y',
      rows: 10,
      remotePath: `/in/globex-dmp_${day}.tsv.gz`,
      state: 'delivered',
      attempts: 1,
      updatedAt: `${day}T03:00:00.000Z`,
      deliveredAt: `${day}T03:00:00.000Z`,
    });
    await ledger.write(entry('2026-11-22', 'delivered', [file('2026-11-22', 1500)]));
    await ledger.write(entry('2026-11-23', 'delivered', [file('2026-11-23', 1968)]));
    await ledger.write(entry('2026-11-24', 'pending', []));
    const s = await new StatusCollector(root, [{ process: 'deliver', url: 'http://127.0.0.1:1/metrics' }]).collect();
    expect(s.sources[0]?.up).toBe(false);
    expect(s.deliveries).toEqual([
      { partner: 'globex-dmp', lastFile: 'globex-dmp_2026-11-23.tsv.gz', lastFileBytes: 1968, lastFileAt: '2026-11-23T03:00:00.000Z', ledgerPending: 1, files: 0, bytes: 0, pendingDatasets: 1, failures: 0 },
    ]);
    fsSync.rmSync(dir, { recursive: true });
  });
});
