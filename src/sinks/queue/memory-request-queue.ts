import type { QueueDrop, QueueEntry, RequestQueue } from './request-queue';

/**
 * A bounded FIFO in memory. Bounded by the bytes of the bodies it holds
 * (what actually costs memory); when full, the oldest entries go first so
 * the receiver gets the newest data once it is back.
 */
export class MemoryRequestQueue implements RequestQueue {
  private readonly entries: QueueEntry[] = [];
  /** Index of the head in `entries`; the array is compacted now and then instead of shift()ing on each ack. */
  private head = 0;
  private samples = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError('maxBytes must be positive');
  }

  async append(entry: QueueEntry): Promise<QueueDrop[]> {
    const dropped: QueueDrop[] = [];
    // Never drop the entry being added: a single entry over the bound is still kept alone.
    while (this.pendingEntries > 0 && this.bytes + entry.body.length > this.maxBytes) {
      dropped.push({ entry: this.removeHead(), reason: 'queue_full' });
    }
    this.entries.push(entry);
    this.samples += entry.samples;
    this.bytes += entry.body.length;
    return dropped;
  }

  async peek(): Promise<QueueEntry | undefined> {
    return this.entries[this.head];
  }

  async ack(): Promise<void> {
    if (this.pendingEntries > 0) this.removeHead();
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

  async close(): Promise<void> {}

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
