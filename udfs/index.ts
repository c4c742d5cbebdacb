// Small pure functions the jobs and templates call: log line parsing, id normalisation, segment mapping,
// day arithmetic and expiry, template field formatters. No I/O.
export { seededRandom, type SeededRandom } from './seeded-random.ts';
export {
  formatLogTimestamp,
  formatSyncTarget,
  formatWebappLogLine,
  isWellFormedCookieId,
  MALFORMED_REASONS,
  MAX_PARTNER_USER_ID_LENGTH,
  parseLogTimestamp,
  parseWebappLogLine,
  SYNC_PATH,
  WEBAPP_LOG_FIELDS,
  type MalformedReason,
  type WebappLogFields,
  type WebappLogRecord,
  type WebappSyncRecord,
} from './webapp-log-line.ts';
export { normaliseCookieId, normalisePartnerUserId, requestId, ID_REJECT_REASONS, type IdCheck, type IdRejectReason } from './sync-ids.ts';
export { mapSegments, segmentChanges, type SegmentMap } from './segment-codes.ts';
export { DAY_MS, dayStartMs, dayNumber, addDays, expiryTimestamp } from './logical-date.ts';
export { refreshSlot, isRefreshDue } from './refresh-rota.ts';
export { formatExpiry, joinList, FieldFormatError, EXPIRY_FORMATS, type ExpiryFormat } from './field-formatters.ts';
