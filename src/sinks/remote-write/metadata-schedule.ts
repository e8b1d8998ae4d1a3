// When a target's metric metadata (type, help, unit per family) goes out.
// A receiver may keep metadata only for a while, or lose it when it
// restarts, so it is sent again on an interval rather than once, as
// Prometheus' own remote write does (every minute by default). The interval
// is measured on poll timestamps, not a clock of its own, so the encoder
// stays pure and its tests need no timers.

export const DEFAULT_METADATA_INTERVAL_MS = 60_000;

export class MetadataSchedule {
  private readonly intervalMs: number;
  private lastSentMs: number | undefined;

  constructor(intervalMs: number = DEFAULT_METADATA_INTERVAL_MS) {
    if (!(intervalMs >= 0)) throw new RangeError(`metadataIntervalMs must be >= 0, got ${intervalMs}`);
    this.intervalMs = intervalMs;
  }

  /**
   * Whether metadata is due with the poll at `timestampMs`: none sent yet,
   * or the interval has passed since, or the clock went back (which
   * restarts the interval rather than silencing metadata until it catches up).
   */
  due(timestampMs: number): boolean {
    const last = this.lastSentMs;
    return last === undefined || timestampMs < last || timestampMs - last >= this.intervalMs;
  }

  /**
   * Metadata went out with the poll at `timestampMs`. Called only when
   * there was some: a poll with nothing to describe leaves it due.
   */
  sent(timestampMs: number): void {
    this.lastSentMs = timestampMs;
  }
}
