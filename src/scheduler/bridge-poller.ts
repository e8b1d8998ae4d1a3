import type { Registry } from 'prom-client';
import type { BridgeOptions } from './bridge-options';
import type { Logger } from '../log/logger';
import type { BridgeRegistry } from '../registry/bridge-registry';
import type { PushUnit, Sink } from '../sinks/sink';
import type { PollOutcome, Source } from '../sources/source';
import type { CollectSummary } from '../registry/bridge-registry';
import { redactUrl } from '../log/redact-url';
import { OutcomeRecord } from '../status/outcome-record';
import { isoTime, type BridgeStatus } from '../status/status-model';
import { pushUnit, SelfMetrics } from './push-unit';

/** Timestamps of one target's polls: the wall clock, but strictly increasing even if the clock steps back. */
export class PollClock {
  private last = 0;
  next(): number {
    this.last = Math.max(Date.now(), this.last + 1);
    return this.last;
  }
}

/**
 * One tick of one bridge, the data's path end to end:
 * poll (source) -> collect (its registry) -> push (every sink).
 */
export class BridgePoller {
  private readonly clock = new PollClock();
  private everOk = false;
  /** For the status page: the last poll, and the last success and failure. */
  private readonly polls = new OutcomeRecord<{ reason: string }>();
  private lastPoll: { atMs: number; durationMs: number; series: number; ok: boolean } | undefined;
  /** The kind of endpoint that answered last (auto may switch); known from the start when there is one. */
  private endpointKind: string | undefined;
  /** The endpoints' kinds by their URLs as a poll's outcome names them (redacted), redacted once here rather than at every poll. */
  private readonly kindByEndpoint: ReadonlyMap<string, string>;
  /** The agent's own metrics, pushed with this bridge's at their own cadence when it is the only bridge. */
  private readonly self: SelfMetrics | undefined;

  constructor(
    private readonly bridge: BridgeOptions,
    private readonly source: Source,
    private readonly registry: BridgeRegistry,
    /** The sinks in use at each tick (a reload may change them). */
    private readonly sinks: { readonly current: readonly Sink[] },
    private readonly opts: {
      readonly log: Logger;
      /** The agent's own metrics, pushed with this bridge's when it is the only one. */
      readonly agentRegistry?: Registry;
      /** Log every poll at info (demo mode). */
      readonly verbose: boolean;
      /** Aborts a poll in flight at shutdown. */
      readonly signal: AbortSignal;
      /** Called once the poll is in the registry (the served text is rendered anew). */
      readonly afterCollect?: () => void;
    },
  ) {
    if (bridge.endpoints.length === 1) this.endpointKind = bridge.endpoints[0]!.kind;
    this.kindByEndpoint = new Map(bridge.endpoints.map((e) => [redactUrl(e.url), e.kind]));
    this.self = opts.agentRegistry === undefined ? undefined : new SelfMetrics(opts.agentRegistry);
  }

  /** Whether a poll of this bridge ever succeeded. */
  get ready(): boolean {
    return this.everOk;
  }

  /** `untilNextSlotMs`: the time left before the next tick is due; the poll ends by then. */
  async tick(untilNextSlotMs?: number): Promise<void> {
    const timestampMs = this.clock.next();
    const outcome = await this.source.poll(this.opts.signal, untilNextSlotMs);
    if (!outcome.ok && outcome.reason === 'aborted' && this.opts.signal.aborted) return; // shutting down: nothing to report
    const summary = this.registry.collect(outcome);
    this.recordPoll(timestampMs, outcome, summary);
    this.opts.afterCollect?.();
    const unit = this.pushUnit(timestampMs);
    await Promise.all(this.sinks.current.map((sink) => sink.afterPoll(unit)));
    if (summary.ok) {
      // One line a poll in demo mode or at debug; otherwise only when the state changes, to keep logs boring.
      const fields = { families: summary.families, series: summary.series, skipped_fields: summary.skipped, duration_ms: Math.round(outcome.durationMs) };
      if (this.opts.verbose) this.opts.log.info('poll collected', fields);
      else if (!this.everOk) this.opts.log.info('JVB poll succeeded', fields);
      else this.opts.log.debug('poll collected', fields);
      this.everOk = true;
    }
  }

  /** What the status page shows of this bridge; read-only. */
  status(): BridgeStatus {
    const { name, job, url, endpoints } = this.bridge;
    // A full endpoint URL means that endpoint only, whatever the source setting says.
    const source = endpoints.length === 1 ? endpoints[0]!.kind : this.bridge.source;
    const last = this.lastPoll;
    return {
      name,
      job,
      source,
      endpointKind: this.endpointKind ?? null,
      url: redactUrl(url),
      up: last?.ok ?? null,
      lastPoll: isoTime(last?.atMs),
      lastPollDurationSeconds: last === undefined ? null : Math.round(last.durationMs) / 1000,
      lastSuccess: this.polls.lastSuccess,
      series: last?.series ?? 0,
      lastError: this.polls.lastError,
    };
  }

  private recordPoll(atMs: number, outcome: PollOutcome, summary: CollectSummary): void {
    this.lastPoll = { atMs, durationMs: outcome.durationMs, series: summary.series, ok: summary.ok };
    if (outcome.ok) this.endpointKind = this.kindByEndpoint.get(outcome.endpoint) ?? this.endpointKind;
    if (summary.ok) this.polls.succeeded();
    else this.polls.failed(outcome.ok ? 'the poll could not be collected' : outcome.message, { reason: outcome.ok ? 'collect' : outcome.reason });
  }

  private pushUnit(timestampMs: number): PushUnit {
    const { name, job } = this.bridge;
    return pushUnit({ key: name, job, instance: name, timestampMs }, [this.registry], this.self?.forPoll(timestampMs));
  }

}
