/**
 * Cron schedules with a time zone (cron-parser 5), and which period a fire time processes. A fire processes the
 * last complete period before it, as Airflow's data intervals do: the daily refresh firing at 02:30 Madrid time
 * on the 24th processes the 23rd; a monthly workflow firing on 1 December processes November.
 *
 * Only `next()` of cron-parser is used: its `prev()` skips the fire of a spring-forward day (it finds no 02:30
 * on 29 March in Madrid and jumps a day), while `next()` moves that fire to 03:30 as cron daemons do.
 */
import { CronExpressionParser } from 'cron-parser';
import { addDays, addMonths, periodOf, type Period, type PeriodKind } from './workflow-period.ts';

/** When a workflow runs: a five-field cron expression read in an IANA time zone. */
export interface WorkflowSchedule {
  readonly cron: string;
  readonly timezone: string;
}

const DAY_MS = 86_400_000;

/** Checks a schedule; returns a problem ("what is wrong, what to write") or undefined. */
export function scheduleProblem(schedule: WorkflowSchedule): string | undefined {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: schedule.timezone });
  } catch {
    return `schedule.timezone ${JSON.stringify(schedule.timezone)} is not an IANA time zone; use one like Europe/Madrid or UTC`;
  }
  if (typeof schedule.cron !== 'string' || schedule.cron.trim().split(/\s+/).length !== 5) {
    return `schedule.cron ${JSON.stringify(schedule.cron)} is not a five-field cron expression (minute hour day-of-month month day-of-week), e.g. "30 2 * * *"`;
  }
  try {
    CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, strict: false });
  } catch (e) {
    return `schedule.cron ${JSON.stringify(schedule.cron)} does not parse: ${(e as Error).message}`;
  }
  return undefined;
}

/** The first fire strictly after `after`. */
export function nextFireAfter(schedule: WorkflowSchedule, after: Date): Date {
  return CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: after }).next().toDate();
}

/**
 * The last fire at or before `now`, or undefined when there was none in the last five years (a cron that never
 * fires, like 30 February). Found with `next()` from a window that widens until it holds a fire.
 */
export function lastFireAtOrBefore(schedule: WorkflowSchedule, now: Date): Date | undefined {
  for (let lookbackDays = 2; lookbackDays <= 4 * 366 * 2; lookbackDays *= 2) {
    const expr = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: new Date(now.getTime() - lookbackDays * DAY_MS) });
    let last: Date | undefined;
    // A window of lookbackDays holds at most 1440 fires a day for a minutely cron; stop at now.
    for (let i = 0; i < lookbackDays * 1441; i++) {
      const fire = expr.next().toDate();
      if (fire.getTime() > now.getTime()) break;
      last = fire;
    }
    if (last) return last;
  }
  return undefined;
}

/** The calendar day (`YYYY-MM-DD`) of `instant` in `timezone`. */
export function localDay(instant: Date, timezone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/** `2026-11-25 02:30 Europe/Madrid`: an instant as the schedule's wall clock shows it. */
export function toLocalTime(instant: Date, timezone: string): string {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const parts = Object.fromEntries(f.formatToParts(instant).map((p) => [p.type, p.value]));
  return `${parts['year']}-${parts['month']}-${parts['day']} ${parts['hour']}:${parts['minute']} ${timezone}`;
}

/** The period a fire at `fire` processes: the day (or month) before the fire's local day (or month). */
export function periodOfFire(kind: PeriodKind, fire: Date, timezone: string): Period {
  const day = localDay(fire, timezone);
  return kind === 'daily' ? periodOf('daily', addDays(day, -1)) : periodOf('monthly', addMonths(day.slice(0, 7), -1));
}
