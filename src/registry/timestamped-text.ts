import type { Registry } from 'prom-client';
import type { Labels } from '../model/metric-family';
import { FamilyMetric } from './family-metric';

/**
 * The text exposition 0.0.4 of families whose samples carry timestamps of
 * their own, for /metrics: prom-client writes no sample timestamps (its
 * aggregation drops them too), so the families that have some are written
 * here, line for line as prom-client 15's Registry writes a metric
 * (`# HELP`, `# TYPE`, then `name{labels} value`), each sample followed by
 * its timestamp, as Prometheus' /federate writes them. Everything else is
 * still written by prom-client.
 *
 * A sample whose timestamp the format cannot carry (before 1970, or beyond
 * 2^53 ms: 0.0.4 timestamps are unsigned int64 digits, and a larger double
 * is not written exactly) is left out: no Prometheus would store it, and one
 * bad timestamp would fail the whole scrape.
 */

/** A sample as prom-client's metrics give it (get(), getMetricsAsJSON()), with its timestamp when it has one (FamilyValues). */
interface Value {
  readonly labels?: Readonly<Partial<Record<string, string | number>>>;
  readonly value: number;
  readonly metricName?: string;
  readonly timestamp?: number;
}
/** A metric as prom-client's metrics give it. */
interface MetricJson {
  readonly name: string;
  readonly help: string;
  readonly type: unknown;
  readonly values?: readonly Value[];
  readonly aggregator?: unknown;
}

const hasTimestamp = (metric: { readonly values?: readonly Value[] }) => (metric.values ?? []).some((v) => v.timestamp !== undefined);

/** Whether a timestamp can be written in the text format 0.0.4. */
function writable(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= 0;
}

const escapeString = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabelValue = (v: unknown) => (typeof v === 'string' ? escapeString(v).replace(/"/g, '\\"') : v);

/** A value as prom-client writes it. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** One metric's lines as prom-client 15 writes them (a registry's default labels after the series' own), with each sample's timestamp. */
export function metricText(metric: MetricJson, defaultLabels: Labels | undefined): string {
  const name = escapeString(metric.name);
  const lines = [`# HELP ${name} ${escapeString(metric.help)}`, `# TYPE ${name} ${String(metric.type)}`];
  const defaults = defaultLabels !== undefined && Object.keys(defaultLabels).length > 0 ? defaultLabels : undefined;
  for (const value of metric.values ?? []) {
    if (value.timestamp !== undefined && !writable(value.timestamp)) continue;
    const own = value.labels ?? {};
    const labels = defaults === undefined ? own : { ...own, ...defaults, ...own };
    const parts = Object.entries(labels).map(([label, v]) => `${label}="${escapeLabelValue(v)}"`);
    const line = `${value.metricName ?? name}${parts.length > 0 ? `{${parts.join(',')}}` : ''} ${valueText(value.value)}`;
    lines.push(value.timestamp === undefined ? line : `${line} ${value.timestamp}`);
  }
  return lines.join('\n');
}

/** A registry's text as `registry.metrics()` writes it, but its bridge families with timestamps written with them. */
export async function registryText(registry: Registry, defaultLabels: Labels): Promise<string> {
  const parts = await Promise.all(
    registry.getMetricsAsArray().map(async (metric) => {
      const held: unknown = metric;
      if (held instanceof FamilyMetric && held.timestamped) return metricText(await held.get(), defaultLabels);
      return registry.getSingleMetricAsString(metric.name);
    }),
  );
  return `${parts.join('\n\n')}\n`;
}

/** Whether any of these metrics (a registry's getMetricsAsJSON()) has a sample with a timestamp. */
export function anyTimestamps(metrics: ReadonlyArray<readonly MetricJson[]>): boolean {
  return metrics.some((list) => list.some(hasTimestamp));
}

/**
 * Several registries' metrics (getMetricsAsJSON(), labels complete) as one
 * exposition, as prom-client's AggregatorRegistry.aggregate(...).metrics()
 * writes them with the `first` aggregator, timestamps kept: one family per
 * name (its HELP and TYPE from the first registry that has it), its samples
 * in order, a sample of the same name and labels as an earlier one left out
 * (bridges' samples differ by their instance, so none is).
 */
export function mergedText(metrics: ReadonlyArray<readonly MetricJson[]>): string {
  const byName = new Map<string, { metric: MetricJson; values: Value[]; seen: Set<string> }>();
  for (const list of metrics) {
    for (const metric of list) {
      if (metric.aggregator === 'omit') continue;
      let merged = byName.get(metric.name);
      if (merged === undefined) byName.set(metric.name, (merged = { metric, values: [], seen: new Set() }));
      for (const value of metric.values ?? []) {
        const labels = value.labels ?? {};
        const key = `${value.metricName}\n${Object.keys(labels)
          .sort()
          .map((label) => `${label}\u0000${String(labels[label])}`)
          .join('\u0000')}`;
        if (merged.seen.has(key)) continue;
        merged.seen.add(key);
        merged.values.push(value);
      }
    }
  }
  const parts = [...byName.values()].map(({ metric, values }) => metricText({ ...metric, values }, undefined));
  return `${parts.join('\n\n')}\n`;
}
