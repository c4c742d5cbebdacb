// The queue-bridge room: the brokers (embedded in-process, Redis Streams) and the bridge that feeds them from the store.
export {
  BrokerClosedError,
  type Broker,
  type DeliveryTag,
  type EnqueueResult,
  type LeasedRequest,
  type QueueStats,
  type ReceiveOptions,
} from './broker.ts';
export {
  PRIORITY_ORDER,
  queueName,
  parseQueueName,
  requestBatchOf,
  requestBatchFromColumns,
  queuedRequestSchema,
  type Priority,
  type QueueKey,
  type RequestBatch,
  type SyncRequest,
} from './sync-request.ts';
export { EmbeddedBroker, type EmbeddedBrokerOptions } from './embedded-broker.ts';
export { RedisBroker, type RedisBrokerOptions } from './redis-broker.ts';
export {
  runBridge,
  type BridgeOptions,
  type BridgeLogger,
  type BridgeResult,
  type BridgeSnapshot,
  type QueueSnapshot,
} from './queue-bridge.ts';
export { readCheckpoint, checkpointUri, type BridgeCheckpoint, type DatasetProgress, type FileProgress } from './bridge-checkpoint.ts';
export { completeRequestDays, openRequestDataset, type RequestDataset, type RequestFile } from './request-datasets.ts';
export { BridgeMetrics } from './bridge-metrics.ts';
export { serveMetrics, type MetricsEndpoint } from './metrics-endpoint.ts';
