import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleConfigPath, loadConfig, parseConfig } from '../../config/index.ts';
import { MINIMAL_YAML, problemsOf } from './config-fixtures.ts';

const XANDR = `  - id: 50
    name: xandr
    delivery: realtime
    segmentMap:
      1001: "4412001"
`;
const dir = '/tmp/courier-test';
const parse = (yaml: string) => parseConfig(`${yaml}\n${MINIMAL_YAML}${XANDR}`, { file: path.join(dir, 'courier.yaml'), env: {} });
const problems = (yaml: string) => problemsOf(`${yaml}\n${MINIMAL_YAML}${XANDR}`).map((p) => ({ field: p.field, message: p.message }));

describe('listener config', () => {
  it('is optional, and takes defaults tuned for the bus with the log directory resolved', () => {
    expect(parse('').listener).toBeUndefined();
    const { listener } = parse('listener:\n  partnerId: 50');
    expect(listener).toEqual({
      partnerId: 50,
      host: '0.0.0.0',
      port: 8090,
      readyPath: '/ready',
      bidUri: '/segments?uid=${USER_ID}&region=${REGION}',
      keepAliveTimeoutMs: 150_000,
      headersTimeoutMs: 5000,
      maxHeaderBytes: 8192,
      snapshotDataset: 'listener-snapshot',
      pollMs: 30_000,
      logDir: path.join(dir, '.courier/listener-logs'),
      logBufferMb: 64,
      logFlushMs: 250,
      metricsHost: '127.0.0.1',
    });
  });

  it('names a partner that is missing or not realtime', () => {
    expect(problems('listener:\n  partnerId: 7')).toEqual([
      { field: 'listener.partnerId', message: expect.stringMatching(/no partner has id 7/) },
    ]);
    expect(problems('listener:\n  partnerId: 1')).toEqual([
      { field: 'listener.partnerId', message: expect.stringMatching(/partner 1 has delivery "streaming".*delivery: realtime/) },
    ]);
  });

  it('checks the bid URI macros, the user id parameter, the keep-alive floor and the paths, all at once', () => {
    const found = problems(
      'listener:\n  partnerId: 50\n  bidUri: /seg?uid=${USER}&r=${REGION}\n  keepAliveTimeoutMs: 5000\n  readyPath: ready',
    );
    expect(found.map((p) => p.field).sort()).toEqual(['listener.bidUri', 'listener.bidUri', 'listener.keepAliveTimeoutMs', 'listener.readyPath']);
    expect(found.find((p) => p.field === 'listener.bidUri')?.message).toMatch(/unknown macro \$\{USER\} \(did you mean \$\{USER_ID\}\?\)/);
    expect(found.filter((p) => p.field === 'listener.bidUri')[1]?.message).toMatch(/needs a query parameter carrying the user id/);
    expect(problems('listener:\n  partnerId: 50\n  readyPath: /segments')[0]).toEqual({
      field: 'listener.readyPath',
      message: expect.stringMatching(/equals the path of bidUri/),
    });
  });

  it('documents the section and the realtime partner in the shipped example', async () => {
    const config = await loadConfig(exampleConfigPath, { env: {} });
    expect(config.listener?.partnerId).toBe(50);
    expect(config.partners.find((p) => p.id === 50)).toMatchObject({ name: 'xandr', delivery: 'realtime' });
    expect(config.listener?.logDir).toBe(path.resolve(path.dirname(exampleConfigPath), '../.courier/listener-logs'));
  });
});
