/**
 * The run contract every runner keeps: params validated before any work, complete outputs not replaced
 * without overwrite, missing or mistyped inputs named with both schemas, progress reported per step.
 */
import { expect } from 'vitest';
import { defineSchema, fileSystemFor, isComplete, joinUri } from '../../../storage/index.ts';
import { JobError, type StepProgress } from '../../../engine/index.ts';
import type { ConformanceCase } from './conformance-case.ts';
import { withoutRoot, writeInput } from './fixtures.ts';
import { LINES, linesSchema, wordCountJob } from './word-count.ts';

export const runContractCase: ConformanceCase = {
  name: 'run-contract',
  title: 'run contract: params checked first, no silent overwrite, inputs checked, progress reported',
  async run({ runner, t }) {
    const job = wordCountJob();
    const output = joinUri(t.root, 'word_count/dt=2026-11-23');
    const failure = async (p: Promise<unknown>): Promise<string> => {
      const e = await p.then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(JobError);
      return withoutRoot((e as Error).message, t);
    };

    const badParams = await failure(runner.run(job, { date: '2026-02-30' }, { storageRoot: t.root }));
    const missingInput = await failure(runner.run(job, { date: '2026-11-23' }, { storageRoot: t.root }));

    await writeInput(t, 'text/dt=2026-11-24', defineSchema({ line_no: 'int32', text: 'int64' }), [{ line_no: 0, text: 5 }]);
    const wrongType = await failure(runner.run(job, { date: '2026-11-24' }, { storageRoot: t.root }));

    await writeInput(t, 'text/dt=2026-11-23', linesSchema, LINES.map((text, i) => ({ line_no: i, text })), { rowsPerFile: 3 });
    const progress: StepProgress[] = [];
    const first = await runner.run(job, { date: '2026-11-23' }, { storageRoot: t.root, onProgress: (p) => progress.push(p) });
    expect(await isComplete(fileSystemFor(output), output)).toBe(true);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ job: 'word-count', step: 'count', stepIndex: 0, stepCount: 1, phase: 'done', recordsIn: 8, recordsInTotal: 8, recordsOut: 26 });
    expect(last.bytesIn).toBe(last.bytesInTotal);
    expect(progress.some((p) => p.phase === 'map')).toBe(true);

    const notOverwritten = await failure(runner.run(job, { date: '2026-11-23' }, { storageRoot: t.root }));
    const again = await runner.run(job, { date: '2026-11-23' }, { storageRoot: t.root, overwrite: true });
    expect(again.steps[0]!.marker.rows).toBe(first.steps[0]!.marker.rows);
    expect(again.runId).not.toBe(first.runId);
    expect(again.params).toEqual({ date: '2026-11-23' });

    return { errors: { badParams, missingInput, wrongType, notOverwritten } };
  },
};
