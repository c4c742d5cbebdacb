import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inlineRunner, JobError } from '../../../engine/index.ts';
import { latestCompleteBefore, refresherDatasets, refresherParamsSchema, RequestPlanner, runRefresher, type RequestOutcome, type StoreEntry } from '../../../jobs/refresher/index.ts';
import { toStorageUri } from '../../../storage/index.ts';
import { requestId } from '../../../udfs/index.ts';
import { cookieNamed, writeSegmentDay } from './refresher-fixtures.ts';

const DATE = '2026-11-23';
const DAY = Date.parse(`${DATE}T00:00:00Z`);
const known: StoreEntry = { partnerId: 17, partnerUserId: 'U17', firstSeen: DAY - 5 * 86_400_000, lastSeen: DAY - 86_400_000 };
const fresh: StoreEntry = { partnerId: 17, partnerUserId: 'U17', firstSeen: DAY + 3_600_000, lastSeen: DAY + 7_200_000 };

function planner(over: Record<string, unknown> = {}, partner: Record<string, unknown> = {}) {
  return new RequestPlanner(
    refresherParamsSchema.parse({
      date: DATE,
      partners: [{ id: 17, segmentMap: { '1': 'one', '2': 'two', '3': 'three' }, ...partner }],
      previousSegmentsDate: '2026-11-22',
      ...over,
    }),
  );
}

function plan(p: RequestPlanner, cookie: string, entries: StoreEntry[], today: number[] | null, before: number[] | null) {
  const outcomes: RequestOutcome[] = [];
  const rows = p.plan(cookie, entries, today, before, (o) => outcomes.push(o));
  return { rows, outcomes };
}

const idle = cookieNamed('idle', { date: DATE, everyDays: 7, due: false });
const rota = cookieNamed('rota', { date: DATE, everyDays: 7, due: true });

describe('RequestPlanner', () => {
  it('sends a new sync its full set at newSync priority, with the request id, expiry and synced_at', () => {
    const { rows, outcomes } = plan(planner(), idle, [fresh], [3, 1, 9], null);
    expect(outcomes).toEqual(['new-sync']);
    expect(rows).toEqual([
      {
        request_id: requestId(DATE, 17, idle),
        partner_id: 17,
        priority: 'high',
        cookie_id: idle,
        partner_user_id: 'U17',
        segments: ['one', 'three'],
        removed_segments: [],
        synced_at: fresh.lastSeen,
        expires_at: DAY + 30 * 86_400_000,
      },
    ]);
  });

  it('uses the configured priorities', () => {
    const p = planner({}, { priority: { newSync: 'normal', refresh: 'high' } });
    expect(plan(p, idle, [fresh], [1], null).rows[0]!.priority).toBe('normal');
    expect(plan(p, idle, [known], [1, 2], [1]).rows[0]!.priority).toBe('high');
  });

  it('re-sends a known cookie when its codes changed or the rota is due, else skips it', () => {
    expect(plan(planner(), idle, [known], [1, 2], [1]).outcomes).toEqual(['changed']);
    expect(plan(planner(), idle, [known], [1, 9], [1]).outcomes).toEqual(['skipped-unchanged']); // 9 is unmapped: no change for the partner
    expect(plan(planner(), rota, [known], [1], [1]).outcomes).toEqual(['rota-refresh']);
    expect(plan(planner(), rota, [known], [1], [1]).rows[0]).toMatchObject({ priority: 'normal', segments: ['one'] });
  });

  it('without a previous snapshot, known cookies go out by the rota only', () => {
    const p = planner({ previousSegmentsDate: null });
    expect(plan(p, idle, [known], [1, 2], null).outcomes).toEqual(['skipped-unchanged']);
    expect(plan(p, rota, [known], [1, 2], null).rows[0]).toMatchObject({ segments: ['one', 'two'], removed_segments: [] });
  });

  it('deltas: a change sends added and removed codes; a cookie gone from the snapshot sends removals only', () => {
    const p = planner({}, { deltas: true });
    expect(plan(p, idle, [known], [2, 3], [1, 2]).rows[0]).toMatchObject({ segments: ['three'], removed_segments: ['one'] });
    expect(plan(p, idle, [known], null, [1, 2]).rows[0]).toMatchObject({ segments: [], removed_segments: ['one', 'two'] });
    expect(plan(p, idle, [fresh], [2, 3], [1, 2]).rows[0]).toMatchObject({ segments: ['three', 'two'], removed_segments: [] });
  });

  it('full-set partners: a known cookie whose codes all went has nothing to send', () => {
    expect(plan(planner(), idle, [known], null, [1, 2]).outcomes).toEqual(['skipped-nothing-to-send']);
    expect(plan(planner(), idle, [fresh], [9], null).outcomes).toEqual(['skipped-nothing-to-send']);
  });

  it('skips syncs with partners it has no parameters for', () => {
    const { rows, outcomes } = plan(planner(), idle, [{ ...fresh, partnerId: 99 }, fresh], [1], null);
    expect(outcomes).toEqual(['skipped-unconfigured-partner', 'new-sync']);
    expect(rows.map((r) => r.partner_id)).toEqual([17]);
  });
});

