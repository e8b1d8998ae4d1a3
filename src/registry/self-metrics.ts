import { Counter, Gauge, type Registry } from 'prom-client';
import { POLL_FAILURE_REASONS, SKIP_REASONS } from '../sources/source';

/**
 * The health of the polls of one bridge, in that bridge's registry (so they
 * carry its instance). Everything is under `jvb_`, a prefix no JVB field
 * can reach (JVB fields become `jitsi_*`, JVB's native metrics are
 * `jitsi_jvb_*`), so a new JVB version can never collide with them.
 */
export function createPollMetrics(...registers: Registry[]) {
  const failures = new Counter({
    name: 'jvb_poll_failures_total',
    help: `Polls of the JVB that failed, by reason (${POLL_FAILURE_REASONS.join(', ')}).`,
    labelNames: ['reason'],
    registers,
  });
  // Every reason exists from the start, so rate() and alerts see 0, not absence.
  for (const reason of POLL_FAILURE_REASONS) failures.inc({ reason }, 0);
  const skipped = new Counter({
    name: 'jvb_skipped_fields_total',
    help: 'Fields of /colibri/stats (or families of /metrics) that could not be turned into a metric, by reason.',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of SKIP_REASONS) skipped.inc({ reason }, 0);

  return {
    up: new Gauge({ name: 'jvb_up', help: 'Whether the last poll of the JVB succeeded (1) or not (0).', registers }),
    polls: new Counter({ name: 'jvb_polls_total', help: 'Polls of the JVB, successful or not.', registers }),
    failures,
    skipped,
    duration: new Gauge({ name: 'jvb_poll_duration_seconds', help: 'How long the last poll of the JVB took, in seconds.', registers }),
    lastSuccess: new Gauge({
      name: 'jvb_last_successful_poll_timestamp_seconds',
      help: 'Unix time of the last successful poll of the JVB, in seconds; 0 before the first.',
      registers,
    }),
    series: new Gauge({ name: 'jvb_exported_series', help: 'Series the last successful poll of the JVB produced.', registers }),
  };
}

export type PollMetrics = ReturnType<typeof createPollMetrics>;

/** The agent's own version, in the agent's registry. */
export function registerBuildInfo(registry: Registry, version: string): void {
  const buildInfo = new Gauge({
    name: 'jvb_adapter_build_info',
    help: 'The version of this agent and of Node.js it runs on; the value is always 1.',
    labelNames: ['version', 'nodejs_version'],
    registers: [registry],
  });
  buildInfo.set({ version, nodejs_version: process.version }, 1);
}
