// `--counters-in-band`: a stage task writes its job counters as a last `counters` line (Spark SQL's TRANSFORM
// keeps no reporter:counter lines from stderr), and reducers and combiners pass mappers' counters lines on.
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStageBundle, splitFields, unescapeField } from '../../engine/index.ts';

let dir: string;
let bundle: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'courier-counters-'));
  bundle = (await buildStageBundle({ module: new URL('./conformance/counters.ts', import.meta.url).href, export: 'partnerStatsJob' }, path.join(dir, 'partner-stats.stage.js'))).file;
}, 60_000);
afterAll(async () => fsp.rm(dir, { recursive: true, force: true }));

const stage = (args: string[], stdin: string): Promise<{ code: number | null; lines: string[]; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args, '--params', '{"date":"2026-11-23"}'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('close', (code) => resolve({ code, lines: stdout.split('\n').filter((l) => l !== ''), stderr }));
    child.stdin.end(stdin);
  });

const hits = ['17\t200\t100', '42\t200\t200', '7\t404\t300', '17\t200\t400'].join('\n') + '\n';
const countersOf = (lines: string[]) => lines.filter((l) => l.startsWith('counters\t')).map((l) => JSON.parse(unescapeField(splitFields(l)[1]!)) as Record<string, Record<string, number>>);

describe('stage bundle --counters-in-band', () => {
  it('map writes its counters as a last line of three fields; reduce passes it on and adds its own', async () => {
    const mapped = await stage(['map', 'stats', 'hits', '--reducers', '2', '--counters-in-band'], hits);
    expect(mapped.code, mapped.stderr).toBe(0);
    const last = mapped.lines[mapped.lines.length - 1]!;
    expect(splitFields(last)).toHaveLength(3);
    expect(splitFields(last)[2]).toBe('\\N');
    expect(countersOf(mapped.lines)).toEqual([{ bytes: { all: 1000 }, status: { '200': 3, '404': 1 } }]);

    const sorted = [...mapped.lines].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const reduced = await stage(['reduce', 'stats', '--counters-in-band'], sorted.join('\n') + '\n');
    expect(reduced.code, reduced.stderr).toBe(0);
    expect(reduced.lines.filter((l) => l.startsWith('r\t'))).toHaveLength(2);
    expect(countersOf(reduced.lines)).toEqual([
      { bytes: { all: 1000 }, status: { '200': 3, '404': 1 } },
      { bytes: { ok: 700 }, partners: { seen: 2 } },
    ]);
  });

  it('without the flag no counters line is written (they go to stderr only)', async () => {
    const mapped = await stage(['map', 'stats', 'hits'], hits);
    expect(mapped.code, mapped.stderr).toBe(0);
    expect(countersOf(mapped.lines)).toEqual([]);
    expect(mapped.stderr).toMatch(/^reporter:counter:status,200,3$/m);
  });
});
