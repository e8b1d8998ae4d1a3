import { hostname } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
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
import { pushUnit, registryPart, SELF_METRICS_INTERVAL_MS } from './push-unit';

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

/** What an update did, for the reload log line and the sinks. */
export interface FleetChanges {
  readonly added: number;
  readonly kept: number;
  readonly changed: number;
  readonly removed: number;
  /** Push targets fed before and no longer (removed bridges, and '' when the agent's own metrics stop being pushed apart): their series end. */
  readonly goneTargets: readonly string[];
}

/** One bridge being polled, with everything that lives as long as its settings do. */
interface FleetBridge {
  readonly options: BridgeOptions;
  /** The labels of its registry: the agent's, then the bridge's own. */
  readonly labels: Readonly<Record<string, string>>;
  /** Whether it was the only bridge (its pushes then carry the agent's own metrics). */
  readonly single: boolean;
  readonly registry: BridgeRegistry;
  readonly source: Source;
  readonly scheduler: PollScheduler;
  readonly shutdown: AbortController;
  readonly poller: BridgePoller;
  /** What /metrics shows for it: its registry once it has polled; until then the one of the settings it replaces, if any. */
  shown: BridgeRegistry | undefined;
}

/**
 * The bridges being polled, each on its own schedule, and (with several)
 * the timer that pushes the agent's own metrics. `update()` (a reload)
 * changes only what changed: a bridge whose settings are the same keeps its
 * poller, source (and the endpoint it detected), registry (its counters)
 * and schedule; a bridge removed is stopped (its poll in flight aborted);
 * a bridge added or changed starts afresh, and its registry is served only
 * once it has polled (a changed bridge's old one is served until then), so
 * a scrape during a reload never sees a bridge without its series.
 */
export class BridgeFleet {
  private bridges: FleetBridge[] = [];
  private agentPush: { readonly intervalMs: number; readonly scheduler: PollScheduler } | undefined;
  private started = false;
  private stopped = false;
  /** Names taken by the agent's own metrics when they travel with the only bridge's; refilled in place at each update. */
  private readonly reserved = new Set<string>();

  constructor(private readonly opts: FleetOptions) {}

  /** The push targets fed now: the bridges' names, and '' for the agent's own metrics when pushed apart. */
  get targetKeys(): string[] {
    return [...this.bridges.map((bridge) => bridge.options.name), ...(this.agentPush ? [''] : [])];
  }

  /** Whether any bridge was ever polled successfully (the agent's readiness). */
  get ready(): boolean {
    return this.bridges.some((bridge) => bridge.poller.ready);
  }

  /**
   * Polls `bridges` from now on. The first call shows every registry at
   * once (as before any poll, the agent is not ready anyway); later ones
   * show a new registry only once it has polled.
   */
  async update(bridges: readonly BridgeOptions[], labels: Readonly<Record<string, string>>, pollIntervalMs: number): Promise<FleetChanges> {
    const first = this.bridges.length === 0 && this.agentPush === undefined;
    const before = this.targetKeys;
    const single = bridges.length === 1;
    this.reserved.clear();
    // With one bridge the agent's own metrics travel with its series (as before there were fleets); their names are then taken.
    if (single) for (const metric of this.opts.agentRegistry.getMetricsAsArray()) this.reserved.add(metric.name);

    const old = new Map(this.bridges.map((bridge) => [bridge.options.name, bridge]));
    const next: FleetBridge[] = [];
    const ending: FleetBridge[] = [];
    let added = 0;
    let kept = 0;
    let changed = 0;
    for (const options of bridges) {
      const effective = { ...labels, ...options.labels };
      const previous = old.get(options.name);
      old.delete(options.name);
      if (previous && previous.single === single && isDeepStrictEqual(previous.options, options) && isDeepStrictEqual(previous.labels, effective)) {
        next.push(previous);
        kept++;
        continue;
      }
      if (previous) {
        ending.push(previous);
        changed++;
      } else {
        added++;
      }
      next.push(this.createBridge(options, effective, single, first ? undefined : (previous?.shown ?? null)));
    }
    ending.push(...old.values());
    // Stopped before the new ones start: never two pollers of one bridge at once.
    await Promise.all(ending.map((bridge) => this.stopBridge(bridge)));

    if (this.agentPush && (single || this.agentPush.intervalMs !== pollIntervalMs)) {
      await this.agentPush.scheduler.stop();
      this.agentPush = undefined;
    }
    if (!single && this.agentPush === undefined) {
      this.agentPush = { intervalMs: pollIntervalMs, scheduler: this.agentPushScheduler(pollIntervalMs) };
      if (this.started) this.agentPush.scheduler.start();
    }

    this.bridges = next;
    this.show();
    if (this.started) for (const bridge of next) bridge.scheduler.start();
    const now = this.targetKeys;
    return { added, kept, changed, removed: old.size, goneTargets: before.filter((key) => !now.includes(key)) };
  }

