/** The shape of one conformance case: it runs a job on the runner under test and returns its golden value. */
import type { JobRunner } from '../../../engine/index.ts';
import type { TempRoot } from './fixtures.ts';

/** What a case gets: the runner under test and a fresh temp storage root. */
export interface CaseEnv {
  readonly runner: JobRunner;
  readonly t: TempRoot;
}

/** One golden-file case; `run` may assert on its own and returns the value compared with `golden/<name>.json`. */
export interface ConformanceCase {
  readonly name: string;
  readonly title: string;
  run(env: CaseEnv): Promise<unknown>;
}
