import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** What a poll hands to the sinks: its timestamp, and the registry's samples read once for all of them. */
export interface PolledMetrics {
  readonly timestampMs: number;
  /** registry.getMetricsAsJSON(), read at most once per poll however many sinks ask. */
  readonly families: () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;
}

/** Where a poll's metrics go after the registry: a push destination. */
export interface Sink {
  /** Called after each poll (successful or not); must not wait on the network. */
  afterPoll(poll: PolledMetrics): Promise<void>;
  /** Delivers what it can within `deadlineMs`, then lets go. */
  stop(deadlineMs: number): Promise<void>;
}
