import type { Registry } from 'prom-client';
import { joinExpositions } from '../registry/served-exposition';
import type { PushUnit } from '../sinks/sink';

/**
 * One poll of a target as the sinks get it: the registries' samples and
 * their text, each read at most once however many sinks ask, and only if one
 * does (a Pushgateway reads the text, remote write the samples).
 */
export function pushUnit(target: Pick<PushUnit, 'key' | 'job' | 'instance' | 'timestampMs'>, registries: readonly Registry[]): PushUnit {
  let families: ReturnType<Registry['getMetricsAsJSON']> | undefined;
  let text: Promise<string> | undefined;
  return {
    ...target,
    families: () => (families ??= Promise.all(registries.map((registry) => registry.getMetricsAsJSON())).then((parts) => parts.flat())),
    text: () => (text ??= Promise.all(registries.map((registry) => registry.metrics())).then((parts) => parts.reduce(joinExpositions, ''))),
  };
}
