import { type FieldPlace, type MappedStats, histogramCounts, histogramFromCounts, mapColibriStats } from './map-colibri-stats';
import type { ColibriStats } from './parse-colibri-stats';

/** The last body mapped in full: its keys in body order, what became of each field's value, and the result. */
interface Plan {
  readonly keys: readonly string[];
  readonly places: readonly FieldPlace[];
  readonly result: MappedStats;
  /** This poll's scalar values and histogram counts, checked in full before any is written. */
  readonly values: Float64Array;
  readonly histograms: (readonly number[] | undefined)[];
}

/**
 * Maps the successive /colibri/stats bodies of one bridge. A bridge sends
 * the same keys every time with new numbers, so when a body has the last
 * one's keys in the same order, every number still maps to the same series
 * (finite; not negative for a counter), every array to the same histogram,
 * and every other value (an info label, a skipped field) is unchanged, the
 * last result is kept and its values are rewritten in place: no name, rule,
 * family or series is looked up or made again. Anything else is mapped in
 * full by mapColibriStats(), so the result never differs from a full map.
 *
 * The families returned are those of the last call, updated: a caller must
 * be done with one poll's families before the next poll.
 */
export class ColibriMapper {
  private plan: Plan | undefined;

  /** `keys`: Object.keys(stats), which the caller has at hand. */
  map(stats: ColibriStats, keys: readonly string[]): MappedStats {
    const plan = this.plan;
    if (plan !== undefined && this.remap(plan, stats, keys)) return plan.result;
    const places = new Map<string, FieldPlace>();
    const result = mapColibriStats(stats, places);
    this.plan = {
      keys,
      places: keys.map((key) => places.get(key)!),
      result,
      values: new Float64Array(keys.length),
      histograms: new Array<readonly number[] | undefined>(keys.length),
    };
    return result;
  }

  private remap(plan: Plan, stats: ColibriStats, keys: readonly string[]): boolean {
    const { places, values, histograms } = plan;
    if (keys.length !== plan.keys.length) return false;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== plan.keys[i]) return false;
    }
    for (let i = 0; i < keys.length; i++) {
      const place = places[i]!;
      const value = stats[keys[i]!];
      switch (place.kind) {
        case 'scalar':
          // (A field that was a number and now is a string or boolean is mapped in full.)
          if (typeof value !== 'number' || !Number.isFinite(value) || (place.counter && value < 0)) return false;
          values[i] = value * place.scale;
          break;
        case 'histogram': {
          const counts = histogramCounts(value);
          if (counts === undefined) return false;
          histograms[i] = counts;
          break;
        }
        case 'fixed':
          if (value !== place.value) return false;
          break;
        case 'ignored':
          break;
      }
    }
    for (let i = 0; i < keys.length; i++) {
      const place = places[i]!;
      if (place.kind === 'scalar') place.series.value = values[i]!;
      else if (place.kind === 'histogram') {
        // (A histogram has a bucket per bound and +Inf whatever the counts, so the lengths agree.)
        const fresh = histogramFromCounts('', '', histograms[i]!).series[0]!;
        place.series.buckets.forEach((bucket, j) => (bucket.count = fresh.buckets[j]!.count));
        place.series.count = fresh.count;
        place.series.sum = fresh.sum;
        histograms[i] = undefined;
      }
    }
    return true;
  }
}
