import type { Metric } from 'prom-client';
import { type MetricFamily, sampleCount } from '../model/metric-family';

/** Label objects are shared, never written: readers that add labels (prom-client's default labels, the fleet's instance) replace the object. */
type ValueLabels = Readonly<Record<string, string | number>>;

/**
 * What prom-client's metrics return from `get()` at run time (its .d.ts
 * declares `type` as an enum and a `collect` member the registry never reads).
 */
export interface FamilyValues {
  readonly name: string;
  readonly help: string;
  readonly type: MetricFamily['type'];
  readonly unit: string;
  readonly aggregator: 'first';
  readonly values: ReadonlyArray<{ readonly labels: ValueLabels; readonly value: number; readonly metricName?: string }>;
}

/** One family as prom-client's value list: a histogram's buckets, _sum and _count as its own Histogram gives them. */
export function familyValues(family: MetricFamily): FamilyValues {
  const values: Array<{ labels: ValueLabels; value: number; metricName?: string }> = [];
  const { name } = family;
  switch (family.type) {
    case 'histogram':
      for (const s of family.series) {
        for (const b of s.buckets) values.push({ labels: { ...s.labels, le: b.le }, value: b.count, metricName: `${name}_bucket` });
        if (s.sum !== undefined) values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
        if (s.count !== undefined) values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
      }
      break;
    case 'summary':
      for (const s of family.series) {
        for (const q of s.quantiles) values.push({ labels: { ...s.labels, quantile: q.quantile }, value: q.value, metricName: name });
        if (s.sum !== undefined) values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
        if (s.count !== undefined) values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
      }
      break;
    default:
      for (const s of family.series) values.push({ labels: s.labels, value: s.value });
  }
  return { name, help: family.help, type: family.type, unit: family.unit, aggregator: 'first', values };
}

/**
 * One bridge family as a metric object prom-client's Registry accepts: the
 * registry's public contract is `name`, `help`, `type`, `aggregator`,
 * `get()` and `reset()` — the same shape its own metrics and its cluster
 * aggregator use. The values are replaced wholesale after each poll, which
 * prom-client's Counter (no set) and Histogram (no bucket fill) cannot do.
 * No private field of prom-client is read or written.
 */
export class FamilyMetric {
  readonly aggregator = 'first' as const;

  constructor(private family: MetricFamily) {}

  get name(): string {
    return this.family.name;
  }
  get help(): string {
    return this.family.help;
  }
  get type(): FamilyValues['type'] {
    return this.family.type;
  }

  /** Samples this family exposes (a histogram: its buckets, _sum and _count). */
  get seriesCount(): number {
    return sampleCount(this.family);
  }

  /** The next poll's family: kept as it is, turned into prom-client's values only when someone reads them (a scrape of /metrics, a Pushgateway push). */
  update(family: MetricFamily): void {
    this.family = family;
  }

  async get(): Promise<FamilyValues> {
    return familyValues(this.family);
  }

  reset(): void {
    // A snapshot has nothing to reset; the next poll replaces it.
  }

  /** The typed view for Registry.registerMetric, whose declared parameter lists only prom-client's own classes. */
  asRegistryMetric(): Metric {
    return this as unknown as Metric;
  }
}
