import type { Registry } from 'prom-client';
import { FamilyMetric } from './family-metric';
import type { JvbMetricFamily } from './jvb-metric-family';

/**
 * Keeps the JVB's families in a prom-client registry in step with the last
 * poll: new families are registered, vanished ones removed, and on a failed
 * poll all are removed, so stale values are never served as if fresh.
 * Each update is synchronous, so a scrape (which calls every metric's get()
 * in one tick) sees one poll whole, never a mix of two.
 */
export class JvbRegistryView {
  private readonly current = new Map<string, FamilyMetric>();

  constructor(private readonly registry: Registry) {}

  replace(families: readonly JvbMetricFamily[]): void {
    const next = new Set(families.map((family) => family.name));
    for (const [name] of this.current) {
      if (!next.has(name)) this.remove(name);
    }
    for (const family of families) {
      const existing = this.current.get(family.name);
      if (existing && existing.type === (family.kind === 'histogram' ? 'histogram' : family.type)) {
        existing.update(family);
        continue;
      }
      if (existing) this.remove(family.name);
      const metric = new FamilyMetric(family);
      this.registry.registerMetric(metric.asRegistryMetric());
      this.current.set(family.name, metric);
    }
  }

  clear(): void {
    for (const [name] of this.current) this.remove(name);
  }

  get seriesCount(): number {
    let n = 0;
    for (const metric of this.current.values()) n += metric.seriesCount;
    return n;
  }

  private remove(name: string): void {
    this.registry.removeSingleMetric(name);
    this.current.delete(name);
  }
}
