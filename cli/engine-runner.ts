// The engine runner a config asks for (or `--engine` overrides): local (worker threads, engine.local options),
// inline, streaming (stage bundles as child processes), or a cluster engine whose config section must be present.
import type { CourierConfig, EngineKind } from '../config/index.ts';
import { dataprocRunner, inlineRunner, localRunner, sparkSubmitRunner, streamingRunner, type JobRunner } from '../engine/index.ts';
import { toStorageUri } from '../storage/index.ts';
import { dataprocClientOptions } from './dataproc-endpoint.ts';
import { UsageError } from './exit-codes.ts';

/** The JobRunner for `config.engine` (or `kind`); a usage error naming the missing config section. */
export function engineRunner(config: CourierConfig, configFile: string, kind: EngineKind = config.engine.kind): JobRunner {
  const engine = config.engine;
  switch (kind) {
    case 'local':
      return localRunner({
        workers: engine.local.workers,
        memoryMb: engine.local.memoryMb,
        ...(engine.local.spillDir !== undefined ? { spillDir: engine.local.spillDir } : {}),
      });
    case 'inline':
      return inlineRunner();
    case 'streaming':
      return streamingRunner({ workers: engine.local.workers });
    case 'spark-submit': {
      const sparkSubmit = engine.sparkSubmit;
      if (!sparkSubmit) throw new UsageError(`--engine spark-submit needs an engine.sparkSubmit section in ${configFile} (gateway, stagingUri); see docs/mini-cluster.md`);
      return sparkSubmitRunner({
        gateway: sparkSubmit.gateway,
        stagingUri: sparkSubmit.stagingUri,
        hadoopStreamingJar: sparkSubmit.hadoopStreamingJar,
        node: sparkSubmit.node,
        reducers: engine.local.workers,
      });
    }
    case 'dataproc': {
      const d = engine.dataproc;
      if (!d) throw new UsageError(`--engine dataproc needs an engine.dataproc section in ${configFile} (projectId, region, clusterName, storageUri, stagingUri); see docs/dataproc.md`);
      try {
        return dataprocRunner({
          projectId: d.projectId,
          region: d.region,
          clusterName: d.clusterName,
          ...(d.clusterLabels ? { clusterLabels: d.clusterLabels } : {}),
          ...(d.managedCluster ? { managedCluster: d.managedCluster } : {}),
          storageRoot: toStorageUri(config.storage.root),
          ...(d.storageUri !== undefined ? { storageUri: d.storageUri } : {}),
          stagingUri: d.stagingUri,
          nodeVersion: d.nodeVersion,
          reducers: d.reducers,
          ...(d.sparkProperties ? { sparkProperties: d.sparkProperties } : {}),
          pollMs: d.pollSeconds * 1000,
          configFile,
          ...dataprocClientOptions(),
        });
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
  }
}
