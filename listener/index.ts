// The impression-bus listener: keep-alive HTTP answering the bus's bid requests from an in-memory segment
// snapshot, log-level records through an off-heap ring to daily gzip files. See docs/listener.md.
export { BidUri, BID_MACROS, MAX_USER_ID_LENGTH, type BidMacro, type BidProblem, type BidRequest } from './bid-uri.ts';
export { hashUserId, userKey, userKeyHex } from './user-id-hash.ts';
export { EMPTY_ANSWER, encodeSnapshot, SegmentSnapshot, SnapshotFormatError, SNAPSHOT_MAGIC, type SnapshotTableInput } from './segment-snapshot.ts';
export { sortByKey, lowerBound, KeyedValueList, type KeyedValues } from './key-sort.ts';
export { buildSegmentSnapshot, type SnapshotBuildSettings, type SnapshotBuildSummary } from './snapshot-builder.ts';
export { latestCompleteDay, SNAPSHOT_FILE } from './snapshot-datasets.ts';
export { loadSnapshot, SnapshotWatcher, type SnapshotEvents, type SnapshotSource } from './snapshot-loader.ts';
export { LogRing, drainRing, ringCapacity, OUTCOMES, type LogRecord, type Outcome } from './log-ring.ts';
export { LogWriter, type LogWriterSettings } from './log-writer.ts';
export { ListenerMetrics } from './listener-metrics.ts';
export { startListener, type RunningListener } from './listener-server.ts';
export type { ListenerClusterSettings, ListenerSettings } from './listener-settings.ts';
export { runListenerCluster, SETTINGS_ENV, type ListenerCluster } from './listener-cluster.ts';
