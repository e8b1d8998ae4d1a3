import type { QueueDrop, QueueEntry, RequestQueue } from './request-queue';
import { RetentionPolicy, type RetainedEntries } from './retention-policy';

/**
 * A bounded FIFO in memory, with the disk queue's ordering and drop rules
 * (retention-policy.ts), bounded by the bytes of the bodies it holds (what
 * actually costs memory).
 */
export class MemoryRequestQueue implements RequestQueue {
  private readonly entries: QueueEntry[] = [];
  /** Index of the head in `entries`; the array is compacted now and then instead of shift()ing on each ack. */
  private head = 0;
  private samples = 0;
  private bytes = 0;
  private drops: QueueDrop[] = [];
  /** The entry the last peek() returned: ack() removes it only if it is still the head. */
  private peeked: QueueEntry | undefined;
  private readonly policy: RetentionPolicy;
  private readonly retained: RetainedEntries = {
    count: () => this.pendingEntries,
    head: () => (this.pendingEntries > 0 ? this.entries[this.head] : undefined),
    heldBytes: () => this.bytes,
  };

  constructor(
    private readonly maxBytes: number,
    maxAgeMs: number = Infinity,
    now: () => number = Date.now,
  ) {
    if (!(maxBytes > 0)) throw new RangeError('maxBytes must be positive');
    this.policy = new RetentionPolicy(maxAgeMs, now);
  }

  async append(entry: QueueEntry): Promise<QueueDrop[]> {
    // Unlike the disk queue, an entry already too old is taken (it goes once it is the head), and too_big is checked first.
    if (this.policy.isTooBig(entry.body.length, this.maxBytes)) return [{ entry, reason: 'too_big' }];
    const dropped = this.dropTooOld();
    for (const reason of this.policy.overBound(this.retained, entry.body.length, this.maxBytes)) dropped.push({ entry: this.removeHead(), reason });
    this.entries.push(entry);
    this.samples += entry.samples;
    this.bytes += entry.body.length;
    return dropped;
  }

  async peek(): Promise<QueueEntry | undefined> {
    this.drops.push(...this.dropTooOld());
    this.peeked = this.entries[this.head];
    return this.peeked;
  }

  /**
   * Removes the entry the last peek() returned. If an append dropped it
   * meanwhile (queue full while it was being sent), the new head was never
   * sent and stays.
   */
  async ack(): Promise<void> {
    if (this.pendingEntries === 0) return;
    if (this.peeked !== undefined && this.entries[this.head] !== this.peeked) return;
    this.removeHead();
    this.peeked = undefined;
  }

  takeDrops(): QueueDrop[] {
    const drops = this.drops;
    this.drops = [];
    return drops;
  }

  get pendingEntries(): number {
    return this.entries.length - this.head;
  }
  get pendingSamples(): number {
    return this.samples;
  }
  get pendingBytes(): number {
    return this.bytes;
  }
  get oldestTimestampMs(): number | undefined {
    for (let i = this.head; i < this.entries.length; i++) if (this.entries[i]!.samples > 0) return this.entries[i]!.maxTimestampMs;
    return undefined;
  }
  /** Nothing survives a restart in memory. */
  readonly replayedEntries = 0;
  readonly replayedSamples = 0;

  async close(): Promise<void> {}

  private dropTooOld(): QueueDrop[] {
    const dropped: QueueDrop[] = [];
    for (const reason of this.policy.tooOldHeads(this.retained)) dropped.push({ entry: this.removeHead(), reason });
    return dropped;
  }

  private removeHead(): QueueEntry {
    const entry = this.entries[this.head]!;
    this.entries[this.head] = undefined as unknown as QueueEntry;
    this.head++;
    this.samples -= entry.samples;
    this.bytes -= entry.body.length;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    return entry;
  }
}
