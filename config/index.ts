// The config room's public face: load and validate job configs, their types, the JSON Schema, secret resolution.
export { ConfigError, formatConfigError, type ConfigProblem } from './config-error.ts';
export { DEFAULT_CONFIG_FILE, exampleConfigPath, findConfigFile } from './find-config-file.ts';
export { formatFieldPath } from './field-path.ts';
export { courierJsonSchema, renderCourierJsonSchema } from './json-schema.ts';
export { loadConfig, parseConfig, type LoadConfigOptions } from './load-config.ts';
export { printableConfig, printableConfigYaml } from './printable-config.ts';
export {
  BATCH_FIELDS,
  courierConfigSchema,
  DEFAULT_FILE_NAME_PATTERN,
  DEFAULT_STORAGE_ROOT,
  DELIVERY_MODES,
  ENGINE_KINDS,
  EXPIRY_FORMATS,
  HTTP_METHODS,
  LISTENER_MACROS,
  PRIORITIES,
  type BatchConfig,
  type BatchField,
  type BatchTemplateConfig,
  type CourierConfig,
  type CourierConfigInput,
  type DataprocEngineConfig,
  type DeliveryMode,
  type EngineConfig,
  type EngineKind,
  type ExtraFieldConfig,
  type SparkSubmitEngineConfig,
  type HeaderValue,
  type ListenerConfig,
  type LocalEngineConfig,
  type PartnerConfig,
  type RefresherConfig,
  type QueueConfig,
  type Priority,
  type RetryConfig,
  type SftpConfig,
  type StorageConfig,
  type StreamingConfig,
  type SyncerConfig,
  type StatusConfig,
  METRICS_PROCESSES,
} from './schema.ts';
export { describeSecret, isSecretRef, resolveSecret, type SecretRef } from './secrets.ts';
export { STORAGE_SCHEMES } from './storage-uri.ts';
export { FILE_NAME_MACROS, HEADER_LINE_MACROS, macrosIn, STREAMING_MACROS } from './template-macros.ts';
