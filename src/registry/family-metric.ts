import type { Metric } from 'prom-client';
import type { JvbMetricFamily } from './jvb-metric-family';

/**
 * What prom-client's metrics return from `get()` at run time (its .d.ts
 * declares `type` as an enum and a `collect` member the registry never reads).
 */
export interface FamilyValues {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: ReadonlyArray<{ readonly labels: Record<string, string | number>; readonly value: number; readonly metricName?: string }>;
}

/** prom-client's own value list for one family, as `metric.get()` returns it for its Histogram, Gauge and Counter. */
export function familyValues(family: JvbMetricFamily): FamilyValues {
  if (family.kind === 'scalar') {
    return {
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      values: family.samples.map((sample) => ({ labels: { ...sample.labels }, value: sample.value })),
    };
  }
  const bucketName = `${family.name}_bucket`;
  return {
    name: family.name,
    help: family.help,
    type: 'histogram',
    aggregator: 'sum',
    values: [
      ...family.buckets.map((bucket) => ({ labels: { le: bucket.le }, value: bucket.count, metricName: bucketName })),
      { labels: { le: '+Inf' }, value: family.count, metricName: bucketName },
      { labels: {}, value: family.sum, metricName: `${family.name}_sum` },
      { labels: {}, value: family.count, metricName: `${family.name}_count` },
    ],
  };
}

/**
 * One JVB family as a metric object prom-client's Registry accepts: the
 * registry's public contract is `name`, `help`, `type`, `aggregator`,
 * `get()` and `reset()` — the same shape its own metrics and its cluster
 * aggregator use. The values are replaced wholesale after each poll, which
 * prom-client's Counter (no set) and Histogram (no bucket fill) cannot do.
 * No private field of prom-client is read or written.
 */
export class FamilyMetric {
  readonly aggregator = 'sum' as const;
  private values: FamilyValues;

  constructor(family: JvbMetricFamily) {
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

  update(family: JvbMetricFamily): void {
    this.values = familyValues(family);
  }

  /** Returns a copy: prom-client's registry adds default labels to what it gets. */
  async get(): Promise<FamilyValues> {
    const current = this.values;
    return { ...current, values: current.values.map((value) => ({ ...value, labels: { ...value.labels } })) };
  }

  reset(): void {
    // A snapshot has nothing to reset; the next poll replaces it.
  }

  /** The typed view for Registry.registerMetric, whose declared parameter lists only prom-client's own classes. */
  asRegistryMetric(): Metric {
    return this as unknown as Metric;
  }
}
