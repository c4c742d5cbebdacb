/**
 * The status page and the HTML report in a real headless browser: Debian's chromium (installed with apt-get when
 * missing and root; missing otherwise is a failure, never a skip) driven by playwright-core. After the demo's two
 * daily runs (`courier run daily-refresh` for two days), `courier status --serve` must show both runs and their
 * stages as timelines, the four processes' /metrics (each a separate process serving its real metrics class), and
 * a source killed with SIGKILL as down while the rest keeps working. `courier report latest --html` must open from
 * file:// and show the chart. Screenshots go to test-artifacts/ (gitignored).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticData } from '../../jobs/synthetic/index.ts';
import { parseMetricsText } from '../../operations/index.ts';
import { toStorageUri } from '../../storage/index.ts';
import { acceptsConnections, ensureBinary, freePort, startService, type RunningService } from '../support/system-binaries.ts';
import { MAPPED_SEGMENT_IDS, STREAMING_AND_BATCH_PARTNERS } from '../support/workflow-config.ts';
import { METRICS_PROCESSES } from './metrics-fixtures.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/courier.js');
const fixtureScript = path.join(repoRoot, 'test/operations/metrics-fixtures.ts');
const artifacts = path.join(repoRoot, 'test-artifacts');
const DAYS = ['2026-11-22', '2026-11-23'];

/** Flags for a headless chromium that reaches nothing outside 127.0.0.1 and keeps no state. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dir: string;
let browser: BrowserContext;
let page: Page;
let status: RunningService;
let statusUrl: string;
const sources = new Map<string, { url: string; service: RunningService }>();
const runIds: string[] = [];

async function courier(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [bin, '--log-level', 'warn', ...args], { cwd: dir, maxBuffer: 16 << 20 });
  return stdout;
}

beforeAll(async () => {
  const executablePath = await ensureBinary('chromium', 'chromium');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-status-page-'));
  await fs.mkdir(artifacts, { recursive: true });
  for (const process of METRICS_PROCESSES) {
    const port = await freePort();
    const service = await startService(globalThis.process.execPath, ['--import', 'tsx', fixtureScript, process, String(port)], {
      cwd: repoRoot,
      ready: () => acceptsConnections(port),
      timeoutMs: 30_000,
    });
    sources.set(process, { url: `http://127.0.0.1:${port}/metrics`, service });
  }
  const statusPort = await freePort();
  await fs.writeFile(path.join(dir, 'pw.txt'), 'secret\n');
  await fs.writeFile(
    path.join(dir, 'courier.yaml'),
    `storage:
  root: ./data
engine:
  kind: local
  local: { workers: 2, memoryMb: 256 }
status:
  port: ${statusPort}
  refreshSeconds: 1
  metrics:
${[...sources].map(([process, s]) => `    - { process: ${process}, url: "${s.url}" }`).join('\n')}
${STREAMING_AND_BATCH_PARTNERS}`,
  );
  await generateSyntheticData({
    out: toStorageUri(path.join(dir, 'data')),
    logs: 20_000,
    segments: 4_000,
    partners: 2,
    configuredPartnerIds: [17, 42],
    configuredSegmentIds: MAPPED_SEGMENT_IDS,
    days: 2,
    date: DAYS[1] as string,
    seed: 7,
  });
  // The demo's two runs, through the real command.
  for (const day of DAYS) {
    const out = await courier('--json', 'run', 'daily-refresh', '--date', day);
    runIds.push((JSON.parse(out) as { runId: string }).runId);
  }
  status = await startService(process.execPath, [bin, 'status', '--serve'], { cwd: dir, ready: () => acceptsConnections(statusPort), timeoutMs: 30_000 });
  statusUrl = `http://127.0.0.1:${statusPort}/`;
  browser = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), { executablePath, headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await status?.stop();
  for (const s of sources.values()) await s.service.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('status page in headless chromium', () => {
  it('shows both runs with their stages as timelines, and every metrics source up', async () => {
    expect(runIds.every((id) => id.length > 0)).toBe(true);
    await page.goto(statusUrl);
    for (const id of runIds) {
      const runBox = page.locator(`.run[data-run="${id}"]`);
      await expect.poll(() => runBox.count()).toBe(1);
      const bars = runBox.locator('svg.timeline rect.stage-bar');
      expect(await bars.evaluateAll((els) => els.map((e) => e.getAttribute('data-stage')))).toEqual(['refresher', 'format-globex-dmp', 'handoff']);
      expect(await bars.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).toEqual(['succeeded', 'succeeded', 'succeeded']);
      const box = await bars.first().boundingBox();
      expect(box?.width).toBeGreaterThan(10);
      expect(await runBox.locator('tr[data-stage="refresher"] td').allInnerTexts()).toEqual(expect.arrayContaining(['refresher', 'succeeded']));
    }
    for (const s of sources.values()) await expect.poll(() => page.locator(`[data-source="${s.url}"]`).getAttribute('data-up')).toBe('true');
    // Figures from each process, rates once two scrapes were made.
    await expect.poll(() => page.locator('#queues').innerText(), { timeout: 10_000 }).toMatch(/high\s+200\s+20\s+[\d.]+\/s\s+[\d.]+\/s/);
    expect(await page.locator('#sync').innerText()).toMatch(/acme-dsp/);
    expect(await page.locator('#deliveries').innerText()).toMatch(/globex-dmp/);
    expect(await page.locator('#listeners').innerText()).toMatch(/ready/);
  });

  it('a killed metrics source shows as down and the page keeps refreshing the rest', async () => {
    const deliver = sources.get('deliver');
    if (!deliver) throw new Error('no deliver metrics source was started');
    deliver.service.process.kill('SIGKILL');
    await deliver.service.stop();
    const cell = page.locator(`[data-source="${deliver.url}"]`);
    await expect.poll(() => cell.getAttribute('data-up'), { timeout: 15_000 }).toBe('false');
    expect(await cell.innerText()).toBe('down');
    const before = await page.locator('#updated').innerText();
    await expect.poll(() => page.locator('#updated').innerText(), { timeout: 10_000 }).not.toBe(before);
    expect(await page.locator('.run').count()).toBe(2);
    expect(await page.locator(`[data-source="${sources.get('bridge')?.url}"]`).getAttribute('data-up')).toBe('true');
    expect(await page.locator('#deliveries').innerText()).toMatch(/no deliverer answering/);
    await page.screenshot({ path: path.join(artifacts, 'status-page.png'), fullPage: true });
  });

  it('serves the workflow metrics alerts need, in Prometheus text', async () => {
    const res = await fetch(`${statusUrl}metrics`);
    const families = parseMetricsText(await res.text());
    const last = families.get('courier_workflow_last_success_timestamp_seconds')?.find((s) => s.labels['workflow'] === 'daily-refresh');
    expect(last?.value).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(families.get('courier_workflow_last_run_failed')?.[0]?.value).toBe(0);
  });
});

describe('HTML report in headless chromium', () => {
  it('courier report latest --html writes one file that opens from file:// with the timeline chart', async () => {
    const file = path.join(dir, 'report.html');
    const report = JSON.parse(await courier('--json', 'report', 'latest', '--html', file)) as { runId: string; stages: { name: string }[]; badRecords: unknown[] };
    expect(report.runId).toBe(runIds[1]);
    expect(report.badRecords.length).toBeGreaterThan(0);
    const html = await fs.readFile(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|src="http/);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    const bars = page.locator(`svg.timeline[data-run="${runIds[1]}"] rect.stage-bar`);
    expect(await bars.count()).toBe(3);
    expect((await bars.first().boundingBox())?.width).toBeGreaterThan(10);
    expect(await page.locator('h2').allInnerTexts()).toEqual(expect.arrayContaining(['Bad records by reason', 'Batch files', 'Deliveries']));
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    await page.screenshot({ path: path.join(artifacts, 'run-report.png'), fullPage: true });
  });
});
