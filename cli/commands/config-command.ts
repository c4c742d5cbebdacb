// `courier config ...`: validate the job config and publish its schema.
import { courierJsonSchema, printableConfig, printableConfigYaml, renderCourierJsonSchema } from '../../config/index.ts';
import type { RegisterCommands } from '../cli-context.ts';

/** Registers `courier config check` and `courier config schema`. */
export const registerConfigCommands: RegisterCommands = (program, context) => {
  const config = program
    .command('config')
    .description('check the job config, print its JSON Schema')
    .addHelpText('after', '\nThe config is --config <file>, else ./courier.yaml, else config/courier.example.yaml.');

  config
    .command('check')
    .description('validate the job config; print it resolved (defaults filled, secrets hidden) or every problem with its line')
    .action(async () => {
      const ctx = context();
      const { file, config: resolved } = await ctx.loadConfig();
      ctx.print(
        { ok: true, file, config: printableConfig(resolved) },
        () => `# ${file}: valid. Defaults filled in, paths resolved, secrets shown by source.\n${printableConfigYaml(resolved)}`,
      );
    });

  config
    .command('schema')
    .description('print the JSON Schema of the job config (editor completion, other tools)')
    .action(() => {
      context().print(courierJsonSchema(), renderCourierJsonSchema);
    });
};
