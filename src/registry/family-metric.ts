import type { Metric } from 'prom-client';
import type { MetricFamily } from '../sources/metric-family';

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
  private values: FamilyValues;

  constructor(family: MetricFamily) {
    this.values = familyValues(family);
  }

  get name(): string {
    return this.values.name;
  }
  get help(): string {
    return this.values.help;
  }
  get type(): FamilyValues['type'] {
    return this.values.type;
  }

  /** Samples this family exposes (a histogram: its buckets, _sum and _count). */
  get seriesCount(): number {
    return this.values.values.length;
  }

  update(family: MetricFamily): void {
    this.values = familyValues(family);
  }

  /**
   * Returns copies of the value objects: prom-client's registry replaces each
   * value's `labels` with a copy carrying the default labels. The label
   * objects themselves are shared (nobody writes into them), which spares a
   * copy per series per read.
   */
  async get(): Promise<FamilyValues> {
    const current = this.values;
    return { ...current, values: current.values.map((value) => ({ ...value })) };
  }

  reset(): void {
    // A snapshot has nothing to reset; the next poll replaces it.
  }

  /** The typed view for Registry.registerMetric, whose declared parameter lists only prom-client's own classes. */
  asRegistryMetric(): Metric {
    return this as unknown as Metric;
  }
}
