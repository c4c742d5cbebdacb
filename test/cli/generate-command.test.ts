import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCourier } from './run-courier.ts';

const CONFIG = `storage:
  root: ./data
partners:
  - id: 5
    name: initech
    delivery: streaming
    segmentMap: { 1001: i-auto, 2002: i-golf }
    streaming:
      url: https://initech.example/sync
  - id: 9
    name: hooli
    delivery: streaming
    segmentMap: { 1003: h-travel }
    streaming:
      url: https://hooli.example/sync
`;

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-generate-cli-'));
  await fs.writeFile(path.join(dir, 'courier.yaml'), CONFIG);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const base = ['--logs', '20k', '--segments', '500', '--date', '2026-11-23', '--seed', '3'];

describe('courier generate', () => {
  it('writes logs and segments and prints a JSON summary; refuses to overwrite without --force', async () => {
    const out = path.join(dir, 'out');
    const run = await runCourier(['--json', 'generate', ...base, '--days', '2', '--out', out]);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      ok: true,
      out: `file://${out}`,
      seed: 3,
      dates: ['2026-11-22', '2026-11-23'],
      partnerIds: [17, 42, 50], // the shipped example config's partners
      files: 194, // 192 log files, a segment file per day
      logFiles: 192,
      lines: 20_000,
      segmentRows: 500,
    });
    for (const key of ['syncLines', 'malformedLines', 'piiRows', 'seconds']) expect(typeof summary[key]).toBe('number');
    expect(await fs.readFile(path.join(out, 'logs', 'dt=2026-11-22', '_SUCCESS'), 'utf8')).toContain('"kind": "files"');
    await fs.access(path.join(out, 'segments', 'dt=2026-11-23', 'part-00000.parquet'));

    const again = await runCourier(['generate', ...base, '--days', '2', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already complete .*logs\/dt=2026-11-22.*use --force/);

    const forced = await runCourier(['generate', ...base, '--days', '2', '--out', `file://${out}`, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^Generated synthetic input under file:\/\/.*\n {2}logs {6}2026-11-22 \.\. 2026-11-23: 20,000 lines in 192 files/);
    expect(forced.stdout).toContain('partners  17, 42, 50');
  });

  it("uses the config's storage root and partners; --partners adds ids after the largest", async () => {
    const run = await runCourier(['--json', '--log-level', 'silent', 'generate', ...base, '--partners', '4'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ out: `file://${path.join(dir, 'data')}`, partnerIds: [5, 9, 10, 11] });
    await fs.access(path.join(dir, 'data', 'logs', 'dt=2026-11-23', '_SUCCESS'));
    expect(run.stderr).toBe('');
  });

  it('exits 2 naming the option for bad counts, dates and an unwritable --out', async () => {
    const file = path.join(dir, 'plain-file');
    await fs.writeFile(file, 'x');
    const cases: [string[], RegExp][] = [
      [['--logs', '-5'], /option '--logs <n>' argument '-5' is invalid/],
      [['--segments', '1.5'], /option '--segments <n>' argument '1.5' is invalid/],
      [['--days', '0'], /option '--days <n>' argument '0' is invalid/],
      [['--date', '2026-13-01'], /option '--date <YYYY-MM-DD>' argument '2026-13-01' is invalid/],
      [['--out', path.join(file, 'sub')], /--out: cannot write there: .*ENOTDIR/],
      [['--out', 's3://bucket/x'], /--out: s3:\/\/bucket\/x: not a storage URI/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCourier(['generate', '--logs', '100', '--out', path.join(dir, 'bad'), ...args])));
    runs.forEach((run, i) => {
      expect(run.code, cases[i]![0].join(' ')).toBe(2);
      expect(run.stderr).toMatch(cases[i]![1]);
    });
  });
});
