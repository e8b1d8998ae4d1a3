// Turns prom-client's registry.getMetricsAsJSON() output into flat
// remote-write series (sorted label pairs with __name__) and per-family
// metadata.
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
// names are sorted by plain code-unit order and are unique.

import type { MetricObjectWithValues, MetricValue, MetricValueWithName } from 'prom-client';
import { MetricTypeNumber } from './write-request-schema';

/** One family as returned by registry.getMetricsAsJSON(). */
export type RegistryFamily = MetricObjectWithValues<MetricValue<string>>;
export type RegistryValue = MetricValue<string>;
export type RawLabels = RegistryValue['labels'];

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

export const METRIC_NAME_LABEL = '__name__';

/** Plain code-unit order. Never localeCompare. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A number formatted as the Prometheus text format writes it
 * (prom-client's getValueAsString): `+Inf`, `-Inf`, otherwise String(n).
 */
export function formatNumber(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (n !== n) return 'NaN';
  return String(n);
}

/** A label value as a string; numbers (e.g. a histogram's `le`) formatted like the text format. */
export function labelValueToString(value: string | number | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatNumber(value);
  if (value === undefined || value === null) return undefined;
  return String(value);
}

/** The series name: the value's metricName (histogram/summary parts) or the family name. */
export function seriesMetricName(family: RegistryFamily, value: RegistryValue): string {
  const named = (value as MetricValueWithName<string>).metricName;
  return typeof named === 'string' ? named : family.name;
}

/**
 * Canonical remote-write labels of one series: __name__ plus the value's
 * labels plus the external labels it lacks, empty names/values dropped,
 * sorted by code-unit order.
 * A `__name__` key inside the labels object is ignored (metricName wins).
 */
export function canonicalLabels(
  metricName: string,
  labels: RawLabels | undefined,
  externalLabels: Readonly<Record<string, string>> = {},
): LabelPair[] {
  const out: LabelPair[] = [];
  if (metricName !== '') out.push({ name: METRIC_NAME_LABEL, value: metricName });
  if (labels) {
    for (const name in labels) {
      if (name === '' || name === METRIC_NAME_LABEL) continue;
      const value = labelValueToString(labels[name]);
      if (value === undefined || value === '') continue;
      out.push({ name, value });
    }
  }
  // External labels (job, instance) as Prometheus applies them: only where the series has no label of that name.
  for (const name in externalLabels) {
    const value = externalLabels[name]!;
    if (name === '' || name === METRIC_NAME_LABEL || value === '' || out.some((l) => l.name === name)) continue;
    out.push({ name, value });
  }
  // Object keys are unique, and __name__ was skipped above, so sorting is
  // enough to give unique, ordered names.
  out.sort((a, b) => compareCodeUnits(a.name, b.name));
  return out;
}

/** prom-client type ('counter', ...; or its TS enum number) to the remote-write MetricType. */
export function metricTypeNumber(type: unknown): number {
  switch (type) {
    case 'counter':
      return MetricTypeNumber.COUNTER;
    case 'gauge':
      return MetricTypeNumber.GAUGE;
    case 'histogram':
      return MetricTypeNumber.HISTOGRAM;
    case 'summary':
      return MetricTypeNumber.SUMMARY;
    // prom-client's index.d.ts declares `enum MetricType { Counter, Gauge, Histogram, Summary }`.
    case 0:
      return MetricTypeNumber.COUNTER;
    case 1:
      return MetricTypeNumber.GAUGE;
    case 2:
      return MetricTypeNumber.HISTOGRAM;
    case 3:
      return MetricTypeNumber.SUMMARY;
    default:
      return MetricTypeNumber.UNKNOWN;
  }
}

/**
 * Whether a family's series belong together in one request: a histogram's
 * buckets/_sum/_count, a summary's quantiles/_sum/_count.
 */
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
