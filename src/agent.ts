import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { AgentConfig } from './config/load-config';
import type { BridgeSettings } from './config/load-bridges';
import { formatDuration } from './config/duration';
import type { Logger } from './log/logger';
import { redactUrl } from './log/redact-url';
import { BridgeRegistry } from './registry/bridge-registry';
import { registerBuildInfo } from './registry/self-metrics';
import { ServedExposition } from './registry/served-exposition';
import { BridgePoller, PollClock } from './scheduler/bridge-poller';
import { PollScheduler } from './scheduler/poll-scheduler';
import { startMetricsServer, type MetricsServer } from './server/http-server';
import { createSource } from './sources/create-source';
import { startDemoJvb, type DemoJvb } from './sources/demo/demo-jvb-server';
import type { Source } from './sources/source';
import { createSinks } from './sinks/create-sinks';
import type { Sink } from './sinks/sink';
import { VERSION } from './version';

/** The job of the agent's own metrics when they are pushed on their own (several bridges). */
export const AGENT_JOB = 'jvb-prometheus-adapter';

/** Open connections to the agent's own server; beyond, new ones are refused at once. Well below the usual 1024 file descriptors. */
export const MAX_CONNECTIONS = 512;
/** Metrics requests in flight (node_exporter's --web.max-requests default); beyond, 503. */
export const MAX_REQUESTS_IN_FLIGHT = 40;

export interface RunningAgent {
  readonly server: MetricsServer;
  readonly registry: Registry;
  /** Stops polling (a poll in flight is aborted), delivers what it can and closes the server. */
  stop(): Promise<void>;
}

function createAgentRegistry(config: AgentConfig): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ ...config.labels });
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total break the exposition's naming rules (promtool flags
  // them); each is only the sum of its labelled twin (nodejs_active_handles{type}).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  registerBuildInfo(registry, VERSION);
  return registry;
}

/**
 * Wires the data's path for every bridge, each on its own schedule:
 * poll (source) -> collect (its registry) -> push (sinks); the server
 * serves all registries.
 */
export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  const agentRegistry = createAgentRegistry(config);
  // Queues first: a storage folder that cannot be used stops the start before anything listens.
  const sinks = await createSinks(config, agentRegistry, log);

  let demo: DemoJvb | undefined;
  let bridges: readonly BridgeSettings[] = config.bridges;
  if (config.demo) {
    demo = await startDemoJvb();
    bridges = [{ ...config.bridges[0]!, url: demo.url, source: 'colibri', http: { ...config.bridges[0]!.http, url: demo.url } }];
    log.info('demo mode: polling an embedded simulated JVB instead of --jvb.url', { jvb_url: demo.url });
  }

  const single = bridges.length === 1;
  // With one bridge the agent's own metrics travel with its series (as before there were fleets); their names are then taken.
  const reserved = new Set(single ? agentRegistry.getMetricsAsArray().map((metric) => metric.name) : []);
  const shutdown = new AbortController();
  const bridgeRegistries: BridgeRegistry[] = [];
  const exposition = new ServedExposition(agentRegistry, bridgeRegistries);
  const sources: Source[] = [];
  const pollers: BridgePoller[] = [];
  const schedulers: PollScheduler[] = [];
  for (const bridge of bridges) {
    const bridgeLog = single ? log : log.with({ bridge: bridge.name });
    const registry = new BridgeRegistry(bridge.name, bridge.job, { ...config.labels, ...bridge.labels }, bridgeLog.with({ component: 'collector' }), reserved);
    const source = createSource(bridge, log.with({ component: 'source', bridge: bridge.name }));
    const poller = new BridgePoller(bridge, source, registry, sinks, {
      log: bridgeLog,
      ...(single ? { agentRegistry } : {}),
      verbose: config.demo,
      signal: shutdown.signal,
      afterCollect: () => exposition.refresh(),
    });
    bridgeRegistries.push(registry);
    sources.push(source);
    pollers.push(poller);
    schedulers.push(new PollScheduler(bridge.intervalMs, () => poller.tick(), bridgeLog));
  }
  if (!single && sinks.length > 0) schedulers.push(agentPushScheduler(agentRegistry, sinks, config.poll.intervalMs, log));

  let server: MetricsServer;
  try {
    server = await startMetricsServer({
      listenAddress: config.web.listenAddress,
      telemetryPath: config.web.telemetryPath,
      render: () => exposition.render(),
      contentType: exposition.contentType,
      isReady: () => pollers.some((poller) => poller.ready),
      maxConnections: MAX_CONNECTIONS,
      maxRequestsInFlight: MAX_REQUESTS_IN_FLIGHT,
      version: VERSION,
      log: log.with({ component: 'web' }),
    });
  } catch (error) {
    await Promise.all(sinks.map((sink) => sink.stop(0)));
    for (const source of sources) source.close();
    await demo?.close();
    throw error;
  }
  log.info('serving metrics', {
    address: `${server.address.family === 'IPv6' ? `[${server.address.address}]` : server.address.address}:${server.address.port}`,
    path: config.web.telemetryPath,
  });
  for (const bridge of bridges) {
    log.info('polling JVB', {
      bridge: bridge.name,
      job: bridge.job,
      jvb_url: redactUrl(bridge.url),
      source: bridge.source,
      interval: formatDuration(bridge.intervalMs),
      timeout: formatDuration(bridge.timeoutMs),
    });
  }
  for (const scheduler of schedulers) scheduler.start();

  return {
    server,
    registry: agentRegistry,
    async stop() {
      // Polls in flight are cut at once; then the queues get the flush deadline while the server winds down beside them.
      shutdown.abort();
      await Promise.all(schedulers.map((scheduler) => scheduler.stop()));
      for (const source of sources) source.close();
      await Promise.all([...sinks.map((sink) => sink.stop(config.storage.flushDeadlineMs)), server.close()]);
      await demo?.close();
    },
  };
}

/** With several bridges, the agent's own metrics are a target of their own: job=jvb-prometheus-adapter, instance=this host. */
function agentPushScheduler(registry: Registry, sinks: readonly Sink[], intervalMs: number, log: Logger): PollScheduler {
  const clock = new PollClock();
  const instance = hostname();
  return new PollScheduler(
    intervalMs,
    async () => {
      const timestampMs = clock.next();
      let families: ReturnType<Registry['getMetricsAsJSON']> | undefined;
      let text: Promise<string> | undefined;
      const unit = {
        key: '',
        job: AGENT_JOB,
        instance,
        timestampMs,
        families: () => (families ??= registry.getMetricsAsJSON()),
        text: () => (text ??= registry.metrics()),
      };
      await Promise.all(sinks.map((sink) => sink.afterPoll(unit)));
    },
    log,
  );
}
