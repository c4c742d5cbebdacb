import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineSchema } from '../../storage/index.ts';
import {
  defineJob,
  defineStep,
  JobDefinitionError,
  logicalDate,
  type AnyStep,
  type LogicalDateParams,
  type MapContext,
  type StepDefinition,
} from '../../engine/index.ts';

const lines = defineSchema({ text: 'string' });
const counts = defineSchema({ word: 'string', count: 'int64' });

/** A valid one-step job; `patch` edits its only step. */
function step(patch: Partial<Record<keyof AnyStep, unknown>> = {}): AnyStep {
  return {
    name: 'count',
    inputs: { lines: { dataset: () => 'lines', schema: lines } },
    map: { lines: () => undefined },
    reduce: () => undefined,
    output: { schema: counts, dataset: () => 'counts' },
    ...patch,
  } as AnyStep;
}

function definitionError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(JobDefinitionError);
    return (e as Error).message;
  }
  throw new Error('expected a JobDefinitionError');
}

describe('defineJob checks the structure and names the problem', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['bad job name', () => defineJob({ name: 'Word Count', params: logicalDate, steps: [step()] }), /job "Word Count": the job name must match/],
    ['no params schema', () => defineJob({ name: 'j', params: {} as never, steps: [step()] }), /params must be a schema with parse/],
    ['no steps', () => defineJob({ name: 'j', params: logicalDate, steps: [] }), /at least one step/],
    ['duplicate steps', () => defineJob({ name: 'j', params: logicalDate, steps: [step(), step()] }), /step 2 "count": duplicate step name/],
    [
      'reads a later step',
      () =>
        defineJob({
          name: 'j',
          params: logicalDate,
          steps: [step({ name: 'a', inputs: { x: { step: 'b' } }, map: { x: () => undefined } }), step({ name: 'b', output: { schema: counts } })],
        }),
      /input "x": step "b" runs later/,
    ],
    ['reads an unknown step', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ inputs: { x: { step: 'nope' } }, map: { x: () => undefined } })] }), /no step "nope" in this job/],
    ['a mapper missing', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ map: {} })] }), /map\.lines must be a function/],
    ['a mapper too many', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ map: { lines: () => 1, logs: () => 1 } })] }), /map\.logs has no input of that name/],
    ['unknown column', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ inputs: { lines: { dataset: () => 'l', schema: lines, columns: ['txt'] } } })] }), /column "txt" is not in its schema/],
    ['unknown input format', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ inputs: { lines: { dataset: () => 'l', format: 'csv' } } })] }), /input "lines": format must be 'parquet' \(the default\) or 'lines', got "csv"/],
    ['a lines input with a schema', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ inputs: { lines: { dataset: () => 'l', format: 'lines', schema: lines } } })] }), /fixed record schema \{ line: string \}; remove its schema/],
    ['a lines input with partitions', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ inputs: { lines: { dataset: () => 'l', format: 'lines', partitions: () => ({}) } } })] }), /partition filters apply to Parquet inputs/],
    ['partitions not a function', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ inputs: { lines: { dataset: () => 'l', schema: lines, partitions: { hour: [1] } } } })] }), /partitions must be a function/],
    ['optional not a boolean', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ inputs: { lines: { dataset: () => null, schema: lines, optional: 'yes' } } })] }), /optional must be true or false/],
    ['a parquet input without a schema', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ inputs: { lines: { dataset: () => 'l' } } })] }), /schema must be a RecordSchema .*format: 'lines'/],
    ['partition wider than group', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ shuffle: { partitionFields: 2, groupFields: 1 } })] }), /one group would be split across reducers/],
    ['zero reducers', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ shuffle: { reducers: 0 } })] }), /shuffle\.reducers must be an integer >= 1/],
    ['bad partition column', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ output: { schema: counts, dataset: () => 'c', partitionBy: ['country'] } })] }), /partitionBy column "country" is not in the output schema/],
    ['lost intermediate', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ output: { schema: counts } })] }), /no output\.dataset and no later step reads it/],
    ['bad rate', () => defineJob({ name: 'j', params: logicalDate, steps: [step({ maxBadRecordRate: 2 })] }), /maxBadRecordRate must be between 0 and 1/],
  ];
  for (const [title, f, message] of cases) {
    it(title, () => {
      expect(definitionError(f)).toMatch(message);
    });
  }

  it('accepts a valid job and freezes it', () => {
    const job = defineJob({ name: 'word-count', params: logicalDate, steps: [step()] });
    expect(Object.isFrozen(job)).toBe(true);
    expect(job.steps.map((s) => s.name)).toEqual(['count']);
  });
});

