// Shared pieces of the syncer tests: partner settings pointing at a stub, queued requests, dead-letter reading.
import { pino } from 'pino';
import { batchToRows, listDatasets, readDataset, type Row } from '../../../storage/index.ts';
import { requestBatchOf, type Broker, type Priority, type SyncRequest } from '../../../queue-bridge/index.ts';
import { deadLetterSchema, type PartnerStreamingSettings, type SyncerSettings } from '../../../deliverer/index.ts';

export const silentLogger = pino({ level: 'silent' });

/** A streaming partner at `<stubUrl>/<name>/sync`, JSON body, fast retries for tests. */
export function stubPartner(stubUrl: string, partnerId: number, name: string, over: Partial<PartnerStreamingSettings> = {}): PartnerStreamingSettings {
  return {
    partnerId,
    name,
    url: `${stubUrl}/${name}/sync?uid=\${PARTNER_USER_ID}`,
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"segments":${SEGMENTS},"expires":"${EXPIRES_AT}"}',
    concurrency: 8,
    rateLimitPerSecond: 100_000,
    timeoutMs: 2000,
    retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 40 },
    ...over,
  };
}

export function syncerSettings(deadLetterUri: string, over: Partial<SyncerSettings> = {}): SyncerSettings {
  return {
    workersPerPartner: 2,
    receiveBatch: 100,
    idlePollMs: 20,
    deadLetters: { uri: deadLetterUri, flushRows: 1000, flushEveryMs: 50 },
    ...over,
  };
}

/** `n` requests of one partner, ids `<partner>-<priority>-<i>`. */
export function requestsFor(partnerId: number, n: number, priority: Priority = 'normal'): SyncRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    requestId: `${partnerId}-${priority}-${i}`,
    partnerId,
    priority,
    cookieId: `ck${i}`,
    partnerUserId: `u${i}`,
    segments: [`s${i % 3}`, 'all'],
    removedSegments: [],
    syncedAt: Date.UTC(2026, 10, 23),
    expiresAt: Date.UTC(2026, 11, 23),
  }));
}

export async function enqueue(broker: Broker, requests: SyncRequest[]): Promise<void> {
  const first = requests[0]!;
  const key = { partnerId: first.partnerId, priority: first.priority };
  await broker.enqueue(key, requestBatchOf(key, requests));
}

/** Every dead letter under `root`, from complete datasets only. */
export async function readDeadLetters(root: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (const d of await listDatasets(root).catch(() => [])) {
    if (d.state !== 'complete') continue;
    for await (const batch of readDataset(d.uri)) {
      rows.push(...batchToRows(deadLetterSchema, batch).map((r) => ({ ...r, path: d.path })));
    }
  }
  return rows;
}
