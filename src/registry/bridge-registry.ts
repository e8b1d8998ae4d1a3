import { Registry, type Counter, type Gauge } from 'prom-client';
import { ConditionLog } from '../log/condition-log';
import type { Logger } from '../log/logger';
import type { Labels, LabelledFamilies, MetricFamily } from '../model/metric-family';
import { hasOwnTimestamps, occupiedNames } from '../model/metric-family';
import type { PollOutcome, SkippedField } from '../sources/source';
import { FamilyMetric } from './family-metric';
import { registryText } from './timestamped-text';
import { PollFamilies } from './poll-families';
import { createPollMetrics, type PollMetrics } from './self-metrics';
import { POLL_FAILURE_REASONS, SKIP_REASONS } from '../sources/source';

export interface CollectSummary {
  readonly ok: boolean;
  readonly families: number;
  readonly series: number;
  readonly skipped: number;
}

/**
 * One bridge's part of what the agent exposes: a prom-client registry of its
 * own, holding the families of its last poll and the health of its polls.
 * Bridges never share a registry, so two of them never collide, and a failed
 * poll withdraws that bridge's families only (its series then go stale at
 * the receivers; the others' do not).
 *
 * Each update is synchronous, so a scrape or a push (which reads every
 * metric's get() in one tick) sees one poll whole, never a mix of two.
 *
 * Pushes read the families of the last poll as the source gave them, with
 * the registry's labels beside them (families()), not through prom-client's
 * getMetricsAsJSON(): that would build a value object, a labels object and a
 * promise per series on every poll only to take them apart again.
 */
export class BridgeRegistry {
  /** What /metrics serves for this bridge: the poll metrics and the bridge's families. */
  readonly registry = new Registry();
  private readonly labels: Labels;
  private readonly metrics: PollMetrics;
  /** The poll metrics as pushes read them: the same numbers as the registry's, written by collect(). */
  private readonly pushed: PollFamilies;
  /** The families of the last successful poll that are exposed (none after a failed poll), and their samples. */
  private kept: readonly MetricFamily[] = [];
  private keptSeries = 0;
  /**
   * The families of the last successful poll, in its order (the fast path of
   * the next one); by name, the registry holds them (no map of our own: one
   * entry per family is memory per series at a bridge's size).
   */
  private order: FamilyMetric[] = [];
  private readonly down: ConditionLog;

  /**
   * @param reserved names owned by someone else in the same exposition (the
   *   agent's own metrics, when they are pushed with this bridge's): a bridge
   *   family with such a name is skipped as a `name_collision`.
   */
  constructor(
    readonly name: string,
    readonly job: string,
    labels: Readonly<Record<string, string>>,
    private readonly log: Logger,
    private readonly reserved: ReadonlySet<string> = new Set(),
    private readonly now: () => number = Date.now,
  ) {
    this.labels = Object.freeze({ ...labels });
    this.registry.setDefaultLabels({ ...labels });
    const pollRegistry = new Registry();
    this.metrics = createPollMetrics(this.registry, pollRegistry);
    this.pushed = new PollFamilies(
      pollRegistry,
      new Map([
        [this.metrics.failures, { label: 'reason', values: POLL_FAILURE_REASONS }],
        [this.metrics.skipped, { label: 'reason', values: SKIP_REASONS }],
      ]),
    );
    this.down = new ConditionLog(log, { now });
  }

  /** What a push of this bridge carries: its poll metrics, then the families of its last poll. */
  async families(): Promise<LabelledFamilies[]> {
    return [
      { families: this.pushed.families, labels: this.labels },
      { families: this.kept, labels: this.labels },
    ];
  }

  /**
   * The same as the text exposition 0.0.4, for pushes to a Pushgateway:
   * without sample timestamps (a Pushgateway refuses a push that has any),
   * so a sample with one is pushed as a sample without.
   */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** What /metrics serves of this bridge: the text exposition 0.0.4 with each sample's own timestamp, when it has one. */
  exposition(): Promise<string> {
    if (!this.kept.some(hasOwnTimestamps)) return this.registry.metrics();
    return registryText(this.registry, this.labels);
  }