describe('params', () => {
  it('logicalDate takes a real YYYY-MM-DD and nothing else', () => {
    expect(logicalDate.parse({ date: '2024-02-29' })).toEqual({ date: '2024-02-29' });
    expect(() => logicalDate.parse({ date: '2023-02-29' })).toThrow(/not a calendar date/);
    expect(() => logicalDate.parse({ date: '23-11-2026' })).toThrow(/expected "YYYY-MM-DD"/);
    expect(() => logicalDate.parse({ date: '2026-11-23', partner: 1 })).toThrow(/unknown parameter "partner"/);
    expect(() => logicalDate.parse('2026-11-23')).toThrow(/expected an object/);
  });

  it('a zod schema is a params schema, and its output type reaches every function', () => {
    const params = z.object({ date: z.string(), partner: z.coerce.number().int() });
    const job = defineJob({
      name: 'per-partner',
      params,
      steps: [
        step({
          inputs: {
            lines: {
              dataset: (p: { date: string; partner: number }) => `lines/dt=${p.date}/partner=${p.partner}`,
              schema: lines,
            },
          },
        }),
      ],
    });
    expect(job.params.parse({ date: '2026-11-23', partner: '17' })).toEqual({ date: '2026-11-23', partner: 17 });
  });
});

describe('types flow from the annotated map context', () => {
  it('infers key and value types per step and checks combine and reduce against them', () => {
    const job = defineJob({
      name: 'typed',
      params: logicalDate,
      steps: (s) => [
        s({
          name: 'count',
          inputs: { lines: { dataset: (p) => `lines/dt=${p.date}`, schema: lines } },
          map: {
            lines: (r: { text: string }, ctx: MapContext<[string], number>) => {
              // The annotation names key and value types; its params type defaults to unknown.
              expectTypeOf(ctx.params).toEqualTypeOf<unknown>();
              for (const w of r.text.split(' ')) ctx.emit([w], 1);
              // @ts-expect-error values are numbers in this step
              if (r.text === '') ctx.emit(['x'], 'one');
            },
          },
          combine: (key, values, ctx) => {
            expectTypeOf(ctx.params).toEqualTypeOf<LogicalDateParams>();
            expectTypeOf(key).toEqualTypeOf<[string]>();
            expectTypeOf(values).toEqualTypeOf<Iterable<number>>();
            // @ts-expect-error a combiner emits the step's value type
            if (key[0] === '') ctx.emit(key, 'x');
            ctx.emit(key, [...values].reduce((a, b) => a + b, 0));
          },
          reduce: (key, values, ctx) => {
            expectTypeOf(key).toEqualTypeOf<[string]>();
            expectTypeOf(values).toEqualTypeOf<Iterable<number>>();
            ctx.write({ word: key[0], count: [...values].length });
          },
          output: { schema: counts },
        }),
        s({
          name: 'sorted',
          inputs: { counts: { step: 'count' } },
          map: { counts: (r, ctx: MapContext<[number, string], { word: string }>) => ctx.emit([Number(r.count), String(r.word)], { word: String(r.word) }) },
          reduce: (key, values, ctx) => {
            expectTypeOf(key).toEqualTypeOf<[number, string]>();
            for (const v of values) expectTypeOf(v).toEqualTypeOf<{ word: string }>();
            ctx.write({ word: key[1], count: key[0] });
          },
          output: { schema: counts, dataset: (p) => `sorted/dt=${p.date}` },
        }),
      ],
    });
    expect(job.steps).toHaveLength(2);
  });

  it('defineStep types a step kept in its own module', () => {
    const s = defineStep({
      name: 'count',
      inputs: { lines: { dataset: (p: { date: string }) => `lines/dt=${p.date}`, schema: lines } },
      map: { lines: (r, ctx: MapContext<[string], number>) => ctx.emit([String(r.text)], 1) },
      reduce: (key, values, ctx) => ctx.write({ word: key[0], count: [...values].reduce((a, b) => a + b, 0) }),
      output: { schema: counts, dataset: (p) => `counts/dt=${p.date}` },
    });
    expectTypeOf(s).toEqualTypeOf<StepDefinition<{ date: string }, 'lines', [string], number>>();
    expect(defineJob({ name: 'j', params: logicalDate, steps: [s] }).steps[0]).toBe(s);
  });
});
