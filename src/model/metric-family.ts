/**
 * The one family model every source produces and everything after the
 * sources consumes: what a Prometheus scrape would store, grouped by family.
 *
 * Label values are kept as the bridge wrote them (a histogram's `le="1.0"`
 * stays "1.0", as Prometheus 2.x stores it), so forwarding is exact.
 * Family names are the names of the stored series' family in the 0.0.4 text
 * format: a counter's name carries its `_total`; an OpenMetrics `info`
 * family `x` is the gauge `x_info`.
 *
 * Sample timestamps: a sample line of the exposition may carry its own
 * timestamp, and Prometheus stores each line at it. So every sample of the
 * model may carry one (a scalar series', a bucket's, a quantile's, a
 * histogram's or summary's `_sum` and `_count` each its own): integer
 * milliseconds since the epoch, as Prometheus reads it (0.0.4: the int64 as
 * written, exact up to 2^53; OpenMetrics: seconds times 1000, truncated
 * toward zero). A sample without one has no such property at all (never
 * `undefined`), so a body without timestamps gives objects of the same
 * shape as before; it is stamped with the poll's time, as a scrape stamps it.
 */

export type Labels = Readonly<Record<string, string>>;

export interface ScalarSeries {
  readonly labels: Labels;
  readonly value: number;
  /** The sample's own timestamp (ms); absent: the poll's time. */
  readonly timestampMs?: number;
}

export interface Bucket {
  /** The upper bound as written, e.g. "1.0", "0.5", "+Inf". */
  readonly le: string;
  /** Cumulative count. */
  readonly count: number;
  /** The `_bucket` sample's own timestamp (ms); absent: the poll's time. */
  readonly timestampMs?: number;
}

export interface HistogramSeries {
  readonly labels: Labels;
  /** In the order received; the `+Inf` bucket included when the bridge sent it. */
  readonly buckets: readonly Bucket[];
  readonly sum?: number;
  readonly count?: number;
  /** The `_sum` and `_count` samples' own timestamps (ms); absent: the poll's time. */
  readonly sumTimestampMs?: number;
  readonly countTimestampMs?: number;
}

export interface Quantile {
  readonly quantile: string;
  readonly value: number;
  /** The sample's own timestamp (ms); absent: the poll's time. */
  readonly timestampMs?: number;
}

export interface SummarySeries {
  readonly labels: Labels;
  readonly quantiles: readonly Quantile[];
  readonly sum?: number;
  readonly count?: number;
  /** The `_sum` and `_count` samples' own timestamps (ms); absent: the poll's time. */
  readonly sumTimestampMs?: number;
  readonly countTimestampMs?: number;
}

interface FamilyBase {
  readonly name: string;
  readonly help: string;
  /** OpenMetrics `# UNIT`; '' when none. */
  readonly unit: string;
}

export type ScalarType = 'counter' | 'gauge' | 'untyped';

export interface ScalarFamily extends FamilyBase {
  readonly type: ScalarType;
  readonly series: readonly ScalarSeries[];
}

export interface HistogramFamily extends FamilyBase {
  readonly type: 'histogram';
  readonly series: readonly HistogramSeries[];
}

export interface SummaryFamily extends FamilyBase {
  readonly type: 'summary';
  readonly series: readonly SummarySeries[];
}

export type MetricFamily = ScalarFamily | HistogramFamily | SummaryFamily;

/**
 * Families and the labels their registry adds to each of their series
 * (prom-client's default labels: a series' own label of that name wins).
 */
export interface LabelledFamilies {
  readonly families: readonly MetricFamily[];
  readonly labels: Labels;
}

/** How many samples (stored series) a family holds: a histogram's buckets, _sum and _count each count. */
export function sampleCount(family: MetricFamily): number {
  switch (family.type) {
    case 'histogram':
      return family.series.reduce((n, s) => n + s.buckets.length + (s.sum === undefined ? 0 : 1) + (s.count === undefined ? 0 : 1), 0);
    case 'summary':
      return family.series.reduce((n, s) => n + s.quantiles.length + (s.sum === undefined ? 0 : 1) + (s.count === undefined ? 0 : 1), 0);
    default:
      return family.series.length;
  }
}

/** Whether a family has a sample with a timestamp of its own. */
export function hasOwnTimestamps(family: MetricFamily): boolean {
  switch (family.type) {
    case 'histogram':
      return family.series.some((s) => s.sumTimestampMs !== undefined || s.countTimestampMs !== undefined || s.buckets.some((b) => b.timestampMs !== undefined));
    case 'summary':
      return family.series.some((s) => s.sumTimestampMs !== undefined || s.countTimestampMs !== undefined || s.quantiles.some((q) => q.timestampMs !== undefined));
    default:
      return family.series.some((s) => s.timestampMs !== undefined);
  }
}

/** The names a family occupies in an exposition: its own (the TYPE line) and its samples' (a histogram `x`: x_bucket, x_sum, x_count). */
export function occupiedNames(family: Pick<MetricFamily, 'name' | 'type'>): string[] {
  switch (family.type) {
    case 'histogram':
      return [family.name, `${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`];
    case 'summary':
      return [family.name, `${family.name}_sum`, `${family.name}_count`];
    default:
      return [family.name];
  }
}
