import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCourier } from './run-courier.ts';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-sync-cli-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('courier sync and partner-stub arguments', () => {
  it('refuses to sync when no partner streams', async () => {
    const batchOnly = `partners:
  - id: 1
    name: globex
    delivery: batch
    segmentMap: { 1: a }
    batch:
      sftp: { host: 127.0.0.1, user: u, password: { env: PW }, hostKeySha256: "SHA256:489ZXyGoi2SQDD5/xiu/9dbO7OxZpwUBcEgwWPTsiFE" }
      remoteDir: /in
      template: { fields: [partner_user_id, segments] }
`;
    await fsp.writeFile(path.join(dir, 'courier.yaml'), batchOnly);
    const none = await runCourier(['sync'], { cwd: dir, env: { PW: 'x' } });
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toMatch(/no partner in the config has delivery streaming or both/);
  });

  it('rejects bad partner-stub options with the expected form', async () => {
    const bad = await runCourier(['partner-stub', '--partner', 'acme:speed=3'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown key "speed" in --partner acme:speed=3; known: latency-ms, error-rate/);
    const rate = await runCourier(['partner-stub', '--error-rate', '1.5'], { cwd: dir });
    expect(rate.code).toBe(2);
    expect(rate.stderr).toMatch(/expected a number from 0 to 1, got "1.5"/);
  });
});
