/**
 * config/alerts.yaml: `promtool check rules` accepts it (promtool from Debian's prometheus package, installed when
 * missing and root; a missing promtool fails the test), `promtool test rules` shows the queue and listener rules
 * fire on made-up series and stay quiet on healthy ones, and every metric the rules use is listed in
 * docs/operations.md (so no rule waits on a metric that does not exist).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureBinary } from '../support/system-binaries.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rulesFile = path.join(repoRoot, 'config/alerts.yaml');

const UNIT_TESTS = `rule_files: [${JSON.stringify(rulesFile)}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'courier_bridge_queue_depth{queue="requests.17.high",instance="b"}'
        values: '500x60'
      - series: 'courier_bridge_items_acked_total{queue="requests.17.high",instance="b"}'
        values: '100+10x10 200x50'
      - series: 'courier_bridge_queue_depth{queue="requests.42.high",instance="b"}'
        values: '500x60'
      - series: 'courier_bridge_items_acked_total{queue="requests.42.high",instance="b"}'
        values: '0+10x60'
      - series: 'listener_answer_duration_seconds_bucket{le="0.005",instance="slow"}'
        values: '0+90x30'
      - series: 'listener_answer_duration_seconds_bucket{le="0.01",instance="slow"}'
        values: '0+90x30'
      - series: 'listener_answer_duration_seconds_bucket{le="+Inf",instance="slow"}'
        values: '0+100x30'
      - series: 'listener_answer_duration_seconds_bucket{le="0.001",instance="fast"}'
        values: '0+1000x30'
      - series: 'listener_answer_duration_seconds_bucket{le="+Inf",instance="fast"}'
        values: '0+1000x30'
    alert_rule_test:
      - eval_time: 45m
        alertname: CourierQueueNotDraining
        exp_alerts:
          - exp_labels: { severity: critical, queue: requests.17.high }
            exp_annotations:
              summary: Queue requests.17.high has stopped draining
              description: 500 requests waiting and none acknowledged for 15 minutes; check that courier sync runs and the partner answers.
      - eval_time: 20m
        alertname: CourierListenerSlowP99
        exp_alerts:
          - exp_labels: { severity: critical, instance: slow }
            exp_annotations:
              summary: Listener slow answers at p99 in 10ms (over 7 ms)
              description: Slow answers make the bus time out and reopen connections; look at GC, CPU load and the snapshot size.
`;

describe('alert rules', () => {
  it('promtool check rules accepts config/alerts.yaml', async () => {
    const promtool = await ensureBinary('promtool', 'prometheus');
    const { stdout } = await run(promtool, ['check', 'rules', rulesFile]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool test rules: a stalled queue and a slow listener fire, a draining queue and a fast listener do not', async () => {
    const promtool = await ensureBinary('promtool', 'prometheus');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-alerts-'));
    const file = path.join(dir, 'alerts.test.yaml');
    await fs.writeFile(file, UNIT_TESTS);
    const result = await run(promtool, ['test', 'rules', file]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${result.stdout}${result.stderr}`).toMatch(/SUCCESS/);
    await fs.rm(dir, { recursive: true });
  });

  it('every metric the rules use is documented in docs/operations.md, and the five asked-for alerts exist', async () => {
    const rules = parse(await fs.readFile(rulesFile, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const doc = await fs.readFile(path.join(repoRoot, 'docs/operations.md'), 'utf8');
    const all = rules.groups.flatMap((g) => g.rules);
    for (const rule of all) {
      for (const [name] of rule.expr.matchAll(/\b(courier|listener)_[a-z_]+/g)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        expect(doc, `${rule.alert} uses ${name}`).toContain(`\`${base}\``);
      }
    }
    expect(all.map((r) => r.alert)).toEqual(
      expect.arrayContaining(['CourierPartnerDeadLetters', 'CourierQueueNotDraining', 'CourierDailyRunLate', 'CourierListenerSlowP99', 'CourierDeliveryPending']),
    );
  });
});
