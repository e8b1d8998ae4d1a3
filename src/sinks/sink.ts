import type { LabelledFamilies } from '../model/metric-family';
import type { DestinationStatus } from '../status/status-model';

/**
 * What one poll hands to the sinks: the metrics of one "target" (a bridge,
 * or the agent itself), named the way a Prometheus scrape would name that
 * target: `job` and `instance`.
 */
export interface PushUnit {
  /** Stable across polls: the bridge's name ('' for the agent's own metrics). State per target (stale markers, groups) hangs off it. */
  readonly key: string;
  readonly job: string;
  readonly instance: string;
  readonly timestampMs: number;
  /** The samples, read once however many sinks ask. */
  readonly families: () => Promise<readonly LabelledFamilies[]>;
  /** The same samples as text exposition 0.0.4 (with the agent's own metrics when `self` is there), rendered once however many sinks ask. */
  readonly text: () => Promise<string>;
  /**
   * The agent's own metrics when they travel with this target (one bridge),
   * not among `families()`: read at their own, slower cadence
   * (scheduler/push-unit.ts). `fresh` is false for polls between two reads:
   * nothing of them to push, their series stay live. Absent when the target
   * carries none.
   */
  readonly self?: { readonly fresh: boolean; families(): Promise<readonly LabelledFamilies[]> };
}

/** Where a poll's metrics go after the registry: a push destination. */
export interface Sink {
  /** Called after each poll (successful or not); must not wait on the network. */
  afterPoll(unit: PushUnit): Promise<void>;
  /** A target is gone (a bridge removed by a reload): its series end, as Prometheus ends those of a vanished target. */
  retire(key: string, timestampMs: number): Promise<void>;
  /** What the status page shows of this destination; reads state, changes nothing. */
  status(): Promise<DestinationStatus>;
  /** A reload: a destination that holds its queue on refused credentials tries again now (optional: remote-write only). */
  retryHeld?(): void;
  /** Delivers what it can within `deadlineMs`, then lets go. */
  stop(deadlineMs: number): Promise<void>;
}
