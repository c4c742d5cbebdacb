/**
 * Values handed to combine and reduce can be iterated once, in every runner: a runner that streams values
 * from a merged spill cannot rewind, so the inline runner refuses a second pass too instead of letting a
 * job work inline and fail on workers.
 */

/** Wraps values in an iterable whose second iteration throws, naming the call. */
export function onceIterable<T>(values: readonly T[], where: string): Iterable<T> {
  let used = false;
  return {
    [Symbol.iterator](): Iterator<T> {
      if (used) throw new TypeError(`${where}: values can be iterated once (they stream from the shuffle); copy them with Array.from(values) for a second pass`);
      used = true;
      return values[Symbol.iterator]();
    },
  };
}
