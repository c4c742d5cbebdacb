import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  exampleConfigPath,
  findConfigFile,
  formatConfigError,
  loadConfig,
  parseConfig,
} from '../../config/index.ts';
import { MINIMAL_YAML, problemsOf } from './config-fixtures.ts';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-config-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the shipped example config', () => {
  it('validates with an empty environment and fills defaults', async () => {
    const config = await loadConfig(exampleConfigPath, { env: {} });
    expect(config.partners.map((p) => p.name)).toEqual(['acme-dsp', 'globex-dmp', 'xandr']);
    expect(config.storage.root).toBe(pathToFileURL(path.resolve(path.dirname(exampleConfigPath), '../.courier/data')).href);
    expect(config.engine.local.workers).toBeGreaterThanOrEqual(1);
    const sftp = config.partners[1]?.batch?.sftp;
    expect(sftp?.password).toEqual({ file: path.join(path.dirname(exampleConfigPath), 'demo-sftp-password.txt') });
  });

  it('carries the yaml-language-server schema line', async () => {
    const text = await fs.readFile(exampleConfigPath, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./courier.schema.json');
  });
});

describe('defaults and resolution', () => {
  it('fills defaults and resolves the default storage root next to the config file', () => {
    const config = parseConfig(MINIMAL_YAML, { file: path.join(dir, 'courier.yaml'), env: {} });
    expect(config.storage.root).toBe(pathToFileURL(path.join(dir, '.courier/data')).href);
    expect(config.engine.kind).toBe('local');
    expect(config.engine.local).toMatchObject({ memoryMb: 1024, maxBadRecordRate: 0.001 });
    const partner = config.partners[0];
    expect(partner).toMatchObject({ expiryDays: 30, deltas: false, priority: { newSync: 'high', refresh: 'normal' } });
    expect(partner?.segmentMap).toEqual({ '1001': 'a1' });
    expect(partner?.streaming).toMatchObject({
      method: 'POST',
      concurrency: 16,
      rateLimitPerSecond: 1000,
      timeoutMs: 5000,
      retry: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 30000 },
    });
  });

  it('accepts webhdfs:// and gs:// roots as they are', () => {
    for (const root of ['webhdfs://namenode:9870/courier', 'gs://bucket/courier', 'file:///data/courier']) {
      const config = parseConfig(`storage:\n  root: ${root}\n${MINIMAL_YAML}`, { file: path.join(dir, 'c.yaml'), env: {} });
      expect(config.storage.root).toBe(root);
    }
  });
});