  /** The "collect" step: one poll's outcome into this bridge's registry. */
  collect(outcome: PollOutcome): CollectSummary {
    this.inc(this.metrics.polls);
    this.set(this.metrics.duration, outcome.durationMs / 1000);
    if (!outcome.ok) {
      this.clear();
      this.kept = [];
      this.keptSeries = 0;
      this.set(this.metrics.up, 0);
      this.inc(this.metrics.failures, outcome.reason);
      this.set(this.metrics.series, 0);
      // A bridge that stays down is logged when it goes down, then once a minute with the count, then when it is back.
      const fields = { reason: outcome.reason, err: outcome.message, duration_ms: Math.round(outcome.durationMs) };
      if (!this.down.report('poll failed', fields, { failed_polls: 1 })) this.log.debug('poll failed', fields);
      return { ok: false, families: 0, series: 0, skipped: 0 };
    }
    this.down.end('JVB polls succeed again');

    const skipped: SkippedField[] = [...outcome.skipped];
    let kept: readonly MetricFamily[];
    if (outcome.families === this.kept && this.kept.length > 0) {
      // The usual poll of a bridge: the source kept its last result and wrote the new values into it,
      // so the registry already holds these very families.
      kept = this.kept;
    } else if (this.sameFamiliesAsLastPoll(outcome.families)) {
      // The same families in the same order as the last poll: nothing to check or (un)register.
      kept = outcome.families;
      kept.forEach((family, i) => this.order[i]!.update(family));
      this.keptSeries = this.countSeries();
    } else {
      kept = this.withoutCollisions(outcome.families, skipped);
      this.replace(kept);
      this.keptSeries = this.countSeries();
    }
    this.kept = kept;
    for (const field of skipped) this.inc(this.metrics.skipped, field.reason);
    if (skipped.length > 0) this.log.debug('fields skipped', { fields: skipped.map((f) => `${f.key}:${f.reason}`).join(',') });
    const series = this.keptSeries;
    this.set(this.metrics.up, 1);
    this.set(this.metrics.lastSuccess, this.now() / 1000);
    this.set(this.metrics.series, series);
    return { ok: true, families: kept.length, series, skipped: skipped.length };
  }

  /** A poll metric counts one more, in the registry (/metrics) and in what pushes read. */
  private inc(metric: Counter<string>, reason?: string): void {
    if (reason === undefined) metric.inc();
    else metric.inc({ reason });
    this.pushed.add(metric, 1, reason);
  }

  private set(metric: Gauge<string>, value: number): void {
    metric.set(value);
    this.pushed.set(metric, value);
  }

  private countSeries(): number {
    let n = 0;
    for (const metric of this.order) n += metric.seriesCount;
    return n;
  }

  private withoutCollisions(families: readonly MetricFamily[], skipped: SkippedField[]): MetricFamily[] {
    const taken = new Set<string>(this.reserved);
    for (const name of OWN_NAMES) taken.add(name);
    const kept: MetricFamily[] = [];
    for (const family of families) {
      const names = occupiedNames(family);
      if (names.some((name) => taken.has(name))) {
        skipped.push({ key: family.name, reason: 'name_collision' });
        continue;
      }
      for (const name of names) taken.add(name);
      kept.push(family);
    }
    return kept;
  }

  /** Whether `families` has the names and types of the last poll's kept families, in their order. */
  private sameFamiliesAsLastPoll(families: readonly MetricFamily[]): boolean {
    if (families.length !== this.order.length || families.length === 0) return false;
    for (let i = 0; i < families.length; i++) {
      const family = families[i]!;
      const metric = this.order[i]!;
      if (family.name !== metric.name || family.type !== metric.type) return false;
    }
    return true;
  }

  private replace(families: readonly MetricFamily[]): void {
    const last = this.order;
    this.order = [];
    const next = new Set(families.map((family) => family.name));
    for (const metric of last) {
      if (!next.has(metric.name)) this.remove(metric.name);
    }
    for (const family of families) {
      const existing = this.familyMetric(family.name);
      if (existing && existing.type === family.type) {
        existing.update(family);
        this.order.push(existing);
        continue;
      }
      if (existing) this.remove(family.name);
      const metric = new FamilyMetric(family);
      this.registry.registerMetric(metric.asRegistryMetric());
      this.order.push(metric);
    }
  }

  /** The registered family of that name (the poll metrics' names are never a family's: withoutCollisions()). */
  private familyMetric(name: string): FamilyMetric | undefined {
    const metric: unknown = this.registry.getSingleMetric(name);
    return metric instanceof FamilyMetric ? metric : undefined;
  }

  private clear(): void {
    const last = this.order;
    this.order = [];
    for (const metric of last) this.remove(metric.name);
  }

  private remove(name: string): void {
    this.registry.removeSingleMetric(name);
  }
}

/** The names of the poll metrics in every bridge registry; a bridge family cannot take them. */
const OWN_NAMES: ReadonlySet<string> = new Set(createPollMetricNames());

function createPollMetricNames(): string[] {
  const scratch = new Registry();
  createPollMetrics(scratch);
  return scratch.getMetricsAsArray().map((metric) => metric.name);
}
