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
 * treated as UNIT_END).
 */
export function splitPoints(boundary: ArrayLike<number>, n: number, max: number): number[] {
  const ends: number[] = [];
  let start = 0;
  while (start < n) {
    if (n - start <= max) {
      ends.push(n);
      break;
    }
    const limit = start + max; // a cut at `limit` would fill the request exactly
    // The unit straddling `limit` begins after the last UNIT_END at or before limit.
    let unitStart = start;
    for (let e = limit; e > start; e--) {
      if (boundary[e - 1] === UNIT_END) {
        unitStart = e;
        break;
      }
    }
    if (unitStart === limit) {
      ends.push(limit);
      start = limit;
      continue;
    }
    // Does that unit fit in one request on its own? Look for its end within max of its start.
    let unitFits = false;
    const scanTo = Math.min(n, unitStart + max);
    for (let e = limit + 1; e <= scanTo; e++) {
      if (e === n || boundary[e - 1] === UNIT_END) {
        unitFits = true;
        break;
      }
    }
    if (unitFits && unitStart > start) {
      // Keep the unit whole: it starts the next request.
      ends.push(unitStart);
      start = unitStart;
      continue;
    }
    // The unit is larger than a request: cut at its last child end before limit,
    // or, if a single child is too large, exactly at limit.
    let cut = limit;
    for (let e = limit; e > start; e--) {
      if (boundary[e - 1] >= ATOM_END) {
        cut = e;
        break;
      }
    }
    ends.push(cut);
    start = cut;
  }
  return ends;
}
