// Small pure functions the jobs and templates call. No I/O.
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
