import type { Logger } from '../log/logger';
import type { PollOutcome } from '../sources/jvb/colibri-stats';
import type { JvbRegistryView } from './jvb-registry-view';
import { mapColibriStats } from './map-colibri-stats';
import type { PollMetrics } from './self-metrics';

export interface CollectSummary {
  readonly ok: boolean;
  readonly families: number;
  readonly series: number;
  readonly skipped: number;
}

/**
 * The "collect" step: one poll's outcome into the registry. A failed poll
 * empties the JVB's part of the registry (served values are never stale)
 * and sets jvb_up to 0; the agent's own metrics stay.
 */
export class JvbCollector {
  constructor(
    private readonly view: JvbRegistryView,
    private readonly metrics: PollMetrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  collect(outcome: PollOutcome): CollectSummary {
    this.metrics.polls.inc();
    this.metrics.duration.set(outcome.durationMs / 1000);
    if (!outcome.ok) {
      this.view.clear();
      this.metrics.up.set(0);
      this.metrics.failures.inc({ reason: outcome.reason });
      this.metrics.series.set(0);
      this.log.warn('poll failed', { reason: outcome.reason, err: outcome.message, duration_ms: Math.round(outcome.durationMs) });
      return { ok: false, families: 0, series: 0, skipped: 0 };
    }

    const mapped = mapColibriStats(outcome.stats);
    this.view.replace(mapped.families);
    for (const field of mapped.skipped) this.metrics.skipped.inc({ reason: field.reason });
    if (mapped.skipped.length > 0) {
      this.log.debug('fields skipped', { fields: mapped.skipped.map((f) => `${f.key}:${f.reason}`).join(',') });
    }
    const series = this.view.seriesCount;
    this.metrics.up.set(1);
    this.metrics.lastSuccess.set(this.now() / 1000);
    this.metrics.series.set(series);
    return { ok: true, families: mapped.families.length, series, skipped: mapped.skipped.length };
  }
}
