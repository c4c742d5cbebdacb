/**
 * The worker-thread side of the local runner: loads jobs from their `source` (cached per source) and runs
 * the tasks the runner sends, one at a time, reporting progress and the outcome.
 */
import { parentPort } from 'node:worker_threads';
import { EMPTY_BAD_RECORD_STATE } from './bad-records.ts';
import { executeTask, type TaskOutcome, type TaskSpec } from './local-tasks.ts';
import type { Job, JobSource } from './job-definition.ts';

/** A message from the runner. */
export interface WorkerRequest {
  readonly id: number;
  readonly jobName: string;
  readonly source: JobSource;
  readonly spec: TaskSpec;
}

/** A message to the runner. */
export type WorkerReply =
  | { readonly id: number; readonly type: 'progress'; readonly recordsIn: number; readonly bytesIn: number; readonly recordsOut: number }
  | { readonly id: number; readonly type: 'done'; readonly outcome: TaskOutcome };

const jobs = new Map<string, Promise<Job>>();

/** Imports a job from its source; checks it is the job the runner runs. */
export async function loadJob(source: JobSource, jobName: string): Promise<Job> {
  const mod = (await import(source.module)) as Record<string, unknown>;
  let exported = mod[source.export];
  if (exported === undefined) throw new Error(`job "${jobName}": module ${source.module} has no export "${source.export}" (job.source names it)`);
  if (typeof exported === 'function') exported = (exported as (...args: unknown[]) => unknown)(...(source.args ?? []));
  const job = exported as Job;
  if (!job || typeof job !== 'object' || !Array.isArray(job.steps)) {
    throw new Error(`job "${jobName}": export "${source.export}" of ${source.module} is not a job (or a function returning one)`);
  }
  if (job.name !== jobName) throw new Error(`job "${jobName}": export "${source.export}" of ${source.module} is job "${job.name}"`);
  return job;
}

const port = parentPort;
if (port) {
  port.on('message', (req: WorkerRequest) => {
    void (async () => {
      const key = JSON.stringify([req.source, req.jobName]);
      let job = jobs.get(key);
      if (!job) jobs.set(key, (job = loadJob(req.source, req.jobName)));
      let outcome: TaskOutcome;
      try {
        outcome = await executeTask(await job, req.spec, (p) => port.postMessage({ id: req.id, type: 'progress', ...p } satisfies WorkerReply));
      } catch (error) {
        jobs.delete(key);
        outcome = { ok: false, error, counters: {}, bad: EMPTY_BAD_RECORD_STATE };
      }
      try {
        port.postMessage({ id: req.id, type: 'done', outcome } satisfies WorkerReply);
      } catch (e) {
        // Something in the outcome cannot be cloned (an odd thrown value): send what can be.
        const err = outcome.ok ? e : outcome.error;
        const plain = err instanceof Error ? new Error(`${err.name}: ${err.message}`) : new Error(String(err));
        if (err instanceof Error && err.stack) plain.stack = err.stack;
        port.postMessage({ id: req.id, type: 'done', outcome: { ok: false, error: plain, counters: outcome.counters, bad: EMPTY_BAD_RECORD_STATE } } satisfies WorkerReply);
      }
    })();
  });
}
