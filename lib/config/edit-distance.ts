/**
 * "Did you mean …?" for misspelled keys and words of `server.conf`.
 *
 * The distance is Damerau–Levenshtein in its "optimal string alignment" form:
 * the fewest insertions, deletions, substitutions and swaps of two adjacent
 * characters turning one word into the other, no substring edited twice.
 * A swap counts once, so `max_conenctions` is one step from `max_connections`.
 */

/** How far a word may be from a valid one and still get a suggestion. */
export const MAX_SUGGESTION_DISTANCE = 2;

/** Optimal string alignment distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  // d[i][j] = distance between the first i characters of a and the first j of b.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        d[i - 1]![j]! + 1, // delete a[i-1]
        d[i]![j - 1]! + 1, // insert b[j-1]
        d[i - 1]![j - 1]! + cost, // substitute (or keep)
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1); // swap two neighbours
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** A candidate this long or longer is suggested for a word that starts with it. */
const MIN_PREFIX_SUGGESTION = 3;

/**
 * The candidate nearest to `word`, if one is within `maxDistance`. Letter case
 * and `-` versus `_` are forgiven first (`Max-Connections` → `max_connections`).
 * Ties go to the earlier candidate. Failing that, a candidate the word starts
 * with (`warning` → `warn`).
 */
export function nearest(word: string, candidates: readonly string[], maxDistance = MAX_SUGGESTION_DISTANCE): string | undefined {
  const normalized = word.toLowerCase().replaceAll('-', '_');
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of candidates) {
    const distance = editDistance(normalized, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best ?? candidates.find((candidate) => candidate.length >= MIN_PREFIX_SUGGESTION && normalized.startsWith(candidate));
}
