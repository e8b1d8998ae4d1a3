import type { Registry } from 'prom-client';
import { familiesFromRegistry } from '../registry/registry-families';
import { joinExpositions } from '../registry/served-exposition';
import type { PushUnit } from '../sinks/sink';
import type { LabelledFamilies } from '../model/metric-family';

/** Something whose metrics a push carries: a bridge's registry, or a prom-client registry (the agent's own metrics). */
export interface UnitPart {
  families(): Promise<readonly LabelledFamilies[]>;
  text(): Promise<string>;
}

/** A prom-client registry as a part of a push (its default labels are already in each series). */
export function registryPart(registry: Registry): UnitPart {
  return {
    families: async () => [{ families: familiesFromRegistry(await registry.getMetricsAsJSON()), labels: NO_LABELS }],
    text: () => registry.metrics(),
  };
}

const NO_LABELS = Object.freeze({});

/**
 * How often the agent's own metrics (process, Node.js, remote-write and
 * Pushgateway counters) are read and pushed at most: every 10 s, or every
 * poll when polls are further apart. Reading them (prom-client's collectors:
 * /proc, the active handles, the event-loop histogram; about 90 series
 * turned into the family model and encoded) cost more than the rest of a
 * poll of one bridge, and they change slowly. Each bridge's poll metrics
 * (jvb_up, ...) go with every poll.
 */
export const SELF_METRICS_INTERVAL_MS = 10_000;

/**
 * The agent's own metrics travelling with one bridge's polls, read at most
 * every `intervalMs` of poll time. Between reads a push has nothing fresh of
 * them for remote write (their series stay live: no stale markers) and the
 * text last read for a Pushgateway (whose group must always hold them).
 */
export class SelfMetrics {
  private readAtMs = -Infinity;
  private lastText: Promise<string> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly intervalMs: number = SELF_METRICS_INTERVAL_MS,
  ) {}

  /** What the poll at `timestampMs` carries of them; read afresh (once, if a sink asks) when due. */
  forPoll(timestampMs: number): NonNullable<PushUnit['self']> & { text(): Promise<string> } {
    const fresh = timestampMs - this.readAtMs >= this.intervalMs;
    if (!fresh) return { fresh, families: async () => [], text: () => (this.lastText ??= this.registry.metrics()) };
    this.readAtMs = timestampMs;
    const part = registryPart(this.registry);
    let families: Promise<readonly LabelledFamilies[]> | undefined;
    return {
      fresh,
      families: () => (families ??= part.families()),
      text: () => (this.lastText = part.text()),
    };
  }
}

/**
 * One poll of a target as the sinks get it: the parts' families and their
 * text, each read at most once however many sinks ask, and only if one
 * does (a Pushgateway reads the text, remote write the families). `self`:
 * the agent's own metrics when they travel with this target, first in the
 * text.
 */
export function pushUnit(
  target: Pick<PushUnit, 'key' | 'job' | 'instance' | 'timestampMs'>,
  parts: readonly UnitPart[],
  self?: ReturnType<SelfMetrics['forPoll']>,
): PushUnit {
  let families: Promise<readonly LabelledFamilies[]> | undefined;
  let text: Promise<string> | undefined;
  const texts: readonly Pick<UnitPart, 'text'>[] = self === undefined ? parts : [self, ...parts];
  return {
    ...target,
    families: () => (families ??= Promise.all(parts.map((part) => part.families())).then((groups) => groups.flat())),
    text: () => (text ??= Promise.all(texts.map((part) => part.text())).then((all) => all.reduce(joinExpositions, ''))),
    ...(self === undefined ? {} : { self: { fresh: self.fresh, families: self.families } }),
  };
}
