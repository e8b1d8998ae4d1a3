import { collectDefaultMetrics, Registry } from 'prom-client';
import { STORAGE_SETTING_NAMES } from './config/agent-settings';
import { ConfigError } from './config/config-error';
import type { AgentConfig } from './config/load-config';
import type { BridgeOptions } from './scheduler/bridge-options';
import type { Logger } from './log/logger';
import { registerBuildInfo } from './registry/self-metrics';
import { ServedExposition } from './registry/served-exposition';
import { BridgeFleet } from './scheduler/bridge-fleet';
import { ListenError, startMetricsServer, type MetricsServer } from './server/http-server';
import { statusRoutes } from './server/status-routes';
import { collectStatus } from './status/collect-status';
import { ReloadRecord } from './status/reload-record';
import { startDemoJvb, type DemoJvb } from './sources/demo/demo-jvb-server';
import { QueueFolderError } from './sinks/queue/open-request-queue';
import { SinkSet, type SinkChanges } from './sinks/sink-set';
import { REVISION, VERSION } from './version';

export { AGENT_JOB } from './scheduler/bridge-fleet';

/** Connections the agent's own server holds; at it, a new one pushes out an idle or slow one, so a health probe always gets in (src/server/connection-slots.ts). */
export const MAX_CONNECTIONS = 512;
/** Metrics requests in flight (node_exporter's --web.max-requests default); beyond, 503. */
export const MAX_REQUESTS_IN_FLIGHT = 40;

export interface RunningAgent {
  readonly server: MetricsServer;
  readonly registry: Registry;
  /** The last reload's result, shown on the status page (the caller records it: loading the file is its part). */
  readonly reloads: ReloadRecord;
  /**
   * Applies a new configuration (SIGHUP): bridges, labels and destinations;
   * queues of unchanged destinations are kept, and so are the pollers,
   * counters, detected endpoints and schedules of unchanged bridges. Settings that need a restart
   * (listen address, storage, logging) are named in a warning and keep their
   * old values. Throws, changing nothing, when a new destination's queue
   * cannot be opened.
   */
  reload(config: AgentConfig): Promise<void>;
  /** Stops polling (a poll in flight is aborted), delivers what it can and closes the server. */
  stop(): Promise<void>;
}

function createAgentRegistry(labels: Readonly<Record<string, string>>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ ...labels });
  // The event-loop lag is sampled every second, not prom-client's 10 ms: each
  // sample wakes the event loop (a whole turn of it, with V8's pending tasks),
  // which at 100 ms still cost an idle agent 1.3 ms of CPU a second, as much as
  // a tenth of a poll of one bridge. A stall of a second or more, the lag
  // worth an alert, is always caught; shorter ones in proportion.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  for (const name of [
    // Gauges named *_total break the exposition's naming rules (promtool flags
    // them); each is only the sum of its labelled twin (nodejs_active_handles{type}).
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
    // Per heap space and GC-kind detail: 54 series pushed every poll by every
    // bridge's agent, for a V8 tuning question nobody asks of an exporter. The
    // totals (nodejs_heap_size_*, process_*) stay.
    'nodejs_heap_space_size_total_bytes',
    'nodejs_heap_space_size_used_bytes',
    'nodejs_heap_space_size_available_bytes',
    'nodejs_gc_duration_seconds',
  ]) {
    registry.removeSingleMetric(name);
  }
  registerBuildInfo(registry, VERSION);
  return registry;
}

/** Settings read only at start: a reload that changes them says a restart is needed. */
function restartOnlySettings(config: AgentConfig): Record<string, string> {
  return {
    '--web.*': JSON.stringify(config.web),
    '--storage.*': JSON.stringify(config.storage),
    '--log.*': JSON.stringify(config.log),
    '--demo': String(config.demo),
  };
}

/**
 * Wires the data's path for every bridge, each on its own schedule:
 * poll (source) -> collect (its registry) -> push (sinks); the server
 * serves all registries.
 */
