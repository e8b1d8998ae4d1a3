import { collectDefaultMetrics, Registry } from 'prom-client';
import type { AgentConfig } from './config/load-config';
import { formatDuration } from './config/duration';
import type { Logger } from './log/logger';
import { redactUrl } from './log/redact-url';
import { JvbCollector } from './registry/jvb-collector';
import { JvbRegistryView } from './registry/jvb-registry-view';
import { createPollMetrics } from './registry/self-metrics';
import { PollScheduler } from './scheduler/poll-scheduler';
import { startMetricsServer, type MetricsServer } from './server/http-server';
import { startDemoJvb, type DemoJvb } from './sources/demo/demo-jvb-server';
import { createColibriStatsClient } from './sources/jvb/fetch-colibri-stats';
import { createSinks } from './sinks/create-sinks';
import { USER_AGENT, VERSION } from './version';

export interface RunningAgent {
  readonly server: MetricsServer;
  readonly registry: Registry;
  /** Stops polling, lets in-flight work finish and closes the server. */
  stop(): Promise<void>;
}

/** Wires the data's path: poll (source) -> collect (registry) -> serve; sinks hang off the same tick. */
export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  const registry = new Registry();
  registry.setDefaultLabels({ ...config.labels });
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total break the exposition's naming rules (promtool flags
  // them); each is only the sum of its labelled twin (nodejs_active_handles{type}).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }

  // Queues first: a storage folder that cannot be used stops the start before anything listens.
  const sinks = await createSinks(config, registry, log);

  let demo: DemoJvb | undefined;
  let jvbUrl = config.jvb.url;
  if (config.demo) {
    demo = await startDemoJvb();
    jvbUrl = demo.url;
    log.info('demo mode: polling an embedded simulated JVB instead of --jvb.url', { jvb_url: jvbUrl });
  }

  const pollMetrics = createPollMetrics(registry, VERSION);
  const collector = new JvbCollector(new JvbRegistryView(registry), pollMetrics, log.with({ component: 'collector' }));
  const client = createColibriStatsClient({ url: jvbUrl, timeoutMs: config.jvb.timeoutMs, userAgent: USER_AGENT });
  let ready = false;
  let lastOk: boolean | undefined;
  let lastTimestampMs = 0;

  const scheduler = new PollScheduler(
    config.poll.intervalMs,
    async () => {
      // One timestamp for everything a poll produces; strictly increasing even if the wall clock steps back.
      const timestampMs = Math.max(Date.now(), lastTimestampMs + 1);
      lastTimestampMs = timestampMs;
      const outcome = await client.poll();
      const summary = collector.collect(outcome);
      let families: ReturnType<Registry['getMetricsAsJSON']> | undefined;
      const polled = { timestampMs, families: () => (families ??= registry.getMetricsAsJSON()) };
      await Promise.all(sinks.map((sink) => sink.afterPoll(polled)));
      if (summary.ok) {
        ready = true;
        // One line a poll in demo mode or at debug; otherwise only when the state changes, to keep logs boring.
        const fields = { families: summary.families, series: summary.series, skipped_fields: summary.skipped, duration_ms: Math.round(outcome.durationMs) };
        if (config.demo) log.info('poll collected', fields);
        else if (lastOk !== true) log.info('JVB poll succeeded', fields);
        else log.debug('poll collected', fields);
      }
      lastOk = summary.ok;
    },
    log,
  );

  let server: MetricsServer;
  try {
    server = await startMetricsServer({
      listenAddress: config.web.listenAddress,
      telemetryPath: config.web.telemetryPath,
      registry,
      isReady: () => ready,
      version: VERSION,
      log: log.with({ component: 'web' }),
    });
  } catch (error) {
    await Promise.all(sinks.map((sink) => sink.stop(0)));
    await demo?.close();
    throw error;
  }
  log.info('serving metrics', {
    address: `${server.address.family === 'IPv6' ? `[${server.address.address}]` : server.address.address}:${server.address.port}`,
    path: config.web.telemetryPath,
  });
  log.info('polling JVB', { jvb_url: redactUrl(jvbUrl), interval: formatDuration(config.poll.intervalMs), timeout: formatDuration(config.jvb.timeoutMs) });
  scheduler.start();

  return {
    server,
    registry,
    async stop() {
      await scheduler.stop();
      await Promise.all(sinks.map((sink) => sink.stop(config.storage.flushDeadlineMs)));
      await server.close();
      await demo?.close();
    },
  };
}
