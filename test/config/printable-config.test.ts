import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, printableConfig, printableConfigYaml, resolveSecret } from '../../config/index.ts';
import { MINIMAL_YAML } from './config-fixtures.ts';

describe('secrets', () => {
  const env = { ACME_TOKEN: 'tok-9f8e7d-secret' };
  const text = MINIMAL_YAML + '      headers:\n        Authorization: { env: ACME_TOKEN }\n        X-Plain: hello\n';
  const config = parseConfig(text, { file: path.join('/tmp/courier-test', 'courier.yaml'), env });

  it('are not kept in the loaded config, nor printed', () => {
    expect(JSON.stringify(config)).not.toContain(env.ACME_TOKEN);
    const yaml = printableConfigYaml(config);
    expect(yaml).not.toContain(env.ACME_TOKEN);
    expect(yaml).toContain('Authorization: <from env ACME_TOKEN>');
    expect(JSON.stringify(printableConfig(config))).toContain('X-Plain');
  });

  it('are read where used, with an actionable error when missing', () => {
    const ref = config.partners[0]?.streaming?.headers['Authorization'];
    if (ref === undefined || typeof ref === 'string') throw new Error('expected a secret reference');
    expect(resolveSecret(ref, env)).toBe(env.ACME_TOKEN);
    expect(() => resolveSecret(ref, {})).toThrow('environment variable ACME_TOKEN is not set');
  });
});