  /** Each bridge as the status page shows it, in configuration order. */
  status(): BridgeStatus[] {
    return this.bridges.map((bridge) => bridge.poller.status());
  }

  start(): void {
    this.started = true;
    for (const bridge of this.bridges) bridge.scheduler.start();
    this.agentPush?.scheduler.start();
  }

  /** Aborts polls in flight, waits for the ticks to end and closes the bridges' connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.bridges.map((bridge) => this.stopBridge(bridge)), this.agentPush?.scheduler.stop()]);
  }

  /**
   * @param replacing undefined: show the registry at once; null: show it
   *   once it has polled; a registry: show that one until then.
   */
  private createBridge(options: BridgeOptions, labels: Readonly<Record<string, string>>, single: boolean, replacing: BridgeRegistry | undefined | null): FleetBridge {
    const { agentRegistry, log } = this.opts;
    const bridgeLog = single ? log : log.with({ bridge: options.name });
    const registry = new BridgeRegistry(options.name, options.job, labels, bridgeLog.with({ component: 'collector' }), this.reserved);
    const source = createSource(options, log.with({ component: 'source', bridge: options.name }));
    const shutdown = new AbortController();
    let bridge: FleetBridge | undefined = undefined;
    const poller = new BridgePoller(options, source, registry, this.opts.sinks, {
      log: bridgeLog,
      ...(single ? { agentRegistry } : {}),
      verbose: this.opts.verbose,
      signal: shutdown.signal,
      afterCollect: () => {
        if (bridge !== undefined && bridge.shown !== registry && this.bridges.includes(bridge)) {
          bridge.shown = registry;
          this.show();
        }
        this.opts.exposition.refresh();
      },
    });
    const scheduler = new PollScheduler(options.intervalMs, (untilNextSlotMs) => poller.tick(untilNextSlotMs), bridgeLog);
    bridge = { options, labels, single, registry, source, scheduler, shutdown, poller, shown: replacing === undefined ? registry : (replacing ?? undefined) };
    log.info('polling JVB', {
      bridge: options.name,
      job: options.job,
      jvb_url: redactUrl(options.url),
      source: options.source,
      interval: formatDuration(options.intervalMs),
      timeout: formatDuration(options.timeoutMs),
    });
    return bridge;
  }

  private async stopBridge(bridge: FleetBridge): Promise<void> {
    bridge.shutdown.abort();
    await bridge.scheduler.stop();
    bridge.source.close();
  }

  private show(): void {
    if (this.stopped) return;
    this.opts.exposition.setBridges(this.bridges.flatMap((bridge) => (bridge.shown ? [bridge.shown] : [])));
  }

  /** With several bridges, the agent's own metrics are a target of their own: job=jvb-prometheus-adapter, instance=this host, pushed every poll interval but at most every SELF_METRICS_INTERVAL_MS. */
  private agentPushScheduler(intervalMs: number): PollScheduler {
    const { agentRegistry: registry, sinks, log } = this.opts;
    const clock = new PollClock();
    const instance = hostname();
    return new PollScheduler(
      Math.max(intervalMs, SELF_METRICS_INTERVAL_MS),
      async () => {
        if (sinks.current.length === 0) return;
        const unit = pushUnit({ key: '', job: AGENT_JOB, instance, timestampMs: clock.next() }, [registryPart(registry)]);
        await Promise.all(sinks.current.map((sink) => sink.afterPoll(unit)));
      },
      log,
    );
  }
}
