import * as fs from 'node:fs/promises';
import { errorText, type QueueLog } from './queue-file-io';
import { RECORD_HEADER_BYTES } from './queue-record-codec';

/**
 * How many bytes the disk queue may hold: maxBytes, lowered at open to the
 * queue's share of the free space so that it never fills a volume it shares,
 * lowered further while the disk is full and raised back as space returns.
 * Which entries go to keep within it is retention-policy.ts's business.
 */

/** Where the bound came from: the configured maxBytes, or the space found on the file system. */
export interface QueueBound {
  readonly bytes: number;
  readonly maxBytes: number;
  /** Available bytes statfs reported at open; undefined when unknown. */
  readonly availableBytes: number | undefined;
  readonly adapted: boolean;
}

export interface BoundOptions {
  /** Bound on the bytes of the segment files. */
  readonly maxBytes: number;
  /** Entries whose newest sample is older than this are dropped; Infinity disables it. */
  readonly maxAgeMs: number;
  /** Size at which a new segment file is started; default min(8 MiB, bound / 16). Must be below maxBytes. */
  readonly segmentBytes?: number;
  /**
   * Share (0..1] of the space available on the file system (statfs, at open)
   * the queue may take on top of what it already holds; default 0.5. Several
   * queues on one volume should split it (open-request-queue.ts does).
   */
  readonly freeSpaceShare?: number;
  /** Available bytes of the file system holding the queue (default: fs.statfs); undefined when unknown. For tests. */
  readonly availableBytes?: (dir: string) => Promise<number | undefined>;
}

const MAX_SEGMENT_BYTES = 8 * 1024 * 1024;
/** Delivered bytes an empty queue keeps in the segment being written before it starts a new one and deletes the old. */
const RECLAIM_BYTES = 1024 * 1024;
/** The least bound adapting to the free space lowers to (unless maxBytes is lower). */
const MIN_ADAPTED_BOUND = 64 * 1024;
const DEFAULT_FREE_SPACE_SHARE = 0.5;

/** Throws a RangeError for bounds the queue cannot keep, before anything is touched on disk. */
export function checkBoundOptions(opts: BoundOptions): void {
  const { maxBytes, maxAgeMs } = opts;
  if (!(Number.isFinite(maxBytes) && maxBytes > RECORD_HEADER_BYTES)) throw new RangeError(`maxBytes must be a finite number above ${RECORD_HEADER_BYTES}, got ${maxBytes}`);
  if (!(maxAgeMs > 0)) throw new RangeError(`maxAgeMs must be positive (Infinity to disable), got ${maxAgeMs}`);
  const segmentBytes = opts.segmentBytes ?? segmentBytesFor(maxBytes, undefined);
  if (!(Number.isInteger(segmentBytes) && segmentBytes > 0 && segmentBytes < maxBytes)) {
    throw new RangeError(`segmentBytes must be a positive integer below maxBytes, got ${segmentBytes}`);
  }
  const share = opts.freeSpaceShare ?? DEFAULT_FREE_SPACE_SHARE;
  if (!(share > 0 && share <= 1)) throw new RangeError(`freeSpaceShare must be in (0, 1], got ${share}`);
}

export class QueueBounds {
  /** The bound in force: the bound from open, or lower while the disk is full. */
  private bound: number;
  private segBytes: number;

  private constructor(
    private readonly dir: string,
    /** The bound found at open; a full disk lowers the bound in force below it for a while. */
    readonly atOpen: QueueBound,
    private readonly explicitSegmentBytes: number | undefined,
    private readonly share: number,
    private readonly availableBytes: (dir: string) => Promise<number | undefined>,
    private readonly log: QueueLog,
  ) {
    this.bound = atOpen.bytes;
    this.segBytes = segmentBytesFor(atOpen.bytes, explicitSegmentBytes);
  }

