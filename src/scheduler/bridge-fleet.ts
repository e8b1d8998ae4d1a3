import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { formatDuration } from '../log/format-duration';
import type { BridgeOptions } from './bridge-options';
import type { Logger } from '../log/logger';
import { redactUrl } from '../log/redact-url';
import { BridgeRegistry } from '../registry/bridge-registry';
import type { ServedExposition } from '../registry/served-exposition';
import type { Sink } from '../sinks/sink';
import { createSource } from '../sources/create-source';
import type { Source } from '../sources/source';
import type { BridgeStatus } from '../status/status-model';
import { BridgePoller, PollClock } from './bridge-poller';
import { PollScheduler } from './poll-scheduler';
import { pushUnit, registryPart } from './push-unit';

/** The job of the agent's own metrics when they are pushed on their own (several bridges). */
export const AGENT_JOB = 'jvb-prometheus-adapter';

export interface FleetOptions {
  /** The agent's own metrics: pushed with the bridge's when there is one bridge, on their own with several. */
  readonly agentRegistry: Registry;
  readonly sinks: { readonly current: readonly Sink[] };
  readonly exposition: ServedExposition;
  readonly log: Logger;
  /** Log every poll at info (demo mode). */
  readonly verbose: boolean;
}

/**
 * The bridges being polled, each on its own schedule, and (with several)
 * the timer that pushes the agent's own metrics. One generation runs at a
 * time: a reload stops the old one (its polls in flight aborted) and starts
 * the new one.
 */
export class BridgeFleet {
  private readonly shutdown = new AbortController();
  private readonly sources: Source[] = [];
  private readonly pollers: BridgePoller[] = [];
  private readonly schedulers: PollScheduler[] = [];
  /** The push targets this generation feeds: the bridges' names, and '' for the agent's own metrics when pushed apart. */
  readonly targetKeys: string[] = [];

  constructor(
    bridges: readonly BridgeOptions[],
    labels: Readonly<Record<string, string>>,
    pollIntervalMs: number,
    private readonly opts: FleetOptions,
  ) {
    const { agentRegistry, log } = opts;
    const single = bridges.length === 1;
    // With one bridge the agent's own metrics travel with its series (as before there were fleets); their names are then taken.
    const reserved = new Set(single ? agentRegistry.getMetricsAsArray().map((metric) => metric.name) : []);
    const registries: BridgeRegistry[] = [];
    for (const bridge of bridges) {
      const bridgeLog = single ? log : log.with({ bridge: bridge.name });
      const registry = new BridgeRegistry(bridge.name, bridge.job, { ...labels, ...bridge.labels }, bridgeLog.with({ component: 'collector' }), reserved);
      const source = createSource(bridge, log.with({ component: 'source', bridge: bridge.name }));
      const poller = new BridgePoller(bridge, source, registry, opts.sinks, {
        log: bridgeLog,
        ...(single ? { agentRegistry } : {}),
        verbose: opts.verbose,
        signal: this.shutdown.signal,
        afterCollect: () => opts.exposition.refresh(),
      });
      registries.push(registry);
      this.sources.push(source);
      this.pollers.push(poller);
      this.schedulers.push(new PollScheduler(bridge.intervalMs, () => poller.tick(), bridgeLog));
      log.info('polling JVB', {
        bridge: bridge.name,
        job: bridge.job,
        jvb_url: redactUrl(bridge.url),
        source: bridge.source,
        interval: formatDuration(bridge.intervalMs),
        timeout: formatDuration(bridge.timeoutMs),
      });
    }
    this.targetKeys.push(...bridges.map((bridge) => bridge.name));
    if (!single) {
      this.schedulers.push(this.agentPushScheduler(pollIntervalMs));
      this.targetKeys.push('');
    }
    opts.exposition.setBridges(registries);
  }

  /** Whether any bridge was ever polled successfully (the agent's readiness). */
  get ready(): boolean {
    return this.pollers.some((poller) => poller.ready);
  }

  /** Each bridge as the status page shows it, in configuration order. */
  status(): BridgeStatus[] {
    return this.pollers.map((poller) => poller.status());
  }

  start(): void {
    for (const scheduler of this.schedulers) scheduler.start();
  }

  /** Aborts polls in flight, waits for the ticks to end and closes the bridges' connections. */
  async stop(): Promise<void> {
    this.shutdown.abort();
    await Promise.all(this.schedulers.map((scheduler) => scheduler.stop()));
    for (const source of this.sources) source.close();
  }

  /** With several bridges, the agent's own metrics are a target of their own: job=jvb-prometheus-adapter, instance=this host. */
  private agentPushScheduler(intervalMs: number): PollScheduler {
    const { agentRegistry: registry, sinks, log } = this.opts;
    const clock = new PollClock();
    const instance = hostname();
    return new PollScheduler(
      intervalMs,
      async () => {
        if (sinks.current.length === 0) return;
        const unit = pushUnit({ key: '', job: AGENT_JOB, instance, timestampMs: clock.next() }, [registryPart(registry)]);
        await Promise.all(sinks.current.map((sink) => sink.afterPoll(unit)));
      },
      log,
    );
  }
}
