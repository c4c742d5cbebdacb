/**
 * The periods a workflow runs for: a day (`YYYY-MM-DD`) or a month (`YYYY-MM`), both UTC calendar periods as the
 * datasets are partitioned (`dt=YYYY-MM-DD`). Every path a stage touches derives from its period, never from the
 * wall clock, so a re-run or a backfill of a period does the same work.
 */

/** How often a workflow runs: once per day or once per month. */
export type PeriodKind = 'daily' | 'monthly';

/** One period of a workflow, with the forms stages need. */
export interface Period {
  readonly kind: PeriodKind;
  /** `YYYY-MM-DD` (daily) or `YYYY-MM` (monthly): the period's name in history paths and logs. */
  readonly key: string;
  /** The logical date: the day itself (daily), the first day of the month (monthly). */
  readonly date: string;
  /** `YYYY-MM`: the month the period lies in. */
  readonly month: string;
  /** Every day of the period, ascending. */
  readonly days: readonly string[];
}

const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;

/** A period error names the value and the expected form; the CLI turns it into a usage error. */
export class PeriodError extends Error {
  override readonly name = 'PeriodError';
}

function dayMs(date: string): number | undefined {
  const m = DAY.exec(date);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(t).toISOString().slice(0, 10) === date ? t : undefined;
}

/** True for a real calendar day written `YYYY-MM-DD`. */
export function isCalendarDay(value: string): boolean {
  return dayMs(value) !== undefined;
}

/** The day `n` days after `date` (negative: before). */
export function addDays(date: string, n: number): string {
  const t = dayMs(date);
  if (t === undefined) throw new PeriodError(`expected a day as YYYY-MM-DD, got ${JSON.stringify(date)}`);
  return new Date(t + n * DAY_MS).toISOString().slice(0, 10);
}

/** The month `n` months after `month` (`YYYY-MM`; negative: before). */
export function addMonths(month: string, n: number): string {
  const m = MONTH.exec(month);
  if (!m) throw new PeriodError(`expected a month as YYYY-MM, got ${JSON.stringify(month)}`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1 + n, 1)).toISOString().slice(0, 7);
}

/**
 * The period of `kind` named by `value`: a day for daily workflows; a month (`YYYY-MM`) or any day in it for
 * monthly ones. Throws a PeriodError saying which form is expected.
 */
export function periodOf(kind: PeriodKind, value: string): Period {
  if (kind === 'daily') {
    if (!isCalendarDay(value)) throw new PeriodError(`expected a day as YYYY-MM-DD, got ${JSON.stringify(value)}`);
    return { kind, key: value, date: value, month: value.slice(0, 7), days: [value] };
  }
  const month = isCalendarDay(value) ? value.slice(0, 7) : MONTH.test(value) && isCalendarDay(`${value}-01`) ? value : undefined;
  if (month === undefined) throw new PeriodError(`expected a month as YYYY-MM (or a day YYYY-MM-DD in it), got ${JSON.stringify(value)}`);
  const first = `${month}-01`;
  const days: string[] = [];
  for (let d = first; d.startsWith(month); d = addDays(d, 1)) days.push(d);
  return { kind, key: month, date: first, month, days };
}

/** The period right before `period`. */
export function previousPeriod(period: Period): Period {
  return period.kind === 'daily' ? periodOf('daily', addDays(period.date, -1)) : periodOf('monthly', addMonths(period.month, -1));
}

/** The period right after `period`. */
export function nextPeriod(period: Period): Period {
  return period.kind === 'daily' ? periodOf('daily', addDays(period.date, 1)) : periodOf('monthly', addMonths(period.month, 1));
}

/** Every period from `from` to `to`, both included, ascending; `limit` guards against a typo spanning centuries. */
export function periodsBetween(kind: PeriodKind, from: string, to: string, limit = 10_000): Period[] {
  const first = periodOf(kind, from);
  const last = periodOf(kind, to);
  if (first.key > last.key) throw new PeriodError(`the range ${from} .. ${to} is empty: --from must not be after --to`);
  const out: Period[] = [];
  for (let p = first; p.key <= last.key; p = nextPeriod(p)) {
    if (out.length === limit) throw new PeriodError(`the range ${from} .. ${to} holds more than ${limit} periods; split it`);
    out.push(p);
  }
  return out;
}
