import { AggregatorRegistry, type Registry } from 'prom-client';
import type { BridgeRegistry } from './bridge-registry';

/**
 * What `/metrics` serves: the agent's own metrics, then the bridges'. With
 * one bridge its families are served as they are (the seed adapter's
 * output, unchanged). With several, every bridge series carries its
 * `instance`, and families of the same name from different bridges are
 * merged into one (an exposition may name a family only once) by
 * prom-client's own aggregator; scrape it with `honor_labels: true`.
 */
export class ServedExposition {
  readonly contentType: string;

  constructor(
    private readonly agent: Registry,
    private readonly bridges: readonly BridgeRegistry[],
  ) {
    this.contentType = agent.contentType;
  }

  async render(): Promise<string> {
    const own = await this.agent.metrics();
    if (this.bridges.length === 1) return joinExpositions(own, await this.bridges[0]!.registry.metrics());
    const perBridge = await Promise.all(
      this.bridges.map(async (bridge) => {
        const families = await bridge.registry.getMetricsAsJSON();
        for (const family of families) {
          for (const value of family.values) value.labels = { ...value.labels, instance: bridge.name };
        }
        return families;
      }),
    );
    return joinExpositions(own, await AggregatorRegistry.aggregate(perBridge).metrics());
  }
}

/** Two text expositions as one (each may or may not end in a newline). */
export function joinExpositions(first: string, second: string): string {
  if (first === '') return second;
  if (second === '') return first;
  return `${first.endsWith('\n') ? first : `${first}\n`}${second}`;
}
