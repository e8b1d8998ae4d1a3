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
 * One poll of a target as the sinks get it: the parts' families and their
 * text, each read at most once however many sinks ask, and only if one
 * does (a Pushgateway reads the text, remote write the families).
 */
export function pushUnit(target: Pick<PushUnit, 'key' | 'job' | 'instance' | 'timestampMs'>, parts: readonly UnitPart[]): PushUnit {
  let families: Promise<readonly LabelledFamilies[]> | undefined;
  let text: Promise<string> | undefined;
  return {
    ...target,
    families: () => (families ??= Promise.all(parts.map((part) => part.families())).then((groups) => groups.flat())),
    text: () => (text ??= Promise.all(parts.map((part) => part.text())).then((texts) => texts.reduce(joinExpositions, ''))),
  };
}
