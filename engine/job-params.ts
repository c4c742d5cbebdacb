/**
 * Job parameters: a job declares how to validate its raw parameters (CLI flags, workflow values) once at
 * run start, so a typo in a date fails before any data is read, and every function of the job receives
 * the parsed, typed value.
 */

/**
 * Anything with `parse(input) → P` that throws on bad input. A zod schema (`z.object({...})`) fits as it
 * is; `logicalDate` below covers the common case without a dependency.
 */
export interface ParamsSchema<P> {
  parse(input: unknown): P;
}

/** The parameters of a daily job: the logical date it processes. */
export interface LogicalDateParams {
  /** `YYYY-MM-DD`, a real calendar date. */
  readonly date: string;
}

/** Validates `{ date: 'YYYY-MM-DD' }`, the parameters most Courier stages take. */
export const logicalDate: ParamsSchema<LogicalDateParams> = {
  parse(input: unknown): LogicalDateParams {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new TypeError(`expected an object { date: "YYYY-MM-DD" }, got ${describe(input)}`);
    }
    const extra = Object.keys(input).filter((k) => k !== 'date');
    if (extra.length > 0) throw new TypeError(`unknown parameter ${extra.map((k) => JSON.stringify(k)).join(', ')}; this job takes only "date"`);
    const date = (input as { date?: unknown }).date;
    if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
      throw new TypeError(`date: expected "YYYY-MM-DD", got ${describe(date)}`);
    }
    const d = new Date(`${date}T00:00:00Z`);
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== date) {
      throw new TypeError(`date: ${date} is not a calendar date`);
    }
    return { date };
  },
};

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
}