  /** The bound for the queue in `dir`, which holds `held` bytes on disk now (logged when the free space lowers it). */
  static async atOpen(dir: string, opts: BoundOptions, held: number, log: QueueLog): Promise<QueueBounds> {
    const { maxBytes } = opts;
    const share = opts.freeSpaceShare ?? DEFAULT_FREE_SPACE_SHARE;
    const availableBytes = opts.availableBytes ?? statfsAvailable;
    const available = await availableBytes(dir);
    const bound = adaptedBound(maxBytes, held, available, share);
    const atOpen: QueueBound = { bytes: bound, maxBytes, availableBytes: available, adapted: bound < maxBytes };
    if (atOpen.adapted) {
      log('bound_adapted', { max_bytes: maxBytes, available_bytes: available ?? 'unknown', queue_bytes: held, free_space_share: share, bound_bytes: bound });
    }
    return new QueueBounds(dir, atOpen, opts.segmentBytes, share, availableBytes, log);
  }

  /** The bound in force, in bytes of segment files. */
  get bytes(): number {
    return this.bound;
  }
  /** Size at which a new segment is started. */
  get segmentBytes(): number {
    return this.segBytes;
  }
  /**
   * When the queue is empty and the segment being written holds this many
   * (delivered) bytes, a new segment is started and the old one deleted: 1 MiB,
   * or a segment if smaller. Rolling at every delivery would cost a file
   * creation, two fsyncs and a deletion a poll.
   */
  get reclaimBytes(): number {
    return Math.min(RECLAIM_BYTES, this.segBytes);
  }
  /** Room for pending records: the bound less one segment, the reserve for the delivered part of the oldest segment. */
  get capacity(): number {
    return this.bound - this.segBytes;
  }
  /** Whether a full disk lowered the bound below the one from open. */
  get lowered(): boolean {
    return this.bound < this.atOpen.bytes;
  }
  get current(): QueueBound {
    return { ...this.atOpen, bytes: this.bound };
  }

  /**
   * The disk is full below the bound: the bound becomes what the queue holds
   * now (but leaves room for the record of `size` bytes being written).
   */
  lowerForFullDisk(err: unknown, held: number, size: number): void {
    const lowered = Math.min(this.bound, Math.max(held, Math.min(MIN_ADAPTED_BOUND, this.atOpen.bytes), size + 1));
    this.log('disk_full', { error: errorText(err), queue_bytes: held, bound_bytes: lowered, previous_bound_bytes: this.bound });
    this.set(lowered);
  }

  /** While lowered: back up (never above the bound from open) as space comes back. */
  async raise(held: () => number): Promise<void> {
    const available = await this.availableBytes(this.dir).catch(() => undefined);
    if (available === undefined) return;
    const raised = Math.min(this.atOpen.bytes, adaptedBound(this.atOpen.maxBytes, held(), available, this.share));
    if (raised <= this.bound) return;
    this.set(raised);
    if (raised === this.atOpen.bytes) this.log('disk_space_back', { available_bytes: available, bound_bytes: raised });
  }

  private set(bytes: number): void {
    this.bound = bytes;
    this.segBytes = segmentBytesFor(bytes, this.explicitSegmentBytes);
  }
}

function segmentBytesFor(bound: number, explicit: number | undefined): number {
  if (explicit !== undefined && explicit < bound) return explicit;
  return Math.max(1, Math.min(MAX_SEGMENT_BYTES, Math.floor(bound / 16)));
}

/**
 * maxBytes, or less when the file system is smaller: what the queue holds
 * plus `share` of the available space, at least MIN_ADAPTED_BOUND (unless
 * maxBytes is lower). Unknown available space leaves maxBytes.
 */
function adaptedBound(maxBytes: number, held: number, available: number | undefined, share: number): number {
  if (available === undefined) return maxBytes;
  const fits = Math.floor(held + Math.max(0, available) * share);
  return Math.min(maxBytes, Math.max(fits, MIN_ADAPTED_BOUND));
}

/** Bytes available to an unprivileged writer on the file system of `dir`, from statfs; undefined when unknown. */
async function statfsAvailable(dir: string): Promise<number | undefined> {
  try {
    const stats = await fs.statfs(dir);
    const bytes = Number(stats.bavail) * Number(stats.bsize);
    return Number.isFinite(bytes) && bytes >= 0 ? bytes : undefined;
  } catch {
    return undefined;
  }
}
