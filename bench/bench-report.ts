/** One benchmark figure as a JSON line: the value, and its ratio to the anchor measured in the same run. */
export interface BenchFigure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  anchor?: string;
  anchorValue?: number;
  /** value / anchorValue, so > 1 means faster than the anchor for rates. */
  ratio?: number;
  goal?: string;
  [extra: string]: unknown;
}

/** Prints a figure as one JSON line on stdout (the contract `npm run bench` promises). */
export function report(figure: BenchFigure): void {
  const rounded = Object.fromEntries(
    // Counts stay exact (a chaos account must add up); measurements keep four significant digits.
    Object.entries(figure).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v]),
  );
  process.stdout.write(JSON.stringify(rounded) + '\n');
}

/** Times an async function in seconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const t0 = process.hrtime.bigint();
  const result = await fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, result };
}
