/**
 * The one family model every source produces and everything after the
 * sources consumes: what a Prometheus scrape would store, grouped by family.
 *
 * Label values are kept as the bridge wrote them (a histogram's `le="1.0"`
 * stays "1.0", as Prometheus 2.x stores it), so forwarding is exact.
 * Family names are the names of the stored series' family in the 0.0.4 text
 * format: a counter's name carries its `_total`; an OpenMetrics `info`
 * family `x` is the gauge `x_info`.
 */

export type Labels = Readonly<Record<string, string>>;

export interface ScalarSeries {
  readonly labels: Labels;
  readonly value: number;
}

export interface Bucket {
  /** The upper bound as written, e.g. "1.0", "0.5", "+Inf". */
  readonly le: string;
  /** Cumulative count. */
  readonly count: number;
}

export interface HistogramSeries {
  readonly labels: Labels;
  /** In the order received; the `+Inf` bucket included when the bridge sent it. */
  readonly buckets: readonly Bucket[];
  readonly sum?: number;
  readonly count?: number;
}

export interface Quantile {
  readonly quantile: string;
  readonly value: number;
}

export interface SummarySeries {
  readonly labels: Labels;
  readonly quantiles: readonly Quantile[];
  readonly sum?: number;
  readonly count?: number;
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
