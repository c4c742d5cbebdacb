// The engine runner a config asks for: engine.kind local (worker threads, engine.local options) or inline.
// The cluster engines are configured already but not runnable yet: say so rather than fall back silently.
import type { CourierConfig } from '../config/index.ts';
import { inlineRunner, localRunner, type JobRunner } from '../engine/index.ts';
import { UsageError } from './exit-codes.ts';

/** The JobRunner for `config.engine`; a usage error for engines this version cannot run. */
export function engineRunner(config: CourierConfig): JobRunner {
  const engine = config.engine;
  switch (engine.kind) {
    case 'local':
      return localRunner({
        workers: engine.local.workers,
        memoryMb: engine.local.memoryMb,
        ...(engine.local.spillDir !== undefined ? { spillDir: engine.local.spillDir } : {}),
      });
    case 'inline':
      return inlineRunner();
    case 'dataproc':
    case 'hadoop':
      throw new UsageError(`engine.kind "${engine.kind}" is not available yet in this version; set engine.kind to local (or inline) in the config`);
  }
}
