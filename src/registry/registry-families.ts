import type { MetricObjectWithValues, MetricValue, MetricValueWithName } from 'prom-client';
import type { Bucket, HistogramSeries, Labels, MetricFamily, Quantile, ScalarSeries, ScalarType, SummarySeries } from '../model/metric-family';

/** One family as prom-client's registry.getMetricsAsJSON() returns it. */
export type RegistryFamily = MetricObjectWithValues<MetricValue<string>>;

/**
 * prom-client's JSON (the agent's own metrics, a bridge's poll metrics) as
 * the family model the sources produce, so that everything after the
 * registry reads one shape. What prom-client does and this relies on: the
 * registry's default labels are already merged into each value's labels; a
 * histogram's values are <name>_bucket{le} (cumulative), <name>_sum and
 * <name>_count with metricName set; a summary's <name>{quantile}, <name>_sum
 * and <name>_count. Label values that are numbers (a bucket's `le`) are
 * written as the text format writes them.
 */
export function familiesFromRegistry(json: readonly RegistryFamily[]): MetricFamily[] {
  return json.map((family) => {
    const base = { name: family.name, help: typeof family.help === 'string' ? family.help : '', unit: unitOf(family) };
    const type = typeOf(family.type);
    if (type === 'histogram') return { ...base, type, series: histogramSeries(family) };
    if (type === 'summary') return { ...base, type, series: summarySeries(family) };
    // prom-client's values are { labels, value } already: taken as they are when every label value is a string.
    const series = family.values.every((value) => hasStringValues(value.labels))
      ? (family.values as ScalarSeries[])
      : family.values.map((value) => ({ labels: stringLabels(value.labels), value: value.value }));
    return { ...base, type, series };
  });
}

function histogramSeries(family: RegistryFamily): HistogramSeries[] {
  return grouped<Bucket, HistogramSeries>(
    family,
    'le',
    (labels, parts, sum, count) => ({ labels, buckets: parts, ...optional(sum, count) }),
    (le, value) => ({ le, count: value }),
  );
}

function summarySeries(family: RegistryFamily): SummarySeries[] {
  return grouped<Quantile, SummarySeries>(
    family,
    'quantile',
    (labels, parts, sum, count) => ({ labels, quantiles: parts, ...optional(sum, count) }),
    (quantile, value) => ({ quantile, value }),
  );
}

const optional = (sum: number | undefined, count: number | undefined) => ({
  ...(sum === undefined ? {} : { sum }),
  ...(count === undefined ? {} : { count }),
});

/**
 * A histogram's or summary's values regrouped by series (the labels without
 * `le`/`quantile`), in the order each series first appears.
 */
function grouped<Part, Series>(
  family: RegistryFamily,
  partLabel: 'le' | 'quantile',
  series: (labels: Labels, parts: Part[], sum: number | undefined, count: number | undefined) => Series,
  part: (label: string, value: number) => Part,
): Series[] {
  const byLabels = new Map<string, { labels: Labels; parts: Part[]; sum?: number; count?: number }>();
  for (const value of family.values) {
    const { [partLabel]: partValue, ...rest } = stringLabels(value.labels);
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let entry = byLabels.get(key);
    if (entry === undefined) byLabels.set(key, (entry = { labels: rest, parts: [] }));
    const metricName = (value as MetricValueWithName<string>).metricName ?? family.name;
    if (metricName === `${family.name}_sum`) entry.sum = value.value;
    else if (metricName === `${family.name}_count`) entry.count = value.value;
    else if (partValue !== undefined) entry.parts.push(part(partValue, value.value));
  }
  return [...byLabels.values()].map((entry) => series(entry.labels, entry.parts, entry.sum, entry.count));
}

function hasStringValues(labels: MetricValue<string>['labels'] | undefined): boolean {
  if (typeof labels !== 'object' || labels === null) return false;
  for (const name in labels) if (typeof labels[name] !== 'string') return false;
  return true;
}

/** Label values as strings, as the text format writes them (numbers, +Inf/-Inf/NaN); absent ones dropped. */
function stringLabels(labels: MetricValue<string>['labels'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in labels) {
    const value: unknown = labels[name];
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'number') out[name] = value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value);
    else if (value !== undefined && value !== null) out[name] = String(value);
  }
  return out;
}

/** prom-client's type: 'counter', ... at run time, or the number of its TypeScript enum (Counter, Gauge, Histogram, Summary). */
export function typeOf(type: unknown): ScalarType | 'histogram' | 'summary' {
  switch (type) {
    case 'counter':
    case 0:
      return 'counter';
    case 'gauge':
    case 1:
      return 'gauge';
    case 'histogram':
    case 2:
      return 'histogram';
    case 'summary':
    case 3:
      return 'summary';
    default:
      return 'untyped';
  }
}

function unitOf(family: RegistryFamily): string {
  const unit = (family as { unit?: unknown }).unit;
  return typeof unit === 'string' ? unit : '';
}
