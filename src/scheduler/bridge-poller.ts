import type { Registry } from 'prom-client';
import type { BridgeOptions } from './bridge-options';
import type { Logger } from '../log/logger';
import type { BridgeRegistry } from '../registry/bridge-registry';
import type { PushUnit, Sink } from '../sinks/sink';
import type { Source } from '../sources/source';
import { pushUnit, registryPart } from './push-unit';

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
  ) {}

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

  private pushUnit(timestampMs: number): PushUnit {
    const agent = this.opts.agentRegistry;
    const { name, job } = this.bridge;
    return pushUnit({ key: name, job, instance: name, timestampMs }, agent === undefined ? [this.registry] : [registryPart(agent), this.registry]);
  }

}
