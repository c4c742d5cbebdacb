// Suggests the closest allowed word for a typo ("rateLimit" -> "rateLimitPerSecond"), so errors say what to write.

/** The candidate closest to `word`, or undefined when none is plausibly what was meant. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    // Case slips, truncations and missing prefixes are the commonest slips in hand-edited YAML: rank them first.
    const contained = Math.min(lower.length, other.length) >= 3 && (other.includes(lower) || lower.includes(other));
    const score = other === lower ? 0 : contained ? 1 : editDistance(lower, other) + 1;
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  // Allow roughly two slips in five characters: "retries" -> "retry", but not unrelated short words.
  const tolerance = Math.max(2, Math.ceil(word.length * 0.4)) + 1;
  return bestScore <= tolerance ? best : undefined;
}

/** Levenshtein distance between two strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
