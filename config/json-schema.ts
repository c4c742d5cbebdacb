// The JSON Schema of the job config, for editor completion and hovers (yaml-language-server) and for other tools.
import { z } from 'zod';
import { courierConfigSchema, localWorkersField } from './schema.ts';

/** The JSON Schema (draft-07, the input side: defaulted keys optional) of a Courier job config. */
export function courierJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(courierConfigSchema, {
    // draft-07 is what editors' YAML plugins understand best.
    target: 'draft-07',
    io: 'input',
    override: (ctx) => {
      // Its default is this machine's core count: keep it out so the generated file is the same on every machine.
      if (ctx.zodSchema === localWorkersField) delete ctx.jsonSchema.default;
    },
  });
  const { $schema, ...rest } = schema;
  return {
    $schema,
    $comment: 'Generated from config/schema.ts by `npm run schema`; do not edit by hand.',
    title: 'Courier job config',
    ...rest,
  };
}

/** The schema file's exact text: what `npm run schema` writes to config/courier.schema.json. */
export function renderCourierJsonSchema(): string {
  return `${JSON.stringify(courierJsonSchema(), null, 2)}\n`;
}
