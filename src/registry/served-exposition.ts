import { AggregatorRegistry, type Registry } from 'prom-client';
import type { BridgeRegistry } from './bridge-registry';
import { anyTimestamps, mergedText } from './timestamped-text';

/**
 * What `/metrics` serves: the agent's own metrics, then the bridges'.
 * Rendered at most once per poll, and only when scraped, and the same text
 * served to every scraper: it only changes when a poll does, and a flood of
 * scrapes must not
 * multiply the work (prom-client's process collectors read /proc/self/fd and
 * the active handles, whose cost grows with the open connections). With
 * one bridge its families are served as they are (the seed adapter's
 * output, unchanged). With several, every bridge series carries its
 * `instance`, and families of the same name from different bridges are
 * merged into one (an exposition may name a family only once) by
 * prom-client's own aggregator; scrape it with `honor_labels: true`.
 * A bridge sample with a timestamp of its own is served with it (as
 * Prometheus' /federate serves samples), so a Prometheus scraping the agent
 * stores what it would store scraping the bridge (timestamped-text.ts).
 */
export class ServedExposition {
  readonly contentType: string;

  private bridges: readonly BridgeRegistry[] = [];

  constructor(private readonly agent: Registry) {
    this.contentType = agent.contentType;
  }

  /** The bridges polled now (at start, and after a reload). */
  setBridges(bridges: readonly BridgeRegistry[]): void {
    this.bridges = bridges;
    this.refresh();
  }

  private current: Promise<string> | undefined;
  /** A poll changed what is served since the text was rendered. */
  private stale = true;

  /**
   * The text for a scrape: rendered by the first scrape after a poll, and
   * shared by every scrape until the next poll (scrapes that arrive while it
   * renders wait for the same text). Nothing is rendered while nobody scrapes.
   */
  render(): Promise<string> {
    if (this.current === undefined || this.stale) {
      this.stale = false;
      const previous = this.current;
      // A failed render serves the previous text rather than an error, when there is one.
      this.current = this.renderNow().catch((error: unknown) => {
        if (previous === undefined) throw error;
        return previous;
      });
    }
    return this.current;
  }

  /** A poll changed the registries: the next scrape renders anew. */
  refresh(): void {
    this.stale = true;
  }

  private async renderNow(): Promise<string> {
    const own = await this.agent.metrics();
    if (this.bridges.length === 1) return joinExpositions(own, await this.bridges[0]!.exposition());
    const perBridge = await Promise.all(
      this.bridges.map(async (bridge) => {
        const families = await bridge.registry.getMetricsAsJSON();
        for (const family of families) {
          for (const value of family.values) value.labels = { ...value.labels, instance: bridge.name };
        }
        return families;
      }),
    );
    // prom-client's aggregation drops sample timestamps: with any, the bridges are merged the same way here.
    if (anyTimestamps(perBridge)) return joinExpositions(own, mergedText(perBridge));
    return joinExpositions(own, await AggregatorRegistry.aggregate(perBridge).metrics());
  }
}

/** Two text expositions as one (each may or may not end in a newline). */
export function joinExpositions(first: string, second: string): string {
  if (first === '') return second;
  if (second === '') return first;
  return `${first.endsWith('\n') ? first : `${first}\n`}${second}`;
}
