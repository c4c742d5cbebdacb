/**
 * Which data sync requests one cookie gets, given its cookie-sync store entries and its segments today and in
 * the previous snapshot. Pure (no I/O, no clock): the refresher's reducer calls it once per cookie, and tests
 * call it directly. The policy is documented in docs/refresher.md.
 */
import { dayStartMs, expiryTimestamp, isRefreshDue, mapSegments, requestId, segmentChanges } from '../../udfs/index.ts';
import type { RefresherParams, RefresherPartner, RequestPriority } from './refresher-params.ts';

/** One (cookie, partner) entry of the cookie-sync store. */
export interface StoreEntry {
  readonly partnerId: number;
  readonly partnerUserId: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

/** A data sync request row (dataSyncRequestSchema), lists as plain arrays. */
export type PlannedRequest = {
  request_id: string;
  partner_id: number;
  priority: RequestPriority;
  cookie_id: string;
  partner_user_id: string;
  segments: string[];
  removed_segments: string[];
  synced_at: number;
  expires_at: number;
};

/** Why a (cookie, partner) pair got a request, or did not; the refresher counts these. */
export type RequestOutcome =
  /** First seen with the partner on the run date: its full set of codes. */
  | 'new-sync'
  /** Known, and its codes for the partner changed since the previous snapshot. */
  | 'changed'
  /** Known, unchanged, and due for the rolling refresh today. */
  | 'rota-refresh'
  /** Known, unchanged and not due today. */
  | 'skipped-unchanged'
  /** Would be sent but has no codes and nothing removed. */
  | 'skipped-nothing-to-send'
  /** A sync with a partner the run has no parameters for. */
  | 'skipped-unconfigured-partner';

/** Decides requests for one cookie at a time under one run's parameters. */
export class RequestPlanner {
  private readonly partners: ReadonlyMap<number, RefresherPartner>;
  private readonly expiresAt: ReadonlyMap<number, number>;
  private readonly dayStart: number;

  constructor(private readonly params: RefresherParams) {
    this.partners = new Map(params.partners.map((p) => [p.id, p]));
    this.expiresAt = new Map(params.partners.map((p) => [p.id, expiryTimestamp(params.date, p.expiryDays)]));
    this.dayStart = dayStartMs(params.date);
  }

  /**
   * The requests of `cookieId`. `segments` are our segment ids today (null: the cookie is not in today's
   * snapshot); `previous` those of the previous snapshot (null: not in it). Without a previous snapshot
   * at all (`previousSegmentsDate` null) nothing counts as changed, so known cookies go out by the rota only.
   */
  plan(
    cookieId: string,
    entries: readonly StoreEntry[],
    segments: ArrayLike<number> | null,
    previous: ArrayLike<number> | null,
    outcome: (o: RequestOutcome) => void,
  ): PlannedRequest[] {
    const out: PlannedRequest[] = [];
    const hasSnapshot = this.params.previousSegmentsDate !== null;
    let due: boolean | undefined;
    for (const e of entries) {
      const partner = this.partners.get(e.partnerId);
      if (!partner) {
        outcome('skipped-unconfigured-partner');
        continue;
      }
      const codes = mapSegments(segments ?? [], partner.segmentMap);
      const isNew = e.firstSeen >= this.dayStart;
      let kind: RequestOutcome;
      let send = codes;
      let removed: string[] = [];
      if (isNew) {
        kind = 'new-sync';
      } else {
        const changes = hasSnapshot ? segmentChanges(mapSegments(previous ?? [], partner.segmentMap), codes) : { added: [], removed: [] };
        const changed = changes.added.length > 0 || changes.removed.length > 0;
        if (changed) kind = 'changed';
        else if ((due ??= isRefreshDue(cookieId, this.params.date, this.params.refreshEveryDays))) kind = 'rota-refresh';
        else {
          outcome('skipped-unchanged');
          continue;
        }
        if (partner.deltas) {
          // A change sends what was added; a rota refresh re-asserts the whole set so the partner's expiry is
          // extended. Either way the removals since the previous snapshot go along.
          send = kind === 'changed' ? changes.added : codes;
          removed = changes.removed;
        }
      }
      if (send.length === 0 && removed.length === 0) {
        outcome('skipped-nothing-to-send');
        continue;
      }
      outcome(kind);
      out.push({
        request_id: requestId(this.params.date, e.partnerId, cookieId),
        partner_id: e.partnerId,
        priority: isNew ? partner.priority.newSync : partner.priority.refresh,
        cookie_id: cookieId,
        partner_user_id: e.partnerUserId,
        segments: send,
        removed_segments: removed,
        synced_at: e.lastSeen,
        expires_at: this.expiresAt.get(e.partnerId)!,
      });
    }
    return out;
  }
}
