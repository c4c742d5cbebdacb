/**
 * The engine conformance suite (madoop-style golden files): every runner (inline, local, cluster) must
 * produce exactly the outputs, counters and errors in `test/engine/golden/`. Call it from a runner's test
 * file; regenerate the golden files with `UPDATE_GOLDEN=1 npx vitest run test/engine` and review the diff.
 */
import { afterEach, beforeEach, describe, it } from 'vitest';
import type { JobRunner } from '../../engine/index.ts';
import type { ConformanceCase } from './conformance/conformance-case.ts';
import { expectGolden, makeTempRoot, removeTempRoot, type TempRoot } from './conformance/fixtures.ts';
import { wordCountCase } from './conformance/word-count.ts';
import { joinCase } from './conformance/join.ts';
import { secondarySortCase } from './conformance/secondary-sort.ts';
import { multiStepCase } from './conformance/multi-step.ts';
import { countersCase } from './conformance/counters.ts';
import { badRecordsOverRateCase, badRecordsUnderRateCase } from './conformance/bad-records.ts';
import { partitionedOutputCase } from './conformance/partitioned-output.ts';
import { runContractCase } from './conformance/run-contract.ts';
import { shippingRulesCase } from './conformance/shipping-rules.ts';
import { damagedLineInputsCase, lineInputsCase } from './conformance/line-inputs.ts';
import { datasetInputsCase } from './conformance/dataset-inputs.ts';

/** Every conformance case, in the order they run. */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  wordCountCase,
  joinCase,
  secondarySortCase,
  multiStepCase,
  countersCase,
  badRecordsUnderRateCase,
  badRecordsOverRateCase,
  partitionedOutputCase,
  runContractCase,
  shippingRulesCase,
  lineInputsCase,
  damagedLineInputsCase,
  datasetInputsCase,
];

/** Registers the conformance cases for a runner; `makeRunner` is called once per case. */
export function runConformanceSuite(makeRunner: () => JobRunner, label = makeRunner().kind): void {
  describe(`engine conformance (${label} runner)`, () => {
    let t: TempRoot | undefined;
    beforeEach(async () => {
      t = await makeTempRoot();
    });
    afterEach(async () => {
      await removeTempRoot(t);
      t = undefined;
    });
    for (const c of CONFORMANCE_CASES) {
      it(c.title, async () => {
        await expectGolden(c.name, await c.run({ runner: makeRunner(), t: t! }));
      });
    }
  });
}
