import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStageBundle, compareKeys, decodeKeyText, encodeKeyText, escapeField, splitFields, unescapeField, type Key } from '../../engine/index.ts';
import { seededRandom } from '../../udfs/index.ts';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

describe('streaming protocol: fields', () => {
  it('escapes as Hive LazySimpleSerDe (escape.delim \\, escape.crlf) and round-trips', () => {
    expect(escapeField('a\tb\nc\rd\\e')).toBe('a\\\tb\\nc\\rd\\\\e');
    for (const s of ['', 'plain', '\\N', 'tab\there', 'x\\', '\\\\\t\n\r\n', 'é😀\u0000']) expect(unescapeField(escapeField(s))).toBe(s);
    // A string that reads "\N" is not null: it is written \\N.
    expect(escapeField('\\N')).toBe('\\\\N');
  });

  it('splits lines at tabs that are not escaped', () => {
    const fields = ['a\tb', 'c\\', '', 'd\ne'];
    const line = fields.map(escapeField).join('\t');
    expect(splitFields(line).map(unescapeField)).toEqual(fields);
    expect(splitFields('x\ty\t\\N')).toEqual(['x', 'y', '\\N']);
  });
});

describe('streaming protocol: key text', () => {
  const strings = ['', 'a', 'ab', 'b', 'Z', 'é', '😀', '｡', '\uE000', '\uFFFF', '\u0000', '\u0001', '\u0002', '\t', '\n', ' ', '\\', 'a\\b', '\uD800'];
  const numbers = [0, -0, 1, -1, 0.5, -0.5, 1e300, -1e300, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 5e-324, -5e-324, 42, 17];
  const rnd = seededRandom(7);
  const part = (): string | number => {
    if (rnd.int(3) === 0) return rnd.int(4) === 0 ? numbers[rnd.int(numbers.length)]! : (rnd.float() - 0.5) * 10 ** rnd.int(12);
    let s = '';
    for (let i = rnd.int(5); i > 0; i--) s += rnd.int(3) === 0 ? strings[rnd.int(strings.length)]! : String.fromCharCode(rnd.int(0x10000));
    return s;
  };
  const keys: Key[] = Array.from({ length: 3000 }, () => Array.from({ length: 1 + rnd.int(3) }, part));

  it('byte order of the UTF-8 text equals compareKeys, and so does JavaScript string order', () => {
    const enc = keys.map((k) => encodeKeyText(k));
    const bytes = enc.map((e) => Buffer.from(e, 'utf8'));
    for (let i = 0; i < 20_000; i++) {
      const a = rnd.int(keys.length);
      const b = rnd.int(keys.length);
      const expected = sign(compareKeys(keys[a]!, keys[b]!));
      expect(sign(Buffer.compare(bytes[a]!, bytes[b]!)), `${JSON.stringify(keys[a])} vs ${JSON.stringify(keys[b])}`).toBe(expected);
      expect(sign(enc[a]! < enc[b]! ? -1 : enc[a]! > enc[b]! ? 1 : 0)).toBe(expected);
    }
  });

  it('the documented edge cases: numbers first, UTF-16 order, prefixes first', () => {
    const ordered: Key[] = [[-1e300], [-0.5], [0], [5e-324], [1], [''], ['', 1], ['Z'], ['a'], ['a', 'b'], ['ab'], ['é'], ['😀'], ['｡']];
    const texts = ordered.map((k) => Buffer.from(encodeKeyText(k), 'utf8'));
    for (let i = 1; i < texts.length; i++) expect(Buffer.compare(texts[i - 1]!, texts[i]!), JSON.stringify(ordered[i])).toBe(-1);
    expect(encodeKeyText([-0])).toBe(encodeKeyText([0]));
  });

  it('round-trips and never holds a tab, newline or carriage return (Hadoop compares key bytes unescaped)', () => {
    for (const k of keys) {
      const text = encodeKeyText(k);
      expect(text).not.toMatch(/[\t\n\r]/);
      expect(decodeKeyText(text).map((p) => (Object.is(p, -0) ? 0 : p))).toEqual(k.map((p) => (Object.is(p, -0) ? 0 : p)));
    }
    expect(() => decodeKeyText('%x')).toThrow(/expected "#" \(number\) or "\$" \(string\)/);
  });
});

describe('stage bundle command line (a word count bundle run as Hadoop Streaming runs it)', () => {
  let dir: string;
  let bundle: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-bundle-'));
    bundle = (await buildStageBundle({ module: new URL('./conformance/word-count.ts', import.meta.url).href, export: 'wordCountJob' }, path.join(dir, 'word-count.stage.js'))).file;
  }, 60_000);
  afterAll(async () => fsp.rm(dir, { recursive: true, force: true }));

  const stage = (args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--enable-source-maps', bundle, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin);
    });
  const params = ['--params', '{"date":"2026-11-23"}'];

  it('describe lists the steps with their input columns, shuffle and output schema', async () => {
    const r = await stage(['describe', ...params]);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { job: string; steps: { name: string; inputs: { name: string; kind: string; dataset: string; columns: { name: string }[] }[]; combine: boolean }[] };
    expect(d.job).toBe('word-count');
    expect(d.steps[0]!.inputs[0]).toMatchObject({ name: 'lines', kind: 'parquet', dataset: 'text/dt=2026-11-23' });
    expect(d.steps[0]!.inputs[0]!.columns.map((c) => c.name)).toEqual(['line_no', 'text']);
  });

  it('map, a bytewise sort, then reduce count words; counters go to stderr as reporter:counter lines', async () => {
    const mapped = await stage(['map', 'count', 'lines', ...params], '0\tThe fox\n1\tthe\\\tdog\n2\t\\N\n');
    expect(mapped.code, mapped.stderr).toBe(0);
    const lines = mapped.stdout.trimEnd().split('\n');
    expect(lines.every((l) => /^\d{5}\t\$[^\t]*\x01\t\d+$/.test(l))).toBe(true);
    expect(mapped.stderr).toMatch(/^reporter:counter:courier,records_in,3$/m);
    const sorted = [...lines].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const reduced = await stage(['reduce', 'count', ...params], sorted.join('\n') + '\n');
    expect(reduced.code, reduced.stderr).toBe(0);
    // The step has 4 reducers: one cluster reducer may hold several partitions, each contiguous and sorted.
    expect(reduced.stdout.trimEnd().split('\n').sort()).toEqual(['r\tdog\t1', 'r\tfox\t1', 'r\tthe\t2']);
    expect(reduced.stderr).toMatch(/^reporter:counter:courier,reduce_groups,3$/m);
  });

  it('bad parameters exit 2 naming the field, before reading input; an unknown step exits 2 listing the steps', async () => {
    const bad = await stage(['map', 'count', 'lines', '--params', '{"date":"2026-02-30"}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--params rejected/);
    const unknown = await stage(['reduce', 'nope', ...params]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('has no step "nope"; its steps: count');
  });

  it('a malformed input line fails the task with exit 1 and names the line', async () => {
    const r = await stage(['map', 'count', 'lines', ...params], '0\tok\nnot-a-number\tx\ty\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/map input lines line 2: 3 fields, expected 2 \(line_no, text\)/);
  });
});
