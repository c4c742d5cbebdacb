import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCourier, runNode } from './run-courier.ts';

const BROKEN = `partners:
  - id: 1
    name: acme
    delivery: streaming
    segmentMap:
      1001: a1
    streaming:
      url: https://acme.example/sync?uid=\${PARTNER_USER_ID}
      rateLimitPerSecond: fast
      retries: 3
`;

const WITH_SECRET = `partners:
  - id: 1
    name: acme
    delivery: streaming
    segmentMap: { 1001: a1 }
    streaming:
      url: https://acme.example/sync
      headers:
        Authorization: { env: COURIER_TEST_TOKEN }
`;

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-cli-'));
  await fs.writeFile(path.join(dir, 'broken.yaml'), BROKEN);
  await fs.writeFile(path.join(dir, 'secret.yaml'), WITH_SECRET);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('courier CLI', () => {
  it('--help lists the verbs and global options', async () => {
    const run = await runCourier(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\s+config\b/m);
    for (const option of ['--config <file>', '--log-level <level>', '--json', '--version']) expect(run.stdout).toContain(option);
  });

  it('config --help lists check and schema', async () => {
    const run = await runCourier(['config', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\s+check\b/m);
    expect(run.stdout).toMatch(/^\s+schema\b/m);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const run = await runCourier(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('config check falls back to the shipped example and exits 0', async () => {
    const run = await runCourier(['config', 'check'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('courier.example.yaml: valid');
    expect(run.stdout).toContain('name: acme-dsp');
    expect(run.stdout).toContain('password: <file ');
    // Logs are JSON lines on stderr when it is not a terminal.
    const log = JSON.parse(run.stderr.trim().split('\n')[0] ?? '') as { msg: string };
    expect(log.msg).toContain('shipped example');
  });

  it('config check --json prints the resolved config as JSON', async () => {
    const run = await runCourier(['--json', 'config', 'check', '--log-level', 'silent'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { ok: boolean; config: { partners: { name: string }[] } };
    expect(out.ok).toBe(true);
    expect(out.config.partners.map((p) => p.name)).toEqual(['acme-dsp', 'globex-dmp', 'xandr']);
    expect(run.stderr).toBe('');
  });

  it('config check on a broken file exits 2 with every located problem on stderr', async () => {
    const run = await runCourier(['--config', 'broken.yaml', 'config', 'check'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      'broken.yaml:9:27 partners[0].streaming.rateLimitPerSecond: expected a number > 0, got "fast"',
      expect.stringMatching(/^broken\.yaml:10:7 partners\[0\]\.streaming\.retries: unknown key "retries" \(did you mean "retry"\?\); allowed keys here: url, /),
      '2 problems in broken.yaml; fix them and run "courier config check" again',
    ]);
  });

  it('config check --json on a broken file also prints the problems as JSON on stdout', async () => {
    const run = await runCourier(['config', 'check', '--json', '--config', path.join(dir, 'broken.yaml')], { cwd: dir });
    expect(run.code).toBe(2);
    const out = JSON.parse(run.stdout) as { ok: boolean; problems: { line: number; field: string }[] };
    expect(out.ok).toBe(false);
    expect(out.problems.map((p) => [p.line, p.field])).toEqual([
      [9, 'partners[0].streaming.rateLimitPerSecond'],
      [10, 'partners[0].streaming.retries'],
    ]);
  });

  it('a missing --config file exits 2 naming the path', async () => {
    const run = await runCourier(['--config', 'nope.yaml', 'config', 'check'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nope.yaml: config file not found');
  });

  it('a missing env secret exits 2; once set, its value is never printed', async () => {
    const missing = await runCourier(['--config', 'secret.yaml', 'config', 'check'], { cwd: dir, env: { COURIER_TEST_TOKEN: '' } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('secret.yaml:9:31 partners[0].streaming.headers.Authorization.env: environment variable COURIER_TEST_TOKEN is empty');

    const token = 'tok-5ecr3t-value';
    for (const json of [[], ['--json']]) {
      const run = await runCourier(['--config', 'secret.yaml', ...json, 'config', 'check'], { cwd: dir, env: { COURIER_TEST_TOKEN: token } });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(token);
      expect(run.stdout).toContain('<from env COURIER_TEST_TOKEN>');
    }
  });

  it('config schema prints valid JSON Schema (also via node --import tsx cli/main.ts)', async () => {
    const run = await runNode(['--import', 'tsx', 'cli/main.ts', 'config', 'schema']);
    expect(run.code, run.stderr).toBe(0);
    const schema = JSON.parse(run.stdout) as { $schema: string; properties: Record<string, unknown> };
    expect(schema.$schema).toContain('json-schema.org');
    expect(Object.keys(schema.properties)).toEqual(['storage', 'engine', 'refresher', 'queue', 'syncer', 'listener', 'status', 'partners']);
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['config', 'chek'], /unknown command 'chek'.*\n.*Did you mean check\?/],
    [['--bogus', 'config', 'check'], /unknown option '--bogus'/],
    [['--log-level', 'loud', 'config', 'check'], /argument 'loud' is invalid/],
    [[], /Usage: courier/],
  ])('usage error %j exits 2', async (args, message) => {
    const run = await runCourier(args, { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
