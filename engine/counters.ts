/**
 * Counters: named sums user code bumps with `ctx.count(group, name, n)` (records dropped, ids malformed,
 * partners seen...). Runners sum them per step and return them, so a caller can check a run without
 * re-reading its output.
 */

/** Counter values by group, then name. Groups and names are sorted when returned by a runner. */
export type Counters = Record<string, Record<string, number>>;

/** Checks the arguments of `ctx.count`; throws naming what is wrong. */
export function checkCounterArgs(group: unknown, name: unknown, n: unknown): void {
  if (typeof group !== 'string' || group === '') throw new TypeError(`count(group, name, n): group must be a non-empty string, got ${String(group)}`);
  if (typeof name !== 'string' || name === '') throw new TypeError(`count(group, name, n): name must be a non-empty string, got ${String(name)}`);
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError(`count("${group}", "${name}", n): n must be a finite number, got ${String(n)}`);
}

/** A mutable set of counters. */
export class CounterSet {
  private readonly groups = new Map<string, Map<string, number>>();
  // The group last added to: user code counts in one or two groups per record, so this saves a lookup per count.
  private lastGroupName: string | undefined;
  private lastGroup: Map<string, number> | undefined;

  /** Adds `n` to a counter (arguments already checked). */
  add(group: string, name: string, n: number): void {
    let g = group === this.lastGroupName ? this.lastGroup : this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    this.lastGroupName = group;
    this.lastGroup = g;
    g.set(name, (g.get(name) ?? 0) + n);
  }

  /** Adds every counter of `other`. */
  addAll(other: Counters): void {
    for (const [group, names] of Object.entries(other)) for (const [name, n] of Object.entries(names)) this.add(group, name, n);
  }

  /** The counters as a plain object, groups and names sorted. */
  toJSON(): Counters {
    const out: Counters = {};
    for (const group of [...this.groups.keys()].sort()) {
      const names = this.groups.get(group)!;
      const g: Record<string, number> = {};
      for (const name of [...names.keys()].sort()) g[name] = names.get(name)!;
      out[group] = g;
    }
    return out;
  }
}

/** Sums several counter objects into one (sorted). */
export function sumCounters(all: readonly Counters[]): Counters {
  const set = new CounterSet();
  for (const c of all) set.addAll(c);
  return set.toJSON();
}
