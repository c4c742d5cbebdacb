// The storage room: file systems over URIs, datasets with _SUCCESS markers, Parquet record I/O.
export { StorageError } from './storage-error.ts';
export { schemeOf, toStorageUri, joinUri, baseName, parentUri, localPath, type StorageScheme } from './storage-uri.ts';
export {
  defineSchema,
  allocateColumn,
  checkBatch,
  rowsToBatch,
  batchToRows,
  projectSchema,
  type FieldType,
  type FieldSpec,
  type RecordSchema,
  type ColumnBatch,
  type ColumnValues,
  type ColumnOf,
  type Row,
} from './record-schema.ts';
export { configureDuckDb, setDuckDbMemory } from './duckdb-room.ts';
export { writeParquetFile, sqlTypeOf, type ParquetCompression, type ParquetWriteOptions, type ParquetWriteResult } from './parquet-writer.ts';
export { readParquetFile, readParquetSchema, countParquetRows, type ParquetReadOptions } from './parquet-reader.ts';
export { takeRows, concatBatches, sliceRows } from './record-schema.ts';
export { fileSystemFor, type FileSystem, type FileEntry, type WrittenFile, type WriteSource, type ReadRange, type LocalWrite } from './file-system.ts';
export { configureWebHdfs, WEBHDFS_OPTIONS_ENV, type WebHdfsOptions } from './webhdfs-options.ts';
export { WebHdfsFileSystem, type ContentSummary, type RetryEvent, type WebHdfsFileSystemOptions } from './webhdfs-file-system.ts';
export {
  partitionKeys,
  partitionDir,
  parsePartitionPath,
  encodePartitionValue,
  datedDatasetPath,
  type PartitionKey,
  type PartitionSpec,
} from './dataset-partitions.ts';
export { MARKER_NAME, readMarker, isComplete, markerChecksum, type DatasetMarker, type MarkerFile } from './success-marker.ts';
export { DatasetStaging, type StagingOptions } from './dataset-staging.ts';
export { writeDataset, type DatasetWriteOptions } from './dataset-writer.ts';
export {
  readDataset,
  readDatasetFile,
  datasetFiles,
  listDatasetFiles,
  checkListedFile,
  markerSchema,
  type DatasetFile,
  type DatasetReadOptions,
} from './dataset-reader.ts';
export { readLineFile, type LineBatch } from './line-file-reader.ts';
export { listDatasets, type DatasetListing } from './dataset-listing.ts';
export { lockStoreArea, type StoreLock, type StoreLockOptions } from './store-lock.ts';
