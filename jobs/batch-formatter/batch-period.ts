/**
 * Periods of batch files: a daily partner gets one file per day (`YYYY-MM-DD`) from that day's data sync
 * requests; a monthly partner one file per month (`YYYY-MM`) from every day of the month.
 */
import { addDays, dayStartMs } from '../../udfs/index.ts';

/** The refresher's data sync requests, one dataset per day: `requests/dt=YYYY-MM-DD`. */
export const REQUESTS_DATASET = 'requests';
/** Batch files live under `batch/<partner name>/`. */
export const BATCH_DATASET = 'batch';

export type BatchSchedule = 'daily' | 'monthly';

const MONTH = /^(\d{4})-(\d{2})$/;

/** Why `period` does not fit `schedule`, or undefined when it does. */
export function periodProblem(schedule: BatchSchedule, period: string): string | undefined {
  if (schedule === 'daily') {
    try {
      dayStartMs(period);
      return undefined;
    } catch {
      return `a daily partner's period is a calendar day YYYY-MM-DD, got ${JSON.stringify(period)}`;
    }
  }
  const m = MONTH.exec(period);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return `a monthly partner's period is a month YYYY-MM, got ${JSON.stringify(period)}`;
  return undefined;
}

/** The period holding `date` for a schedule: the day itself, or its month. */
export function periodOf(schedule: BatchSchedule, date: string): string {
  dayStartMs(date);
  return schedule === 'daily' ? date : date.slice(0, 7);
}

/** The schedule a period is written for: `YYYY-MM-DD` daily, `YYYY-MM` monthly. */
export function scheduleOfPeriod(period: string): BatchSchedule {
  return MONTH.test(period) ? 'monthly' : 'daily';
}

/** Every day of a period, ascending. */
export function periodDays(period: string): string[] {
  if (scheduleOfPeriod(period) === 'daily') {
    dayStartMs(period);
    return [period];
  }
  const days: string[] = [];
  for (let d = `${period}-01`; d.startsWith(period); d = addDays(d, 1)) days.push(d);
  return days;
}

/** The job's sorted rows, kept only until the file is written (under `_work`, which dataset listings treat as scratch). */
export const ROWS_DATASET = '_work/batch-formatter-rows';

/**
 * The datasets a batch formatter run reads (requests of every day of the period) and writes (the batch files;
 * `rows` is the job's own output, removed once the file is complete), relative to the storage root.
 */
export function batchFormatterDatasets(
  partner: { name: string; schedule: BatchSchedule },
  period: string,
): { inputs: string[]; output: string; rows: string } {
  const problem = periodProblem(partner.schedule, period);
  if (problem) throw new RangeError(`partner ${partner.name}: ${problem}`);
  const dir = partner.schedule === 'daily' ? `dt=${period}` : `month=${period}`;
  return {
    inputs: periodDays(period).map((d) => `${REQUESTS_DATASET}/dt=${d}`),
    output: `${BATCH_DATASET}/${partner.name}/${dir}`,
    rows: `${ROWS_DATASET}/${partner.name}/${dir}`,
  };
}
