/**
 * Prometheus' histogram_quantile for classic buckets, written from its
 * documented rule (linear interpolation inside the bucket that holds the
 * rank; the first bucket starts at 0 unless its bound is <= 0; a rank in the
 * +Inf bucket answers the highest finite bound), to check its answers
 * independently of our code.
 */
export function expectedQuantile(q: number, bounds: readonly number[], cumulative: readonly number[]): number {
  const total = cumulative[cumulative.length - 1]!;
  const rank = q * total;
  const i = cumulative.findIndex((c) => c >= rank);
  if (bounds[i] === Infinity) return bounds[i - 1]!;
  if (i === 0 && bounds[0]! <= 0) return bounds[0]!;
  const start = i === 0 ? 0 : bounds[i - 1]!;
  const below = i === 0 ? 0 : cumulative[i - 1]!;
  return start + (bounds[i]! - start) * ((rank - below) / (cumulative[i]! - below));
}

/** The seed-style JVB histogram of a conference_sizes array: bounds 0..20 and +Inf, cumulative counts. */
export function jvbHistogram(counts: readonly number[]): { bounds: number[]; cumulative: number[] } {
  const bounds = [...Array.from({ length: 21 }, (_, i) => i), Infinity];
  let running = 0;
  const cumulative = bounds.map((le) => {
    if (le === Infinity) return counts.reduce((a, b) => a + b, 0);
    running += counts[le] ?? 0;
    return running;
  });
  return { bounds, cumulative };
}