export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  const startedAtMs = Date.now();
  const agentRegistry = createAgentRegistry(config.labels);
  // Queues first: a storage folder that cannot be used stops the start before anything listens.
  const sinks = new SinkSet(agentRegistry, config.storage, log, STORAGE_SETTING_NAMES);
  const updateSinks = async (next: AgentConfig): Promise<SinkChanges> => {
    try {
      return await sinks.update(next.destinations);
    } catch (error) {
      if (!(error instanceof QueueFolderError)) throw error;
      throw new ConfigError(`--storage.path ${JSON.stringify(next.storage.path)}: ${error.message} (make it writable by the agent, or run with --storage.in-memory)`);
    }
  };
  await updateSinks(config);

  let demo: DemoJvb | undefined;
  const bridgesOf = (c: AgentConfig): readonly BridgeOptions[] =>
    demo === undefined ? c.bridges : [{ ...c.bridges[0]!, url: demo.url, source: 'colibri', endpoints: [{ kind: 'colibri', url: demo.url }] }];
  if (config.demo) {
    demo = await startDemoJvb();
    log.info('demo mode: polling an embedded simulated JVB instead of --jvb.url', { jvb_url: demo.url });
  }

  const exposition = new ServedExposition(agentRegistry);
  const fleetOptions = { agentRegistry, sinks, exposition, log, verbose: config.demo };
  const fleet = new BridgeFleet(fleetOptions);
  await fleet.update(bridgesOf(config), config.labels, config.poll.intervalMs);

  const reloads = new ReloadRecord();
  const status = () =>
    collectStatus({ version: VERSION, revision: REVISION, startedAtMs, configFile: config.configFile, telemetryPath: config.web.telemetryPath, reloads, bridges: () => fleet.status(), destinations: () => sinks.current });
  let server: MetricsServer;
  try {
    server = await startMetricsServer({
      listenAddress: config.web.listenAddress,
      telemetryPath: config.web.telemetryPath,
      render: () => exposition.render(),
      contentType: exposition.contentType,
      isReady: () => fleet.ready,
      maxConnections: MAX_CONNECTIONS,
      maxRequestsInFlight: MAX_REQUESTS_IN_FLIGHT,
      version: VERSION,
      pages: statusRoutes(status, log.with({ component: 'web' })),
      log: log.with({ component: 'web' }),
    });
  } catch (error) {
    await sinks.stop(0);
    await fleet.stop();
    await demo?.close();
    throw error instanceof ListenError ? new ConfigError(`--web.listen-address ${JSON.stringify(error.address)}: ${error.message}`) : error;
  }
  log.info('serving metrics', {
    address: `${server.address.family === 'IPv6' ? `[${server.address.address}]` : server.address.address}:${server.address.port}`,
    path: config.web.telemetryPath,
  });
  fleet.start();

  const startedWith = restartOnlySettings(config);
  return {
    server,
    registry: agentRegistry,
    reloads,
    async reload(next) {
      // New queues first: if one cannot be opened, this throws and nothing has changed.
      const changes = await updateSinks(next);
      // Kept destinations held on refused credentials try again: a reload is how an operator says "fixed".
      sinks.retryHeld();
      agentRegistry.setDefaultLabels({ ...next.labels });
      // Unchanged bridges keep their pollers, counters, detected endpoints and schedules; only the others change.
      const bridges = await fleet.update(bridgesOf(next), next.labels, next.poll.intervalMs);
      // Targets gone end their series (and their Pushgateway groups).
      const timestampMs = Date.now();
      await Promise.all(bridges.goneTargets.flatMap((key) => sinks.current.map((sink) => sink.retire(key, timestampMs))));
      const now = restartOnlySettings(next);
      const needRestart = Object.keys(now).filter((key) => now[key] !== startedWith[key]);
      if (needRestart.length > 0) log.warn('these settings changed but apply only at start: restart to use them', { settings: needRestart.join(',') });
      log.info('configuration reloaded', {
        bridges: next.bridges.length,
        destinations_added: changes.added,
        destinations_kept: changes.kept,
        destinations_removed: changes.removed,
        bridges_added: bridges.added,
        bridges_changed: bridges.changed,
        bridges_kept: bridges.kept,
        bridges_removed: bridges.removed,
      });
    },
    async stop() {
      // Polls in flight are cut at once; then the queues get the flush deadline while the server winds down beside them.
      await fleet.stop();
      await Promise.all([sinks.stop(config.storage.flushDeadlineMs), server.close()]);
      await demo?.close();
    },
  };
}
