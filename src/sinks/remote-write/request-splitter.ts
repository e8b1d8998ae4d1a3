// Decides where a poll's ordered list of samples is cut into requests of at
// most `max` samples, without cutting groups that belong together.
//
// Each position i carries the strength of the boundary *after* sample i:
//   UNIT_END  - end of a unit: a gauge/counter series, or a whole histogram
//               or summary family. Cutting here is always fine.
//   ATOM_END  - end of one child of a histogram/summary (its buckets, _sum and
//               _count). Cut here only when the family alone exceeds `max`.
//   INSIDE    - inside a child. Cut here only when the child alone exceeds `max`.

export const INSIDE = 0;
export const ATOM_END = 1;
export const UNIT_END = 2;

/**
 * Returns the exclusive end index of each request covering [0, n).
 * `boundary[i]` is the boundary strength after sample i (the last one is
 * treated as UNIT_END). Fills each request greedily: whole units; a unit
 * that does not fit but would fit a request of its own starts the next one;
 * a larger unit goes child by child, and a child larger than a request is
 * cut where the request is full.
 */
export function splitPoints(boundary: ArrayLike<number>, n: number, max: number): number[] {
  /** The end of the group (at `level`) that sample `from` belongs to. */
  const endOf = (from: number, level: number) => {
    let e = from;
    while (e < n - 1 && boundary[e]! < level) e++;
    return e + 1;
  };
  const ends: number[] = [];
  let start = 0; // of the current request
  let unitEnd = 0;
  for (let i = 0; i < n; ) {
    const atUnitStart = i >= unitEnd;
    if (atUnitStart) unitEnd = endOf(i, UNIT_END);
    if (unitEnd - start <= max) {
      i = unitEnd;
    } else if (atUnitStart && i > start && unitEnd - i <= max) {
      ends.push((start = i));
    } else {
      const atomEnd = endOf(i, ATOM_END);
      if (atomEnd - start <= max) i = atomEnd;
      else ends.push((start = i > start ? i : (i = start + max)));
    }
  }
  if (n > 0) ends.push(n);
  return ends;
}
