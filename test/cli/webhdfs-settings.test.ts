// storage.webhdfs as the CLI hands it to the storage room: every field mapped, the token read from its secret
// (trimmed), the token hidden in printouts, and bad nameservices named by field.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, printableConfig } from '../../config/index.ts';
import { webHdfsOptionsOf } from '../../cli/webhdfs-settings.ts';

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-webhdfs-settings-'));
  file = path.join(dir, 'courier.yaml');
  await fs.writeFile(path.join(dir, 'hdfs.token'), 'KAAHY291cmllcg_token-1\n');
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

const PARTNERS = 'partners:\n  - { id: 17, name: acme-dsp, delivery: streaming, segmentMap: { 1001: a }, streaming: { url: "http://127.0.0.1:8089/x" } }\n';
const config = (webhdfs: string) => `storage:\n  root: webhdfs://mycluster/courier\n  webhdfs:\n${webhdfs}${PARTNERS}`;

describe('storage.webhdfs settings', () => {
  it('maps every field, reads the token from its file relative to the config, and hides it in printouts', () => {
    const c = parseConfig(
      config(
        '    delegationToken: { file: ./hdfs.token }\n    retries: 2\n    retryDelayMs: 50\n    retryMaxDelayMs: 800\n    timeoutMs: 30000\n    localCopyMb: 512\n' +
          '    nameservices: { mycluster: ["nn1.example.internal:9870", "nn2.example.internal:9870"] }\n    datanodeAddresses: { "dn1.internal:9864": "10.0.0.5:9864" }\n',
      ),
      { file, env: {} },
    );
    expect(webHdfsOptionsOf(c, {}, file)).toEqual({
      delegationToken: 'KAAHY291cmllcg_token-1',
      retries: 2,
      retryDelayMs: 50,
      retryMaxDelayMs: 800,
      timeoutMs: 30000,
      localCopyMb: 512,
      nameservices: { mycluster: ['nn1.example.internal:9870', 'nn2.example.internal:9870'] },
      datanodeAddresses: { 'dn1.internal:9864': '10.0.0.5:9864' },
    });
    expect((printableConfig(c) as { storage: { webhdfs: { delegationToken: unknown } } }).storage.webhdfs.delegationToken).toBe(`<file ${path.join(dir, 'hdfs.token')}>`);
  });

  it('defaults retries and timeouts when only the user is given, and gives nothing without a section', () => {
    const c = parseConfig(config('    user: courier\n'), { file, env: {} });
    expect(webHdfsOptionsOf(c, {}, file)).toEqual({ user: 'courier', retries: 4, retryDelayMs: 200, retryMaxDelayMs: 5000, timeoutMs: 60000, localCopyMb: 2048 });
    expect(webHdfsOptionsOf(parseConfig(PARTNERS, { file, env: {} }), {}, file)).toEqual({});
  });

  it('names a nameservice with one namenode or an address without a port', () => {
    const bad = () => parseConfig(config('    nameservices: { mycluster: ["nn1.example.internal"] }\n'), { file, env: {} });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/storage\.webhdfs\.nameservices\.mycluster(\[0\])?: .*(host:port|at least two namenodes)/);
  });
});
