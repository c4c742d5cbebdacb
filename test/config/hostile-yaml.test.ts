/**
 * Hostile YAML into the config loader (issue 16, bad-input corpora): the committed corpus (alias bombs, duplicate
 * keys, huge numbers, wrong types, deep nesting, wrong encodings), a wrong type put at every node of the example
 * config, and fast-check documents. Always a typed config or a ConfigError whose every problem has a line and
 * column; never another exception, never a hang.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, parseDocument, stringify, type Node } from 'yaml';
import { ConfigError, exampleConfigPath, formatFieldPath, loadConfig, parseConfig, type CourierConfig } from '../../config/index.ts';
import { CONFIG_CASES, CORPORA_DIR, VALID_CONFIG } from '../fixtures/corpora/corpus-cases.ts';

const CASE_MS = 10_000;

/** The outcome of loading: the config, or the ConfigError; anything else thrown fails the calling test. */
function outcome(load: () => CourierConfig): CourierConfig | ConfigError {
  try {
    return load();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(`expected a config or a ConfigError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
  }
}

/** A ConfigError every problem of which is located in `file` (line and column from 1). */
function expectLocated(err: ConfigError, file: string): void {
  expect(err.problems.length).toBeGreaterThan(0);
  for (const p of err.problems) {
    expect(p.file).toBe(file);
    expect(p.line, `${p.field}: ${p.message}`).toBeGreaterThanOrEqual(1);
    expect(p.column, `${p.field}: ${p.message}`).toBeGreaterThanOrEqual(1);
    expect(p.message.length).toBeGreaterThan(10);
  }
}

function isConfig(v: unknown): v is CourierConfig {
  return !(v instanceof ConfigError) && typeof v === 'object' && v !== null && Array.isArray((v as CourierConfig).partners);
}

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'courier-hostile-yaml-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('hostile YAML corpus (test/fixtures/corpora/config)', () => {
  it('the valid base config loads', () => {
    expect(isConfig(outcome(() => parseConfig(VALID_CONFIG, { file: path.join(dir, 'valid.yaml'), env: {} })))).toBe(true);
  });

  for (const c of CONFIG_CASES) {
    it(
      `${c.kind}: ${c.file} (${c.what}) → located ConfigError at line ${c.expect.line}`,
      async () => {
        const file = path.join(CORPORA_DIR, 'config', c.file);
        expect(Buffer.compare(await fs.readFile(file), c.bytes())).toBe(0);
        const err = await loadConfig(file, { env: {} }).then(
          () => new Error('loaded'),
          (e: unknown) => e,
        );
        expect(err, (err as Error).message).toBeInstanceOf(ConfigError);
        expectLocated(err as ConfigError, file);
        const lines = (err as ConfigError).problems.map((p) => `${p.line} ${p.field ? `${p.field}: ` : ''}${p.message}`);
        expect(
          (err as ConfigError).problems.some((p) => p.line === c.expect.line && c.expect.text.test(`${p.field ? `${p.field}: ` : ''}${p.message}`)),
          lines.join('\n'),
        ).toBe(true);
      },
      CASE_MS,
    );
  }
});

describe('a wrong type at every node of the example config', () => {
  const WRONG: readonly [string, unknown][] = [
    ['a list', [1, 2]],
    ['a mapping', { x: 1 }],
    ['a number', 12345],
    ['a string', 'wrong'],
    ['a boolean', true],
    ['null', null],
  ];
  const kindOf = (n: unknown): string =>
    isSeq(n) ? 'a list' : isMap(n) ? 'a mapping' : isScalar(n) ? (n.value === null ? 'null' : typeof n.value === 'number' ? 'a number' : typeof n.value === 'boolean' ? 'a boolean' : 'a string') : '?';

  /** Every node path below the document root, with the node. */
  function nodePaths(node: unknown, at: (string | number)[] = []): [(string | number)[], Node][] {
    const out: [(string | number)[], Node][] = [];
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        out.push([[...at, key], pair.value as Node], ...nodePaths(pair.value, [...at, key]));
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => out.push([[...at, i], item as Node], ...nodePaths(item, [...at, i])));
    }
    return out;
  }

  it('each ends in the typed config or a ConfigError located at the node (or the mapping that holds it)', async () => {
    const text = await fs.readFile(exampleConfigPath, 'utf8');
    const file = path.join(path.dirname(exampleConfigPath), 'mutated.yaml');
    const paths = nodePaths(parseDocument(text).contents);
    expect(paths.length).toBeGreaterThan(100);
    let rejected = 0;
    let accepted = 0;
    for (const [at, node] of paths) {
      for (const [kind, value] of WRONG) {
        if (kind === kindOf(node)) continue;
        const doc = parseDocument(text);
        doc.setIn(at, doc.createNode(value));
        const result = outcome(() => parseConfig(doc.toString(), { file, env: {} }));
        if (isConfig(result)) {
          accepted++;
          continue;
        }
        rejected++;
        expectLocated(result as ConfigError, file);
        // Some problem names the changed field, one of its parents, or a field inside the new value.
        const field = formatFieldPath(at);
        const named = (result as ConfigError).problems.some((p) => p.field === '' || field.startsWith(p.field) || p.field.startsWith(field));
        expect(named, `${field} := ${kind}: ${(result as ConfigError).message}`).toBe(true);
      }
    }
    // Nearly every field refuses every other type (the one taken: a number as an extra field's literal value).
    expect(rejected).toBeGreaterThan(accepted * 3);
    console.log(`wrong-type corpus: ${paths.length} nodes, ${rejected + accepted} documents: ${rejected} located ConfigErrors, ${accepted} accepted`);
  }, 120_000);
});

describe('fast-check: arbitrary YAML-ish documents', () => {
  const file = (): string => path.join(dir, 'prop.yaml');
  const YAMLISH = [...':-[]{}&*!|>\'"#%@`,?<= \t\n', 'a', '1', '<<', '*a', '&a', '- ', ': ', '\n  ', '~', 'null', '.inf', '0x1F', '1e999', '!!str', '!!binary', '---', '...'];

  it('random strings of YAML punctuation and keywords', () => {
    const docs = fc.array(fc.constantFrom(...YAMLISH), { maxLength: 80 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(docs, (text) => {
        const r = outcome(() => parseConfig(text, { file: file(), env: {} }));
        if (!isConfig(r)) expectLocated(r as ConfigError, file());
      }),
      { numRuns: 600 },
    );
  });

  it('the valid config with random edits (deleted, inserted and duplicated pieces)', () => {
    const edit = fc.oneof(
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 12 }) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: fc.constantFrom(...YAMLISH) }),
      fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        let text = VALID_CONFIG;
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          if (e.op === 'delete') text = text.slice(0, at) + text.slice(at + e.n);
          else if (e.op === 'insert') text = text.slice(0, at) + e.s + text.slice(at);
          else text = text.slice(0, at) + text.slice(at, at + e.n) + text.slice(at);
        }
        const r = outcome(() => parseConfig(text, { file: file(), env: {} }));
        if (!isConfig(r)) expectLocated(r as ConfigError, file());
      }),
      { numRuns: 800 },
    );
  });

  it('the example config (every section) with random edits, and lines replaced by wrong shapes', async () => {
    const example = await fs.readFile(exampleConfigPath, 'utf8');
    const exampleFile = path.join(path.dirname(exampleConfigPath), 'edited.yaml');
    const shapes = ['    x: 1', '  - {}', '  -', '    template: []', '    fields: {}', '    header: 5', '    streaming: null', '    sftp: []', 'engine: []', 'engine: {kind: dataproc}', 'storage: {root: {}}', '    extraFields: []', '    segmentMap: {1: {}}', '    schedule: {}', '    priority: []', '    retry: []', '    delivery: batch', '    delivery: streaming', '    password: []', '    headers: {A: []}'];
    const edit = fc.oneof(
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: fc.constantFrom(...YAMLISH, '${', '${DATE}', '{ env: X }', '{ file: /x }') }),
      fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 200 }) }),
      fc.record({ op: fc.constant('line' as const), at: fc.nat(), s: fc.constantFrom(...shapes) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let text = example;
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          if (e.op === 'delete') text = text.slice(0, at) + text.slice(at + e.n);
          else if (e.op === 'insert') text = text.slice(0, at) + e.s + text.slice(at);
          else if (e.op === 'duplicate') text = text.slice(0, at) + text.slice(at, at + e.n) + text.slice(at);
          else {
            const lines = text.split('\n');
            lines[e.at % lines.length] = e.s;
            text = lines.join('\n');
          }
        }
        const r = outcome(() => parseConfig(text, { file: exampleFile, env: {} }));
        if (!isConfig(r)) expectLocated(r as ConfigError, exampleFile);
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary JSON-like values, with anchors and aliases, written as YAML', () => {
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, fc.constantFrom(null, true, 0, -1, 1e308, Number.NaN, '', 'x', '1001', 'streaming'), fc.string(), fc.double(), tie('list'), tie('map')),
      list: fc.array(tie('tree'), { maxLength: 4 }),
      map: fc.dictionary(fc.constantFrom('partners', 'id', 'name', 'delivery', 'segmentMap', 'streaming', 'url', 'storage', 'root', 'engine', '__proto__', 'constructor', '<<', '1001'), tie('tree'), { maxKeys: 5 }),
    }));
    fc.assert(
      fc.property(tree, fc.boolean(), (value, shared) => {
        // aliasDuplicateObjects writes a value used twice as &a1 ... *a1.
        const v = shared ? { partners: [value, value], storage: value } : value;
        const text = stringify(v, { aliasDuplicateObjects: true });
        const r = outcome(() => parseConfig(text, { file: file(), env: {} }));
        if (!isConfig(r)) expectLocated(r as ConfigError, file());
      }),
      { numRuns: 400 },
    );
  });

  it('arbitrary bytes as a config file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(Buffer.from(VALID_CONFIG)).chain((b) => fc.nat(b.length).map((n) => Uint8Array.from([...b.subarray(0, n), 0xc3, ...b.subarray(n)])))), async (bytes) => {
        await fs.writeFile(file(), bytes);
        const r = await loadConfig(file(), { env: {} }).catch((e: unknown) => e);
        if (!isConfig(r)) {
          expect(r).toBeInstanceOf(ConfigError);
          expectLocated(r as ConfigError, file());
        }
      }),
      { numRuns: 300 },
    );
  });
});
