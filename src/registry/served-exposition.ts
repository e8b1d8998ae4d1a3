import { AggregatorRegistry, type Registry } from 'prom-client';
import type { BridgeRegistry } from './bridge-registry';

/**
 * What `/metrics` serves: the agent's own metrics, then the bridges'.
 * Rendered once per poll (`refresh()`) and the same text served to every
 * scraper: it only changes when a poll does, and a flood of scrapes must not
 * multiply the work (prom-client's process collectors read /proc/self/fd and
 * the active handles, whose cost grows with the open connections). With
 * one bridge its families are served as they are (the seed adapter's
 * output, unchanged). With several, every bridge series carries its
 * `instance`, and families of the same name from different bridges are
 * merged into one (an exposition may name a family only once) by
 * prom-client's own aggregator; scrape it with `honor_labels: true`.
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
  /** Refreshes started and the newest one swapped in, so a slow older render never replaces a newer one. */
  private started = 0;
  private swapped = 0;

  /** The text of the last refresh (rendered now if there was none). */
  render(): Promise<string> {
    return (this.current ??= this.renderNow());
  }

  /** Renders anew after a poll; scrapes meanwhile keep getting the previous text. */
  refresh(): void {
    const id = ++this.started;
    const next = this.renderNow();
    // Swap only once rendered, so no scrape ever waits for it; a failed render keeps the old text.
    next.then(
      () => {
        if (id < this.swapped) return;
        this.swapped = id;
        this.current = next;
      },
      () => {},
    );
  }

  private async renderNow(): Promise<string> {
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
