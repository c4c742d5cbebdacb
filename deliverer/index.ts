// The deliverer room: the streaming data syncer (HTTP to partners' APIs) and its partner stand-in for demos, tests
// and benches. It consumes the queue-bridge's brokers; partners' settings arrive as plain data (see streaming-settings.ts).
export { StreamingSyncer, maxHeldFor, type DrainOptions, type StreamingSyncerOptions, type SyncSummary } from './streaming/streaming-syncer.ts';
export type { LaneCounts } from './streaming/partner-lane.ts';
export type {
  DeadLetterSettings,
  HeaderSetting,
  PartnerStreamingSettings,
  RetrySettings,
  SyncerSettings,
} from './streaming/streaming-settings.ts';
export { compileRequestTemplate, IDEMPOTENCY_HEADER, RequestBuildError, TemplateError, type BuiltRequest } from './streaming/request-template.ts';
export { deadLetterSchema, type DeadLetter } from './streaming/dead-letter-store.ts';
export { SyncerMetrics } from './streaming/syncer-metrics.ts';
export {
  checkBehaviour,
  DEFAULT_STUB_BEHAVIOUR,
  startPartnerStub,
  type PartnerStub,
  type PartnerStubOptions,
  type StubBehaviour,
  type StubPartnerStats,
} from './streaming/partner-stub.ts';
