// Turns prom-client's registry.getMetricsAsJSON() output into remote-write
// labels (sorted pairs with __name__) and per-family metadata.
//
// What prom-client already does, and this module relies on:
// - the registry's default labels are merged into every value's labels, the
//   series' own label winning (Registry#getMetricsAsJSON);
// - a histogram's values come out as <name>_bucket{le} (cumulative, the
//   "+Inf" bucket equal to the count), <name>_sum and <name>_count, with
//   metricName set; summaries as <name>{quantile}, <name>_sum, <name>_count.
//
// Rules applied here (remote-write 1.0 spec): __name__ is the value's
// metricName or else the family name; empty-valued labels are dropped; label
// names are sorted by plain code-unit order (never localeCompare) and unique.

import type { MetricObjectWithValues, MetricValue, MetricValueWithName } from 'prom-client';
import { MetricTypeNumber } from './write-request-schema';

/** One family as returned by registry.getMetricsAsJSON(). */
export type RegistryFamily = MetricObjectWithValues<MetricValue<string>>;
export type RawLabels = MetricValue<string>['labels'];

export interface LabelPair {
  name: string;
  value: string;
}

export interface FamilyMetadata {
  /** prometheus.MetricMetadata.MetricType wire number. */
  type: number;
  metricFamilyName: string;
  help: string;
  unit: string;
}

/** A label value as the text format writes it: numbers (e.g. a histogram's `le`) as prom-client does, +Inf/-Inf/NaN. */
function labelValueToString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value);
  return value === undefined || value === null ? undefined : String(value);
}

/** The series name: the value's metricName (histogram/summary parts) or the family name. */
export function seriesMetricName(family: RegistryFamily, value: MetricValue<string>): string {
  const named = (value as MetricValueWithName<string>).metricName;
  return typeof named === 'string' ? named : family.name;
}

/**
 * Canonical remote-write labels of one series: __name__ plus the value's
 * labels plus the external labels it lacks (as Prometheus applies them),
 * empty names/values dropped, sorted by code-unit order. A `__name__` key
 * inside the labels object is ignored (metricName wins).
 */
export function canonicalLabels(
  metricName: string,
  labels: RawLabels | undefined,
  externalLabels: Readonly<Record<string, string>> = {},
): LabelPair[] {
  const out: LabelPair[] = metricName === '' ? [] : [{ name: '__name__', value: metricName }];
  const add = (name: string, value: string | undefined) => {
    if (name !== '' && name !== '__name__' && value !== undefined && value !== '' && !out.some((l) => l.name === name)) out.push({ name, value });
  };
  for (const name in labels) add(name, labelValueToString(labels[name]));
  for (const name in externalLabels) add(name, externalLabels[name]);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const TYPE_NUMBERS = new Map<unknown, number>([
  ['counter', MetricTypeNumber.COUNTER],
  ['gauge', MetricTypeNumber.GAUGE],
  ['histogram', MetricTypeNumber.HISTOGRAM],
  ['summary', MetricTypeNumber.SUMMARY],
  // prom-client's index.d.ts declares `enum MetricType { Counter, Gauge, Histogram, Summary }`.
  [0, MetricTypeNumber.COUNTER],
  [1, MetricTypeNumber.GAUGE],
  [2, MetricTypeNumber.HISTOGRAM],
  [3, MetricTypeNumber.SUMMARY],
]);

/** prom-client type ('counter', ...; or its TS enum number) to the remote-write MetricType. */
export function metricTypeNumber(type: unknown): number {
  return TYPE_NUMBERS.get(type) ?? MetricTypeNumber.UNKNOWN;
}

/** Whether a family's series belong together in one request: a histogram's buckets/_sum/_count, a summary's quantiles/_sum/_count. */
export function keepFamilyTogether(type: unknown): boolean {
  const t = metricTypeNumber(type);
  return t === MetricTypeNumber.HISTOGRAM || t === MetricTypeNumber.SUMMARY;
}

/** One metadata entry per family name (first occurrence wins). */
export function metadataFromFamilies(families: readonly RegistryFamily[]): FamilyMetadata[] {
  const seen = new Set<string>();
  const out: FamilyMetadata[] = [];
  for (const family of families) {
    if (!family.name || seen.has(family.name)) continue;
    seen.add(family.name);
    const unit = (family as { unit?: unknown }).unit;
    out.push({
      type: metricTypeNumber(family.type),
      metricFamilyName: family.name,
      help: typeof family.help === 'string' ? family.help : '',
      unit: typeof unit === 'string' ? unit : '',
    });
  }
  return out;
}