describe('located problems', () => {
  it('reports an unknown key at the key, with a did-you-mean and the allowed keys', () => {
    const problems = problemsOf(MINIMAL_YAML + '      rateLimit: 10\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 9, column: 7, field: 'partners[0].streaming.rateLimit' });
    expect(problems[0]?.message).toContain('did you mean "rateLimitPerSecond"?');
    expect(problems[0]?.message).toContain('concurrency');
  });

  it('reports a wrong type with what was expected and what was found', () => {
    const problems = problemsOf(MINIMAL_YAML + '      rateLimitPerSecond: fast\n');
    expect(problems).toEqual([
      {
        file: path.join('/tmp/courier-test', 'courier.yaml'),
        line: 9,
        column: 27,
        field: 'partners[0].streaming.rateLimitPerSecond',
        message: 'expected a number > 0, got "fast"',
      },
    ]);
  });

  it('reports several problems at once, sorted by line, formatted one per line', () => {
    const text = `engine:
  kind: cloud
partners:
  - id: -3
    name: acme
    delivery: streaming
    segmentMap: { 1: a }
    expiryDays: 0
    streaming:
      url: https://acme.example/
`;
    let error: unknown;
    try {
      parseConfig(text, { file: path.join(dir, 'several.yaml'), env: {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [2, 'engine.kind'],
      [4, 'partners[0].id'],
      [8, 'partners[0].expiryDays'],
    ]);
    const lines = formatConfigError(error as ConfigError, dir).split('\n');
    expect(lines[0]).toBe('several.yaml:2:9 engine.kind: expected one of "local", "inline", "streaming", "dataproc", "spark-submit", got "cloud"');
    expect(lines[3]).toBe('3 problems in several.yaml; fix them and run "courier config check" again');
  });

  it('reports a missing environment secret at its env key', () => {
    const text = MINIMAL_YAML + '      headers:\n        Authorization: { env: ACME_TOKEN }\n';
    const problems = problemsOf(text, { env: {} });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 10, field: 'partners[0].streaming.headers.Authorization.env' });
    expect(problems[0]?.message).toBe('environment variable ACME_TOKEN is not set; export it or change the name');
    expect(() => parseConfig(text, { file: path.join(dir, 'c.yaml'), env: { ACME_TOKEN: 'x' } })).not.toThrow();
  });

  it('reports a duplicate partner id at the second partner', () => {
    const second = MINIMAL_YAML.split('\n').slice(1).join('\n').replace('name: acme', 'name: other');
    const problems = problemsOf(MINIMAL_YAML + second);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 9, column: 9, field: 'partners[1].id' });
    expect(problems[0]?.message).toContain('duplicate partner id 1: partners[0] has it already');
  });

  it('requires a streaming section for a streaming partner', () => {
    const text = MINIMAL_YAML.split('\n').slice(0, 6).join('\n') + '\n';
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field: 'partners[0].streaming', line: 2 });
    expect(problems[0]?.message).toContain('delivery is "streaming", so a streaming section is required');
  });

  it('requires the engine section of the chosen cluster engine', () => {
    const problems = problemsOf(`engine:\n  kind: spark-submit\n${MINIMAL_YAML}`);
    expect(problems.map((p) => p.field)).toEqual(['engine.sparkSubmit']);
    expect(problems[0]?.message).toContain('gateway, stagingUri');
  });

  it('requires every partner to keep cookies longer than the rolling refresh period', () => {
    const text = `refresher:\n  refreshEveryDays: 30\n${MINIMAL_YAML}`;
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field: 'partners[0].expiryDays' });
    expect(problems[0]?.message).toContain('expiryDays 30 is not above refresher.refreshEveryDays 30');
    expect(() => parseConfig(`refresher:\n  refreshEveryDays: 29\n${MINIMAL_YAML}`, { file: path.join(dir, 'c.yaml'), env: {} })).not.toThrow();
  });

  it('rejects an unsupported storage URI scheme', () => {
    const problems = problemsOf(`storage:\n  root: s3://bucket/data\n${MINIMAL_YAML}`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 2, column: 9, field: 'storage.root' });
    expect(problems[0]?.message).toContain('unsupported URI scheme "s3:"');
  });

  it('locates YAML syntax errors', () => {
    const problems = problemsOf('partners:\n  - id: [1, 2\n    name: x\n');
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems[0]?.line).toBeGreaterThanOrEqual(2);
    expect(problems[0]?.message).toMatch(/^YAML syntax error: /);
  });

  it('rejects unknown template macros with a suggestion', () => {
    const problems = problemsOf(MINIMAL_YAML.replace('PARTNER_USER_ID', 'USER_ID'));
    expect(problems[0]?.field).toBe('partners[0].streaming.url');
    expect(problems[0]?.message).toContain('unknown macro ${USER_ID} (did you mean ${PARTNER_USER_ID}?)');
  });

  it('reports a missing key file relative to the config directory', () => {
    const text = `partners:
  - id: 1
    name: acme
    delivery: batch
    segmentMap: { 1: a }
    batch:
      sftp:
        host: sftp.acme.example
        user: courier
        privateKey: { file: keys/acme }
        hostKeySha256: SHA256:489ZXyGoi2SQDD5/xiu/9dbO7OxZpwUBcEgwWPTsiFE
      remoteDir: /in
      template:
        fields: [partner_user_id, segments]
`;
    const problems = problemsOf(text, { dir });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 10, field: 'partners[0].batch.sftp.privateKey.file' });
    expect(problems[0]?.message).toContain(path.join(dir, 'keys/acme'));
  });

  it('rejects a malformed host key fingerprint', () => {
    const problems = problemsOf(
      `partners:\n  - id: 1\n    name: a\n    delivery: batch\n    segmentMap: { 1: a }\n    batch:\n      sftp: { host: h, user: u, password: { env: P }, hostKeySha256: "abc" }\n      remoteDir: /in\n      template: { fields: [partner_user_id, segments] }\n`,
      { env: { P: 'x' } },
    );
    expect(problems.map((p) => p.field)).toEqual(['partners[0].batch.sftp.hostKeySha256']);
  });
});

describe('findConfigFile', () => {
  it('uses an explicit file, else ./courier.yaml, else the example', async () => {
    const cwd = await fs.mkdtemp(path.join(dir, 'cwd-'));
    expect(findConfigFile(undefined, cwd)).toBe(exampleConfigPath);
    await fs.writeFile(path.join(cwd, 'courier.yaml'), MINIMAL_YAML);
    expect(findConfigFile(undefined, cwd)).toBe(path.join(cwd, 'courier.yaml'));
    expect(() => findConfigFile('missing.yaml', cwd)).toThrow(/missing\.yaml: config file not found/);
  });
});