describe('refresher parameters', () => {
  it('fills defaults', () => {
    expect(refresherParamsSchema.parse({ date: DATE, partners: [{ id: 17, segmentMap: { '1': 'x' } }] })).toEqual({
      date: DATE,
      partners: [{ id: 17, segmentMap: { '1': 'x' }, expiryDays: 30, priority: { newSync: 'high', refresh: 'normal' }, deltas: false }],
      storeMaxAgeDays: 90,
      refreshEveryDays: 7,
      previousStoreDate: null,
      previousSegmentsDate: null,
    });
  });

  it('refuses bad parameters naming the field', () => {
    const bad = (over: Record<string, unknown>) => () => refresherParamsSchema.parse({ date: DATE, partners: [{ id: 17, segmentMap: { '1': 'x' } }], ...over });
    expect(bad({ date: '2026-02-30' })).toThrow(/date[\s\S]*calendar day/);
    expect(bad({ partners: [] })).toThrow(/partners/);
    expect(bad({ partners: [{ id: 17, segmentMap: { abc: 'x' } }] })).toThrow(/our segment id/);
    expect(bad({ partners: [{ id: 17, segmentMap: {} }, { id: 17, segmentMap: {} }] })).toThrow(/duplicate partner id 17/);
    expect(bad({ partners: [{ id: 17, segmentMap: {}, priority: { newSync: 'urgent' } }] })).toThrow(/newSync/);
    expect(bad({ refreshEveryDays: 0 })).toThrow(/refreshEveryDays/);
    expect(bad({ previousStoreDate: DATE })).toThrow(/2026-11-23 is not before the run date 2026-11-23/);
    expect(bad({ extra: 1 })).toThrow(/extra/);
  });

  it('a run with bad parameters fails before reading anything, listing each problem at its field', async () => {
    const err = await runRefresher(inlineRunner(), {
      storageRoot: toStorageUri(os.tmpdir()),
      date: '2026-11-23',
      partners: [{ id: 17, segmentMap: { x: 'a' }, priority: { newSync: 'urgent' as 'high' } }],
      refreshEveryDays: 0,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    const message = (err as Error).message;
    expect(message).toMatch(/^job "refresher": invalid parameters:/);
    expect(message).toMatch(/→ at partners\[0\]\.segmentMap\.x/);
    expect(message).toMatch(/→ at partners\[0\]\.priority\.newSync/);
    expect(message).toMatch(/→ at refreshEveryDays/);
  });
});

describe('refresher datasets', () => {
  it('names inputs and outputs by date', () => {
    expect(refresherDatasets(DATE)).toEqual({
      inputs: { logs: 'logs/dt=2026-11-23', segments: 'segments/dt=2026-11-23' },
      outputs: { store: 'cookie-sync-store/dt=2026-11-23', requests: 'requests/dt=2026-11-23' },
      previous: { store: 'cookie-sync-store', segments: 'segments' },
    });
  });

  it('latestCompleteBefore finds the latest complete earlier day, passing over incomplete ones', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-previous-'));
    try {
      const root = toStorageUri(dir);
      expect(await latestCompleteBefore(root, 'segments', DATE)).toBeNull();
      for (const d of ['2026-11-18', '2026-11-20', '2026-11-23', '2026-11-25']) await writeSegmentDay(root, d, []);
      await fs.mkdir(path.join(dir, 'segments', 'dt=2026-11-22')); // a failed write: no marker
      await fs.mkdir(path.join(dir, 'segments', 'not-a-day'));
      expect(await latestCompleteBefore(root, 'segments', DATE)).toBe('2026-11-20');
      expect(await latestCompleteBefore(root, 'segments', '2026-11-20')).toBe('2026-11-18');
      expect(await latestCompleteBefore(root, 'segments', '2026-11-18')).toBeNull();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
