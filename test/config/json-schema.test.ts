import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderCourierJsonSchema } from '../../config/index.ts';

describe('config/courier.schema.json', () => {
  it('equals the schema generated from config/schema.ts', () => {
    const file = fileURLToPath(new URL('../../config/courier.schema.json', import.meta.url));
    const committed = fs.readFileSync(file, 'utf8');
    expect(committed === renderCourierJsonSchema(), 'config/courier.schema.json is stale: run `npm run schema` and commit it').toBe(true);
  });
});
