import type { QueueDropReason } from './request-queue';

/**
 * Which entries a queue drops to stay within its bounds, and why: the rules
 * both MemoryRequestQueue and DiskRequestQueue follow. Damage (corrupt,
 * storage_error) is not retention and is reported by the disk queue itself.
 *
 * The policy only decides; the queue removes. Its loops are generators so
 * that one loop serves a synchronous queue (memory) and an asynchronous one
 * (disk): the queue removes the head at each step before asking for the next,
 * and the policy looks at the queue again.
 */

export type RetentionReason = Extract<QueueDropReason, 'too_old' | 'queue_full' | 'too_big'>;

/** What the policy looks at in a queue, read again at every step. */
export interface RetainedEntries {
  /** Entries pending. */
  count(): number;
  /** The head; undefined when the queue is empty. */
  head(): { readonly maxTimestampMs: number } | undefined;
  /** Bytes held, as the queue's bound counts them (bodies in memory, records on disk). */
  heldBytes(): number;
}

export class RetentionPolicy {
  constructor(
    /** Entries whose newest sample is older than this are dropped; Infinity disables it. */
    readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** too_old: newest sample before now - maxAgeMs. Metadata-only entries age too (by the poll's time). */
  isTooOld(maxTimestampMs: number): boolean {
    return Number.isFinite(this.maxAgeMs) && maxTimestampMs < this.now() - this.maxAgeMs;
  }

  /** too_big: more than the whole bound. Refused rather than emptying the queue for an entry that could never fit. */
  isTooBig(bytes: number, bound: number): boolean {
    return bytes > bound;
  }

  /** Why an entry is refused at append (too_old before too_big), or undefined when it may be stored. */
  refusal(bytes: number, maxTimestampMs: number, bound: number): 'too_old' | 'too_big' | undefined {
    if (this.isTooOld(maxTimestampMs)) return 'too_old';
    if (this.isTooBig(bytes, bound)) return 'too_big';
    return undefined;
  }

  /**
   * too_old, once per head to drop. Only heads: an old entry behind a newer
   * one goes when it becomes the head (nothing per entry is kept to find it).
   */
  *tooOldHeads(queue: RetainedEntries): Generator<'too_old', void, undefined> {
    for (let head = queue.head(); head !== undefined && this.isTooOld(head.maxTimestampMs); head = queue.head()) yield 'too_old';
  }

  /**
   * queue_full, once per head to drop so that `incoming` more bytes fit
   * within `capacity`: the oldest go, never the entry being added, so the
   * receiver gets the newest data once it is back. `alsoWhile`: keep dropping
   * while it holds as well (a full disk: until a segment file is freed).
   */
  *overBound(queue: RetainedEntries, incoming: number, capacity: number, alsoWhile?: () => boolean): Generator<'queue_full', void, undefined> {
    while (queue.count() > 0 && ((alsoWhile?.() ?? false) || queue.heldBytes() + incoming > capacity)) yield 'queue_full';
  }
}
