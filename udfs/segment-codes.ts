/**
 * Our segment ids to a partner's segment codes, and what changed between two lists of codes (for partners
 * that take deltas). Outputs are sorted (by UTF-16 code units, JavaScript's `<`) and free of duplicates, so the
 * same input always gives the same bytes downstream.
 */

/** A partner's `segmentMap`: our segment id (digits, as a key) → the partner's segment code. */
export type SegmentMap = Readonly<Record<string, string>>;

/** Numeric-keyed copies of the maps seen, so the hot path looks codes up without number → string conversions. */
const compiled = new WeakMap<SegmentMap, Map<number, string>>();

function compile(segmentMap: SegmentMap): Map<number, string> {
  let map = compiled.get(segmentMap);
  if (!map) {
    map = new Map();
    for (const [ours, code] of Object.entries(segmentMap)) {
      if (!/^[0-9]+$/.test(ours)) throw new RangeError(`segmentMap: key ${JSON.stringify(ours)} is not one of our segment ids (digits only)`);
      if (typeof code !== 'string' || code.length === 0) {
        throw new RangeError(`segmentMap: segment ${ours} maps to ${JSON.stringify(code)}; expected a non-empty partner segment code`);
      }
      map.set(Number(ours), code);
    }
    compiled.set(segmentMap, map);
  }
  return map;
}

/**
 * The partner's codes for our segment ids: unmapped ids are dropped, the codes sorted and de-duplicated (two of
 * our segments may map to one code). Accepts a plain array or the `Int32Array` a `list<int32>` column reads as.
 */
export function mapSegments(ourIds: ArrayLike<number>, segmentMap: SegmentMap): string[] {
  const map = compile(segmentMap);
  const codes: string[] = [];
  for (let i = 0; i < ourIds.length; i++) {
    const code = map.get(ourIds[i]!);
    if (code !== undefined) codes.push(code);
  }
  return sortedUnique(codes);
}

/** Codes in `current` but not `previous` (added) and in `previous` but not `current` (removed), each sorted. */
export function segmentChanges(previous: readonly string[], current: readonly string[]): { added: string[]; removed: string[] } {
  const before = new Set(previous);
  const after = new Set(current);
  return {
    added: sortedUnique(current.filter((c) => !before.has(c))),
    removed: sortedUnique(previous.filter((c) => !after.has(c))),
  };
}

/** Sorts in place by UTF-16 code units and drops repeats. */
function sortedUnique(codes: string[]): string[] {
  if (codes.length < 2) return codes;
  codes.sort();
  let n = 1;
  for (let i = 1; i < codes.length; i++) if (codes[i] !== codes[n - 1]) codes[n++] = codes[i]!;
  codes.length = n;
  return codes;
}
