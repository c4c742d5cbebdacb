// Small configs for the config room's tests, and a helper that returns the problems a config text produces.
import path from 'node:path';
import { ConfigError, exampleConfigPath, type ConfigProblem, parseConfig } from '../../config/index.ts';

/** A minimal valid config: one streaming partner. Tests append or replace lines to break it. */
export const MINIMAL_YAML = `partners:
  - id: 1
    name: acme
    delivery: streaming
    segmentMap:
      1001: a1
    streaming:
      url: https://acme.example/sync?uid=\${PARTNER_USER_ID}
`;

/** The problems `text` produces when loaded as `<dir>/courier.yaml`; fails the test if it loads cleanly. */
export function problemsOf(text: string, options: { env?: NodeJS.ProcessEnv; dir?: string } = {}): readonly ConfigProblem[] {
  try {
    parseConfig(text, { file: path.join(options.dir ?? '/tmp/courier-test', 'courier.yaml'), env: options.env ?? {} });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be rejected, but it loaded');
}

/**
 * Parses a config section's YAML above MINIMAL_YAML as `<config dir>/<name>.yaml`, and lists the problems
 * (field and message) such YAML produces; for the tests of one section at a time.
 */
export function sectionFixtures(name: string): {
  parse: (yaml: string) => ReturnType<typeof parseConfig>;
  problems: (yaml: string) => { path: string; message: string }[];
} {
  const file = path.join(path.dirname(exampleConfigPath), `${name}.yaml`);
  const parse = (yaml: string) => parseConfig(`${yaml}\n${MINIMAL_YAML}`, { file, env: {} });
  const problems = (yaml: string) => {
    try {
      parse(yaml);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.map((p) => ({ path: p.field, message: p.message }));
      throw e;
    }
    throw new Error('expected a ConfigError');
  };
  return { parse, problems };
}
