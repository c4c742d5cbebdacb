// The file deliverer's public face: deliver the batch formatter's files to partners over SFTP (or into a local
// directory), atomically, recorded in a ledger in the store; once or as a watching daemon.
export { deliverBatches, watchBatches, type DeliveryReport, type DeliveredDataset, type PendingDataset, type WatchOptions } from './file-deliverer.ts';
export { type DelivererOptions, type DeliveryRetry, type DeliveryTarget, type FilePartner, type SftpSettings } from './delivery-settings.ts';
export { SecretValue } from './secret-value.ts';
export { type DeliveryErrorKind } from './delivery-error.ts';
export { DeliveryLedger, type LedgerEntry, type LedgerFile, type FileDeliveryState, type DeliveredHow } from './delivery-ledger.ts';
export { type BatchDataset, type DiscoveryProblem } from './batch-discovery.ts';
export { DelivererMetrics } from './deliverer-metrics.ts';
