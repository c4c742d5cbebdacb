// `npm run schema`: regenerates config/courier.schema.json after a change to config/schema.ts.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCourierJsonSchema } from './json-schema.ts';

const target = fileURLToPath(new URL('./courier.schema.json', import.meta.url));
writeFileSync(target, renderCourierJsonSchema());
console.log(`wrote ${target}`);
