/**
 * The seam between the scheduler (which encodes a poll into request bodies)
 * and a destination's sender (which delivers them, oldest first, one at a
 * time). Asynchronous throughout so that a durable, on-disk implementation
 * fits behind the same interface as the in-memory one.
 */

/** One encoded remote-write request, as the encoder made it; retries send these exact bytes. */
export interface QueueEntry {
  /** Snappy-compressed protobuf WriteRequest. */
  readonly body: Buffer;
  /** Samples inside (0 for a metadata-only request). */
  readonly samples: number;
  /** The newest sample timestamp inside, in ms (for metadata: the poll's time; entries age by it). */
  readonly maxTimestampMs: number;
}

/**
 * Why entries left the queue without being delivered. too_big: a single
 * entry over the queue's whole bound (refused at append). corrupt: a record
 * found damaged on disk (checksum), skipped. storage_error: records lost
 * to an I/O error (segment files gone or unreadable; the queue was rebuilt
 * from what is left on disk).
 */
export type QueueDropReason = 'queue_full' | 'too_old' | 'too_big' | 'corrupt' | 'storage_error';

export interface QueueDrop {
  readonly entry: QueueEntry;
  readonly reason: QueueDropReason;
  /** How many queued requests this drop stands for (default 1); records lost together are reported as one drop. */
  readonly requests?: number;
  /**
   * The samples are not known (a record whose header is damaged): entry.samples
   * is 0, and counters count the drop as 1 sample, a lower bound.
   */
  readonly samplesUnknown?: boolean;
}

export interface RequestQueue {
  /** Adds at the tail. Past the queue's bound the OLDEST entries are dropped (returned), never the new one. */
  append(entry: QueueEntry): Promise<QueueDrop[]>;
  /** The head, without removing it; undefined when empty. Until ack(), peek() returns the same entry. */
  peek(): Promise<QueueEntry | undefined>;
  /** Removes the head: it was delivered, or refused for good. */
  ack(): Promise<void>;
  /**
   * Entries dropped since the last call without being returned from
   * append() (too old at peek(), or over the bound when a backlog was reopened).
   */
  takeDrops(): QueueDrop[];
  readonly pendingEntries: number;
  readonly pendingSamples: number;
  readonly pendingBytes: number;
  /** Newest-sample timestamp of the oldest pending entry with samples; undefined when none. */
  readonly oldestTimestampMs: number | undefined;
  /** Samples found queued when the queue was opened (a backlog from before a restart). */
  readonly replayedSamples: number;
  close(): Promise<void>;
}
