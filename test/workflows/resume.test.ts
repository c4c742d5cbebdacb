import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listRuns, runLiveness } from '../../workflows/index.ts';
import { makeTempRoot, readNumbers, removeTempRoot, writeNumbers, type TempRoot } from './workflow-fixtures.ts';

const DATE = '2026-11-23';
const child = fileURLToPath(new URL('./resume-child.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the child workflow; with `killOn`, SIGKILLs it as soon as it prints that line. */
function runChild(root: string, env: NodeJS.ProcessEnv, killOn?: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, root, DATE], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const guard = setTimeout(() => p.kill('SIGKILL'), 50_000);
    p.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (killOn !== undefined && stdout.includes(killOn)) p.kill('SIGKILL');
    });
    p.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let killed: TempRoot;
let clean: TempRoot;
beforeEach(async () => {
  killed = await makeTempRoot('courier-wf-killed-');
  clean = await makeTempRoot('courier-wf-clean-');
  for (const t of [killed, clean]) await writeNumbers(t.root, `src/dt=${DATE}`, 10, 'src');
});
afterEach(async () => {
  await removeTempRoot(killed);
  await removeTempRoot(clean);
});

describe('resume after kill -9', () => {
  it('skips the stages that completed, re-runs the killed one from scratch, and ends with a clean run\'s output', async () => {
    const first = await runChild(killed.root, { HANG_IN: 'slow' }, 'slow-started');
    expect(first.signal, first.stderr).toBe('SIGKILL');

    // What the kill left: prepare complete, slow's output only in staging, history saying running.
    const after = await listRuns(killed.root, { workflow: 'resumable' });
    expect(after.runs).toHaveLength(1);
    const dead = after.runs[0]!;
    expect(dead.state).toBe('running');
    expect(dead.stages.map((s) => [s.name, s.state])).toEqual([
      ['prepare', 'succeeded'],
      ['slow', 'running'],
      ['final', 'pending'],
    ]);
    expect(runLiveness(dead)).toBe('dead');
    const slowDir = await fsp.readdir(fileURLToPath(`${killed.root}/slow`));
    expect(slowDir).toHaveLength(1);
    expect(slowDir[0]).toMatch(/^_tmp\.dt=2026-11-23\.[0-9a-f]{8}$/);

    const second = await runChild(killed.root, {});
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      state: 'succeeded',
      stages: [
        ['prepare', 'skipped'],
        ['slow', 'succeeded'],
        ['final', 'succeeded'],
      ],
    });

    const reference = await runChild(clean.root, {});
    expect(reference.code, reference.stderr).toBe(0);
    for (const ds of ['prepared', 'slow', 'final']) {
      const resumed = await readNumbers(killed.root, `${ds}/dt=${DATE}`);
      expect(resumed).toHaveLength(10);
      expect(resumed).toEqual(await readNumbers(clean.root, `${ds}/dt=${DATE}`));
    }
    const history = await listRuns(killed.root, { workflow: 'resumable' });
    expect(history.runs.map((r) => r.state)).toEqual(['succeeded', 'running']);
  });
});
