// `courier bundle`: the stage bundles a cluster runs (one self-contained JS file per job, docs/cluster.md).
import * as path from 'node:path';
import { buildStageBundle, stageBundleName, type Job } from '../../engine/index.ts';
import { batchFormatterJob } from '../../jobs/batch-formatter/index.ts';
import { refresherJob } from '../../jobs/refresher/index.ts';
import type { RegisterCommands } from '../cli-context.ts';

/** The jobs Courier's workflows run, whose bundles go to a cluster. */
const BUNDLED_JOBS: readonly Job[] = [refresherJob, batchFormatterJob];

/** Registers `courier bundle [--out dir]`. */
export const registerBundleCommand: RegisterCommands = (program, context) => {
  program
    .command('bundle')
    .description('build each job into one self-contained stage bundle (node <job>.stage.js map|combine|reduce …) for a cluster')
    .option('--out <dir>', 'directory to write the bundles to', 'dist/stages')
    .option('--minify', 'minify the bundles (smaller uploads; stacks still map to the sources with node --enable-source-maps)', false)
    .action(async (options: { out: string; minify: boolean }) => {
      const ctx = context();
      const out = path.resolve(options.out);
      const built: { job: string; file: string; bytes: number }[] = [];
      for (const job of BUNDLED_JOBS) {
        if (!job.source) throw new Error(`job ${job.name} has no source, so it cannot be bundled`);
        const b = await buildStageBundle(job.source, path.join(out, stageBundleName(job.name)), { minify: options.minify });
        built.push({ job: job.name, ...b });
      }
      ctx.print({ out, bundles: built }, () => built.map((b) => `${b.file}  ${(b.bytes / 1024).toFixed(0)} KiB  (node ${path.basename(b.file)} describe --params '{...}')`).join('\n') + '\n');
    });
};
