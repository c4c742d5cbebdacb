// `courier datasets`: what is under the storage root, complete or not.
import { listDatasets, toStorageUri, joinUri, type DatasetListing } from '../../storage/index.ts';
import type { RegisterCommands } from '../cli-context.ts';

function line(d: DatasetListing): string {
  switch (d.state) {
    case 'complete':
      return `complete     ${d.path}  ${d.rows} rows in ${d.files} files, ${((d.bytes ?? 0) / 1e6).toFixed(1)} MB, written ${d.writtenAt}`;
    case 'incomplete':
      return `INCOMPLETE   ${d.path}  ${d.files} files, no _SUCCESS marker (running, or failed: re-run its stage)`;
    case 'staging-leftover':
      return `LEFTOVER     ${d.path}  staging of a killed write; safe to delete`;
    case 'damaged':
      return `DAMAGED      ${d.path}  ${d.problem}`;
  }
}

/** Registers `courier datasets [path]`. */
export const registerDatasetsCommands: RegisterCommands = (program, context) => {
  program
    .command('datasets')
    .description('list datasets under the storage root (or a path below it): complete with rows and files, or incomplete')
    .argument('[path]', 'a path below the storage root, or a path/URI of its own')
    .action(async (sub: string | undefined) => {
      const ctx = context();
      let root: string;
      if (sub && (/^[a-z]+:\/\//.test(sub) || sub.startsWith('/') || sub.startsWith('.'))) root = toStorageUri(sub);
      else root = joinUri((await ctx.loadConfig()).config.storage.root, sub ?? '');
      const list = await listDatasets(root);
      ctx.print({ root, datasets: list }, () => (list.length ? list.map(line).join('\n') : `no datasets under ${root}`) + '\n');
    });
};
