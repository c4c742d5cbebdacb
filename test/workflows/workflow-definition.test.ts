import { describe, expect, it } from 'vitest';
import { JobError } from '../../engine/index.ts';
import { DEFAULT_RETRY, defineWorkflow, isRetryable, NonRetryableError, WorkflowDefinitionError, type StageDefinition } from '../../workflows/index.ts';

const stage = (name: string, dependsOn: string[] = [], extra: Partial<StageDefinition<unknown>> = {}): StageDefinition<unknown> => ({
  name,
  dependsOn,
  outputs: () => [`${name}/dt=x`],
  run: async () => {},
  ...extra,
});

const wf = (stages: StageDefinition<unknown>[], extra: object = {}) =>
  defineWorkflow<unknown>({ name: 'test-flow', description: 'a test workflow', period: 'daily', stages, ...extra });

describe('defineWorkflow', () => {
  it('orders stages by dependency, ties in the order written, and fills defaults', () => {
    const w = wf([stage('d', ['b', 'c']), stage('b', ['a']), stage('c', ['a']), stage('a')]);
    expect(w.stages.map((s) => s.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(w.stages[0]!.retries).toEqual(DEFAULT_RETRY);
    expect(w.stages[0]!.dependsOnPreviousPeriod).toBe(false);
  });

  it('merges partial retries with the defaults', () => {
    const w = wf([stage('a', [], { retries: { maxAttempts: 5 } })]);
    expect(w.stages[0]!.retries).toEqual({ ...DEFAULT_RETRY, maxAttempts: 5 });
  });

  it('names an unknown dependency and the stages there are', () => {
    expect(() => wf([stage('a'), stage('b', ['refresher'])])).toThrow(
      'workflow "test-flow": stage "b": depends on unknown stage "refresher"; stages are "a", "b"',
    );
  });

  it('names a cycle stage by stage', () => {
    const attempt = () => wf([stage('a'), stage('b', ['a', 'd']), stage('c', ['b']), stage('d', ['c'])]);
    expect(attempt).toThrow(WorkflowDefinitionError);
    expect(attempt).toThrow('stages depend on each other in a cycle: b -> d -> c -> b; remove one of these dependencies');
  });

  it('refuses a stage depending on itself', () => {
    expect(() => wf([stage('a', ['a'])])).toThrow('stage "a": depends on itself');
  });

  it('refuses duplicate stage names', () => {
    expect(() => wf([stage('a'), stage('a')])).toThrow('stage "a": the name is used twice; stage names must be unique');
  });

  it('refuses bad names, empty stage lists, bad periods and bad retries', () => {
    expect(() => defineWorkflow({ name: 'Daily Refresh', description: 'x', period: 'daily', stages: [stage('a')] })).toThrow(/name must be lowercase/);
    expect(() => wf([])).toThrow('stages is empty');
    expect(() => wf([stage('a')], { period: 'weekly' })).toThrow('period must be "daily" or "monthly", got "weekly"');
    expect(() => wf([stage('a', [], { retries: { maxAttempts: 0 } })])).toThrow('stage "a": retries.maxAttempts must be a whole number from 1, got 0');
    expect(() => wf([stage('a', [], { retries: { baseDelayMs: 500, maxDelayMs: 100 } })])).toThrow('retries.maxDelayMs (100) is below retries.baseDelayMs (500)');
  });

  it('checks the cron expression and the time zone', () => {
    expect(() => wf([stage('a')], { schedule: { cron: '30 2 * * *', timezone: 'Europe/Madird' } })).toThrow(
      'schedule.timezone "Europe/Madird" is not an IANA time zone; use one like Europe/Madrid or UTC',
    );
    expect(() => wf([stage('a')], { schedule: { cron: '30 2 * *', timezone: 'UTC' } })).toThrow(/is not a five-field cron expression/);
    expect(() => wf([stage('a')], { schedule: { cron: '61 2 * * *', timezone: 'UTC' } })).toThrow(/schedule.cron "61 2 \* \* \*" does not parse/);
    expect(wf([stage('a')], { schedule: { cron: '30 2 * * *', timezone: 'Europe/Madrid' } }).schedule).toEqual({ cron: '30 2 * * *', timezone: 'Europe/Madrid' });
  });
});

describe('isRetryable', () => {
  it('retries transient failures and not what fails the same way again', () => {
    expect(isRetryable(new Error('ECONNRESET'))).toBe(true);
    expect(isRetryable(new JobError('j', 's', 'map task of file:///x failed: EIO', { cause: new Error('EIO') }))).toBe(true);
    expect(isRetryable(new JobError('j', 's', 'input "logs": not complete'))).toBe(false);
    expect(isRetryable(new TypeError('invalid parameters'))).toBe(false);
    expect(isRetryable(new NonRetryableError('bad config'))).toBe(false);
    expect(isRetryable(new Error('wrapped', { cause: new NonRetryableError('bad config') }))).toBe(false);
    expect(isRetryable(Object.assign(new Error('quota'), { retryable: false }))).toBe(false);
  });
});
