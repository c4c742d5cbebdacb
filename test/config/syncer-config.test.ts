import { describe, expect, it } from 'vitest';
import { exampleConfigPath, loadConfig } from '../../config/index.ts';
import { sectionFixtures } from './config-fixtures.ts';

const { parse, problems } = sectionFixtures('syncer-test');

describe('syncer config', () => {
  it('has defaults for every key but the metrics port', () => {
    expect(parse('').syncer).toEqual({
      workersPerPartner: 2,
      receiveBatch: 500,
      idlePollMs: 500,
      deadLetters: { dataset: 'dead-letters', flushRows: 1000, flushEveryMs: 5000 },
      metricsHost: '127.0.0.1',
    });
  });

  it('takes its settings', () => {
    const { syncer } = parse('syncer:\n  workersPerPartner: 4\n  maxHeldPerPartner: 100\n  metricsPort: 9464\n  deadLetters:\n    flushRows: 10');
    expect(syncer).toMatchObject({ workersPerPartner: 4, maxHeldPerPartner: 100, metricsPort: 9464, deadLetters: { flushRows: 10, flushEveryMs: 5000 } });
  });

  it('names bad values, unknown keys, and a dead-letter flush slower than half the lease', () => {
    const found = problems('syncer:\n  workersPerPartner: 0\n  metricsPort: 70000\n  deadLetter: {}');
    expect(found.map((p) => p.path).sort()).toEqual(['syncer.deadLetter', 'syncer.metricsPort', 'syncer.workersPerPartner']);
    expect(found.find((p) => p.path === 'syncer.deadLetter')?.message).toMatch(/unknown key "deadLetter" \(did you mean "deadLetters"\?\)/);
    const slow = problems('queue:\n  visibilityTimeoutMs: 4000\nsyncer:\n  deadLetters:\n    flushEveryMs: 3000');
    expect(slow).toEqual([
      {
        path: 'syncer.deadLetters.flushEveryMs',
        message: expect.stringMatching(/above half of queue.visibilityTimeoutMs 4000/),
      },
    ]);
  });

  it('documents the section in the shipped example', async () => {
    const config = await loadConfig(exampleConfigPath, { env: {} });
    expect(config.syncer.workersPerPartner).toBe(2);
    expect(config.syncer.deadLetters.dataset).toBe('dead-letters');
  });
});
