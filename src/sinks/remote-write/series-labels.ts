// The remote-write labels and metadata of the family model's series.
//
// Rules (remote-write 1.0 spec, and how Prometheus applies labels): __name__
// is the sample's name; a histogram's `le` or a summary's `quantile` beats a
// series label of that name, a series' own label beats the labels its
// registry adds, and those beat the external labels (job, instance);
// empty-valued labels are dropped; label names are sorted by plain code-unit
// order (never localeCompare) and unique.

import type { Labels, MetricFamily } from '../../model/metric-family';
import { MetricTypeNumber } from './write-request-schema';

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

/**
 * Canonical remote-write labels of one sample: __name__, then (by
 * precedence) the sample's own part label (`le`, `quantile`), the series'
 * labels, its registry's labels and the external labels. A `__name__` key
 * among them is ignored (`metricName` wins).
 */
export function canonicalLabels(
  metricName: string,
  labels: Labels,
  part?: LabelPair,
  registryLabels: Labels = {},
  externalLabels: Labels = {},
): LabelPair[] {
  const out: LabelPair[] = metricName === '' ? [] : [{ name: '__name__', value: metricName }];
  const add = (name: string, value: string | undefined) => {
    if (name !== '' && name !== '__name__' && value !== undefined && value !== '' && !out.some((l) => l.name === name)) out.push({ name, value });
  };
  if (part !== undefined) add(part.name, part.value);
  for (const name in labels) add(name, labels[name]);
  for (const name in registryLabels) add(name, registryLabels[name]);
  for (const name in externalLabels) add(name, externalLabels[name]);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const TYPE_NUMBERS: Readonly<Record<MetricFamily['type'], number>> = {
  counter: MetricTypeNumber.COUNTER,
  gauge: MetricTypeNumber.GAUGE,
  histogram: MetricTypeNumber.HISTOGRAM,
  summary: MetricTypeNumber.SUMMARY,
  untyped: MetricTypeNumber.UNKNOWN,
};

/** A family's type as the remote-write MetricType. */
export function metricTypeNumber(type: MetricFamily['type']): number {
  return TYPE_NUMBERS[type];
}

/** One metadata entry per family name (first occurrence wins). */
export function metadataFromFamilies(families: Iterable<MetricFamily>): FamilyMetadata[] {
  const seen = new Set<string>();
  const out: FamilyMetadata[] = [];
  for (const family of families) {
    if (!family.name || seen.has(family.name)) continue;
    seen.add(family.name);
    out.push({ type: metricTypeNumber(family.type), metricFamilyName: family.name, help: family.help, unit: family.unit });
  }
  return out;
}
