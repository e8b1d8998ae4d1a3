import type { Metric } from 'prom-client';
import { type MetricFamily, hasOwnTimestamps, sampleCount } from '../model/metric-family';

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
  /** `timestamp`: the sample's own (ms), for /metrics (prom-client does not write it). */
  readonly values: ReadonlyArray<{ readonly labels: ValueLabels; readonly value: number; readonly metricName?: string; readonly timestamp?: number }>;
}

type Value = { labels: ValueLabels; value: number; metricName?: string; timestamp?: number };

/** The value, with its timestamp only when the sample has one (prom-client's shape otherwise). */
const stamped = (value: Value, timestampMs: number | undefined): Value => (timestampMs === undefined ? value : { ...value, timestamp: timestampMs });

/** One family as prom-client's value list: a histogram's buckets, _sum and _count as its own Histogram gives them. */
export function familyValues(family: MetricFamily): FamilyValues {
  const values: Value[] = [];
  const { name } = family;
  switch (family.type) {
    case 'histogram':
      for (const s of family.series) {
        for (const b of s.buckets) values.push(stamped({ labels: { ...s.labels, le: b.le }, value: b.count, metricName: `${name}_bucket` }, b.timestampMs));
        if (s.sum !== undefined) values.push(stamped({ labels: s.labels, value: s.sum, metricName: `${name}_sum` }, s.sumTimestampMs));
        if (s.count !== undefined) values.push(stamped({ labels: s.labels, value: s.count, metricName: `${name}_count` }, s.countTimestampMs));
      }
      break;
    case 'summary':
      for (const s of family.series) {
        for (const q of s.quantiles) values.push(stamped({ labels: { ...s.labels, quantile: q.quantile }, value: q.value, metricName: name }, q.timestampMs));
        if (s.sum !== undefined) values.push(stamped({ labels: s.labels, value: s.sum, metricName: `${name}_sum` }, s.sumTimestampMs));
        if (s.count !== undefined) values.push(stamped({ labels: s.labels, value: s.count, metricName: `${name}_count` }, s.countTimestampMs));
      }
      break;
    default:
      for (const s of family.series) values.push(stamped({ labels: s.labels, value: s.value }, s.timestampMs));
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

  /** Whether a sample of the family has a timestamp of its own (then /metrics writes it: timestamped-text.ts). */
  get timestamped(): boolean {
    return hasOwnTimestamps(this.family);
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
