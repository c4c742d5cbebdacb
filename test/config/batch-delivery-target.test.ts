import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exampleConfigPath, loadConfig, parseConfig } from '../../config/index.ts';
import { problemsOf } from './config-fixtures.ts';

const batchPartner = (extra: string) => `partners:
  - id: 1
    name: globex
    delivery: batch
    segmentMap: { 1001: g1 }
    batch:
      sftp: { host: 127.0.0.1, user: u, password: { env: P }, hostKeySha256: "SHA256:489ZXyGoi2SQDD5/xiu/9dbO7OxZpwUBcEgwWPTsiFE"${extra} }
      remoteDir: /in
      template: { fields: [partner_user_id, segments] }
`;
const env = { P: 'secret' };
const dir = '/tmp/courier-target-test';

describe('batch.target and sftp.maxConnections', () => {
  it('defaults to two connections and no local target (deliver over sftp)', () => {
    const batch = parseConfig(batchPartner(''), { file: path.join(dir, 'courier.yaml'), env }).partners[0]?.batch;
    expect(batch?.sftp.maxConnections).toBe(2);
    expect(batch?.target).toBeUndefined();
  });

  it('resolves a relative target against the config file and keeps file:/// URIs', () => {
    const withTarget = (target: string) =>
      parseConfig(batchPartner('').replace('      remoteDir: /in', `      remoteDir: /in\n      target: ${target}`), { file: path.join(dir, 'courier.yaml'), env })
        .partners[0]?.batch?.target;
    expect(withTarget('./outbox')).toBe(pathToFileURL(path.join(dir, 'outbox')).href);
    expect(withTarget('file:///srv/outbox')).toBe('file:///srv/outbox');
  });

  it('rejects a remote target URI and an out-of-range connection limit, naming the fields', () => {
    const text = batchPartner(', maxConnections: 0').replace('      remoteDir: /in', '      remoteDir: /in\n      target: sftp://h/x');
    const problems = problemsOf(text, { env, dir });
    expect(problems.map((p) => p.field).sort()).toEqual(['partners[0].batch.sftp.maxConnections', 'partners[0].batch.target']);
    expect(problems.find((p) => p.field.endsWith('target'))?.message).toMatch(/local directory, not sftp:.*remove target/);
  });

  it('points the shipped example at a local directory so the demo needs no SFTP server', async () => {
    const config = await loadConfig(exampleConfigPath, { env: {} });
    expect(config.partners[1]?.batch?.target).toBe(pathToFileURL(path.resolve(path.dirname(exampleConfigPath), '../.courier/delivered')).href);
  });
});
