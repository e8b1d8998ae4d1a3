/** Where a poll's metrics go after the registry: a push destination. */
export interface Sink {
  /** Called after each poll (successful or not) with the poll's timestamp; must not wait on the network. */
  afterPoll(timestampMs: number): Promise<void>;
  /** Delivers what it can within `deadlineMs`, then lets go. */
  stop(deadlineMs: number): Promise<void>;
}
