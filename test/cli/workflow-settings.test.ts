import { describe, expect, it } from 'vitest';
import { exampleConfigPath, loadConfig } from '../../config/index.ts';
import { workflowSettings } from '../../cli/workflow-settings.ts';

describe('workflow settings from the config', () => {
  it('builds requests for streaming and batch partners only (a realtime partner reads the listener snapshot)', async () => {
    const config = await loadConfig(exampleConfigPath, { env: {} });
    expect(config.partners.map((p) => [p.id, p.delivery])).toEqual([
      [17, 'streaming'],
      [42, 'batch'],
      [50, 'realtime'],
    ]);
    const settings = workflowSettings(config);
    expect(settings.refresherPartners.map((p) => p.id)).toEqual([17, 42]);
    expect(settings.batchPartners.map((p) => p.name)).toEqual(['globex-dmp']);
    expect(settings).toMatchObject({ storeMaxAgeDays: 90, refreshEveryDays: 7, maxBadRecordRate: 0.001 });
  });
});
