// Request datasets for bridge tests, written with the refresher's own schema so the bridge reads the real contract.
import { dataSyncRequestSchema } from '../../jobs/refresher/data-sync-request.ts';
import { joinUri, rowsToBatch, writeDataset, type Row } from '../../storage/index.ts';
import type { Priority } from '../../queue-bridge/index.ts';

/** One queue's rows in a fixture dataset. */
export interface QueueRows {
  partnerId: number;
  priority: Priority;
  count: number;
}

/** The request id of row `i` of a queue on a day: every row's id is unique across days and queues. */
export function requestIdOf(day: string, partnerId: number, priority: Priority, i: number): string {
  return `${day}.${partnerId}.${priority}.${i}`;
}

/** Writes `<root>/requests/dt=<day>` with the given rows per queue; returns every request id written. */
export async function writeRequests(root: string, day: string, queues: readonly QueueRows[], rowsPerFile = 1_000_000): Promise<string[]> {
  const rows: Row[] = [];
  for (const q of queues) {
    for (let i = 0; i < q.count; i++) {
      rows.push({
        request_id: requestIdOf(day, q.partnerId, q.priority, i),
        partner_id: q.partnerId,
        priority: q.priority,
        cookie_id: `c${i}`,
        partner_user_id: `u${i}`,
        segments: i % 2 ? ['s1', 's2'] : ['s3'],
        removed_segments: [],
        synced_at: 1_795_000_000_000 + i,
        expires_at: 1_797_000_000_000,
      });
    }
  }
  await writeDataset(joinUri(root, 'requests', day), dataSyncRequestSchema, [rowsToBatch(dataSyncRequestSchema, rows)], {
    partitionBy: [{ column: 'partner_id', as: 'partner' }, 'priority'],
    rowsPerFile,
  });
  return rows.map((r) => r['request_id'] as string);
}
