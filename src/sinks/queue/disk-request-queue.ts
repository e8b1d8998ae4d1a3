/**
 * A durable FIFO of remote-write requests, one directory per destination.
 * The on-disk format, the order of writes and what survives a crash are in
 * docs/queue-format.md; keep it in step with this code.
 */

import path from 'node:path';
import { DamageReport } from './damage-report';
import { GroupCommit } from './group-commit';
import { checkBoundOptions, QueueBounds, type BoundOptions, type QueueBound } from './queue-bounds';
import { CHECKPOINT_FILE, type Checkpoint } from './queue-checkpoint';
import type { QueueDirLock } from './queue-dir-lock';
import { errorText, isDiskFull, isIoError, type QueueLog } from './queue-file-io';
import { encodeRecordHeader, payloadMatches, RECORD_HEADER_BYTES } from './queue-record-codec';
import { lockFolder, lostInRebuild, readFolder, rereadFolder, type Folder } from './queue-recovery';
import type { QueueDrop, QueueDropReason, QueueEntry, RequestQueue } from './request-queue';
import { RetentionPolicy, type RetainedEntries } from './retention-policy';
import { segmentName } from './segment-file';
import type { SegmentFifo } from './segment-fifo';

export type { QueueBound } from './queue-bounds';
export type { QueueLog } from './queue-file-io';

export interface DiskRequestQueueOptions extends BoundOptions {
  /** The queue's own directory (e.g. <storage.path>/<destination name>); created if missing. */
  readonly dir: string;
  readonly now?: () => number;
  readonly log?: QueueLog;
  /** A pending record is fdatasync'd at the latest this long after its append (group-commit.ts); default 1000. */
  readonly syncIntervalMs?: number;
}

const EMPTY = Buffer.alloc(0);
export class DiskRequestQueue implements RequestQueue {
  private fifo!: SegmentFifo;
  /** The head as returned by peek() (body read and checked), until it leaves. */
  private headEntry: QueueEntry | undefined;
  /** Bumped whenever the head leaves, so that ack() knows whether the entry it acknowledges is still there. */
  private headSeq = 0;
  private peekedSeq: number | undefined;
  private pendingDrops: QueueDrop[] = [];
  private checkpoint!: Checkpoint;
  /** The read position and tally last written to the checkpoint ("offset:writeEnd:entries:samples"). */
  private checkpointed = '';
  /** The operation under way; the next waits for it. */
  private tail: Promise<unknown> = Promise.resolve();
  private closing = false;
  private readonly commits: GroupCommit;
  /** The I/O error that left the state in doubt; the next operation rebuilds from the directory first. */
  private broken: unknown;
  /** The head whose ack failed (it was delivered): not counted lost if the rebuild no longer finds it. */
  private failedAck: { readonly offset: number; readonly samples: number } | undefined;
  private replayed = { entries: 0, samples: 0 };
  private readonly policy: RetentionPolicy;
  private readonly damage: DamageReport;
  private readonly retained: RetainedEntries = {
    count: () => this.fifo.entries,
    head: () => this.fifo.head,
    heldBytes: () => this.fifo.recordBytes,
  };

  private constructor(
    private readonly dir: string,
    private readonly limits: QueueBounds,
    maxAgeMs: number,
    private readonly now: () => number,
    private readonly log: QueueLog,
    private readonly lock: QueueDirLock,
    folder: Folder,
    syncIntervalMs: number,
  ) {
    this.commits = new GroupCommit(syncIntervalMs, () => this.serial(() => this.sync()), (err) => this.log('sync_failed', { error: errorText(err) }));
    this.policy = new RetentionPolicy(maxAgeMs, now);
    this.damage = new DamageReport(log, now, (drop) => this.pendingDrops.push(drop));
    this.adopt(folder);
    this.damage.foundAtOpen(folder.state.damage);
  }

  static async open(opts: DiskRequestQueueOptions): Promise<DiskRequestQueue> {
    checkBoundOptions(opts);
    const log = opts.log ?? (() => undefined);
    const dir = path.resolve(opts.dir);
    const lock = await lockFolder(dir, log);
    let folder: Folder | undefined;
    try {
      let queue: DiskRequestQueue | undefined;
      folder = await readFolder(dir, log, () => queue?.headMoved());
      const limits = await QueueBounds.atOpen(dir, opts, folder.fifo.diskBytes, log);
      queue = new DiskRequestQueue(dir, limits, opts.maxAgeMs, opts.now ?? Date.now, log, lock, folder, opts.syncIntervalMs ?? 1000);
      await queue.finishOpen();
      return queue;
    } catch (err) {
      await folder?.fifo.close();
      await folder?.checkpoint.close().catch(() => undefined);
      await lock.release().catch(() => undefined);
      throw new Error(`cannot open queue directory ${dir}: ${errorText(err)}`, { cause: err });
    }
  }

  private async finishOpen(): Promise<void> {
    // A lower bound than the run that wrote the backlog: the oldest go, reported through takeDrops().
    for (const reason of this.policy.overBound(this.retained, 0, this.limits.capacity)) await this.dropHead(this.pendingDrops, reason);
    await this.commit(true);
    const { entries, samples, bodyBytes } = this.fifo;
    this.replayed = { entries, samples };
    if (entries > 0) this.log('replay', { entries, samples, bytes: bodyBytes });
  }

  append(entry: QueueEntry): Promise<QueueDrop[]> {
    return this.serial(async () => {
      // Before anything changes: a malformed entry is refused with a RangeError.
      const header = encodeRecordHeader(entry.body, entry.samples, entry.maxTimestampMs);
      this.checkFilesStillThere();
      if (this.limits.lowered) await this.limits.raise(() => this.diskBytes);
      const drops: QueueDrop[] = [];
      await this.dropTooOld(drops);
      const size = RECORD_HEADER_BYTES + entry.body.length;
      const refused = this.policy.refusal(size, entry.maxTimestampMs, this.limits.atOpen.bytes);
      if (refused !== undefined) {
        drops.push({ entry, reason: refused });
      } else {
        try {
          await this.makeRoom(size, drops);
          try {
            await this.fifo.append(header, entry, this.limits.segmentBytes, this.limits.bytes);
          } catch (err) {
            if (!isDiskFull(err)) throw err;
            // The disk is full before the bound: what the queue holds is the bound from now on; the oldest make room.
            await this.lowerBound(err, size, drops);
            await this.fifo.append(header, entry, this.limits.segmentBytes, this.limits.bytes);
          }
        } catch (err) {
          // The entry was not stored (the caller gets the error); what was dropped for it is still reported, by takeDrops().
          this.pendingDrops.push(...drops);
          throw err;
        }
      }
      await this.commit();
      return drops;
    });
  }

  peek(): Promise<QueueEntry | undefined> {
    return this.serial(async () => {
      await this.dropTooOld(this.pendingDrops);
      let result: QueueEntry | undefined;
      while (this.fifo.head !== undefined) {
        if (this.headEntry !== undefined) {
          result = this.headEntry;
          break;
        }
        const header = this.fifo.head;
        const body = await this.fifo.readHead();
        if (payloadMatches(header, body)) {
          this.headEntry = { body, samples: header.samples, maxTimestampMs: header.maxTimestampMs };
          continue;
        }
        this.damage.badPayload(this.fifo.headSegment, this.fifo.headPosition, header);
        await this.fifo.advance(this.damage);
      }
      await this.commit();
      this.peekedSeq = result === undefined ? undefined : this.headSeq;
      return result;
    });
  }

  /**
   * Removes the entry the last peek() returned. If that entry has left the
   * queue since (dropped by an append while it was being sent, or lost to a
   * rebuild), nothing is removed: the new head was never sent. Without a
   * peek, removes the head.
   */
  ack(): Promise<void> {
    return this.serial(async () => {
      const peeked = this.peekedSeq;
      this.peekedSeq = undefined;
      if (peeked !== undefined && peeked !== this.headSeq) return;
      const header = this.fifo.head;
      if (header === undefined) return;
      const at = this.fifo.readOffset;
      try {
        await this.fifo.advance(this.damage);
      } catch (err) {
        // Delivered, but the way past it is broken: if the rebuild no longer finds it, it is not a loss.
        this.failedAck = { offset: at, samples: header.samples };
        throw err;
      }
      await this.commit();
    });
  }

  /**
   * The entries dropped since the last call other than those append()
   * returned: too old at peek() (reason `too_old`), over the bound at open
   * (`queue_full`, when maxBytes was lowered), dropped by an append that
   * then failed to write, damaged on disk (`corrupt`), or lost to an I/O
   * error (`storage_error`, see docs/queue-format.md). Their bodies are empty.
   * Returns them oldest first and forgets them; call it after peek().
   */
  takeDrops(): QueueDrop[] {
    const drops = this.pendingDrops;
    this.pendingDrops = [];
    return drops;
  }

  /** The bound in force and where it came from. */
  get bounds(): QueueBound {
    return this.limits.current;
  }
  get pendingEntries(): number {
    return this.fifo.entries;
  }
  get pendingSamples(): number {
    return this.fifo.samples;
  }
  /** Bytes of the pending request bodies (as MemoryRequestQueue counts them). */
  get pendingBytes(): number {
    return this.fifo.bodyBytes;
  }
  /** Bytes of all segment files: the pending records and the delivered part of the oldest segment. */
  get diskBytes(): number {
    return this.fifo.diskBytes;
  }
  /**
   * maxTimestampMs of the oldest pending entry with samples (with one poll
   * per request, the timestamp of the oldest pending sample); undefined when
   * no entry with samples is pending.
   */
  get oldestTimestampMs(): number | undefined {
    return this.fifo.oldestTimestampMs;
  }
  /** Entries pending when the queue was opened: the backlog of an earlier run, sent before anything new. */
  get replayedEntries(): number {
    return this.replayed.entries;
  }
  get replayedSamples(): number {
    return this.replayed.samples;
  }
  /** Records skipped since open because their payload failed its checksum. */
  get corruptEntries(): number {
    return this.damage.corruptEntries;
  }
  get corruptSamples(): number {
    return this.damage.corruptSamples;
  }

  /** Waits for the operations under way, makes what is pending durable, then closes the files and releases the lock. Further calls do nothing. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.commits.stop();
    await this.tail;
    try {
      if (this.broken === undefined) await this.fifo.sync().then(() => this.checkpoint.sync());
    } finally {
      await this.fifo.close();
      await this.checkpoint.close();
      await this.lock.release();
    }
  }

  // ---- internals ----

  private serial<T>(op: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error(`disk request queue ${this.dir} is closed`));
    const result = this.tail.then(async () => {
      if (this.broken !== undefined) await this.rebuild();
      try {
        return await op();
      } catch (err) {
        // A full disk leaves the state as it was (nothing half-written); any other I/O error leaves it in doubt.
        if (isIoError(err) && !isDiskFull(err)) this.broken = err;
        throw err;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Drops the oldest entries (queue_full) until `size` more bytes of records fit. */
  private async makeRoom(size: number, drops: QueueDrop[]): Promise<void> {
    for (const reason of this.policy.overBound(this.retained, size, this.limits.capacity)) await this.dropHead(drops, reason);
    await this.commit();
  }

  /**
   * The disk is full below the bound: the bound becomes what the queue holds
   * now, and the oldest entries go until a segment file is freed (or the
   * queue is empty and its file given back), so that the retry has room.
   */
  private async lowerBound(err: unknown, size: number, drops: QueueDrop[]): Promise<void> {
    this.limits.lowerForFullDisk(err, this.diskBytes, size);
    const firstSegment = this.fifo.first;
    for (const reason of this.policy.overBound(this.retained, size, this.limits.capacity, () => this.fifo.headSegment === firstSegment)) {
      await this.dropHead(drops, reason);
    }
    await this.commit();
  }

  /**
   * Throws (an I/O error: the queue is rebuilt) when the segment being
   * written or the checkpoint file was deleted under the queue: what is
   * written there could never be read back.
   */
  private checkFilesStillThere(): void {
    const gone: string[] = [];
    if (this.fifo.writeFileGone()) gone.push(segmentName(this.fifo.last));
    if (this.checkpoint.linkCount() === 0) gone.push(CHECKPOINT_FILE);
    if (gone.length === 0) return;
    const err = new Error(`${gone.join(' and ')} deleted from ${this.dir} while in use`) as NodeJS.ErrnoException;
    err.code = 'ENOENT';
    throw err;
  }

  /** Takes over what recovery read from the folder: the checkpoint and the FIFO. */
  private adopt({ checkpoint, fifo }: Folder): void {
    this.checkpoint = checkpoint;
    const { offset, tally } = checkpoint;
    this.checkpointed = offset === undefined || tally === undefined ? '' : `${offset}:${tally.writeEnd}:${tally.entries}:${tally.samples}`;
    this.fifo = fifo;
  }

  /** The head left (or a new one came): the entry peeked is not the head any more. */
  private headMoved(): void {
    this.headEntry = undefined;
    this.headSeq++;
  }

  /**
   * After an I/O error: forgets the open files and the state, and reads it
   * all again from the directory as open() does. What is no longer there is
   * reported as one storage_error drop. Throws when the directory cannot be
   * read or written (the queue stays broken; the next operation tries again).
   */
  private async rebuild(): Promise<void> {
    const cause = this.broken;
    const { entries, samples, oldestTimestampMs } = this.fifo;
    await this.fifo.close();
    await this.checkpoint.close().catch(() => undefined);
    const folder = await rereadFolder(this.dir, this.lock, this.log, () => this.headMoved());
    const { state } = folder;
    this.adopt(folder);
    // An entry peeked before is not the head any more: its ack() removes nothing (it may be sent again: at least once).
    this.headMoved();
    this.damage.foundAgain(state.damage);
    this.broken = undefined;
    const lost = lostInRebuild({ entries, samples, oldestTimestampMs }, state, this.failedAck, this.now);
    this.failedAck = undefined;
    if (lost.drop !== undefined) this.pendingDrops.push(lost.drop);
    this.log('rebuilt', { error: errorText(cause), lost_entries: lost.entries, lost_samples: lost.samples, entries: state.entries, samples: state.samples });
    await this.commit();
  }

  private async dropTooOld(into: QueueDrop[]): Promise<void> {
    for (const reason of this.policy.tooOldHeads(this.retained)) await this.dropHead(into, reason);
  }

  private async dropHead(into: QueueDrop[], reason: QueueDropReason): Promise<void> {
    const header = this.fifo.head!;
    await this.fifo.advance(this.damage);
    into.push({ entry: { body: EMPTY, samples: header.samples, maxTimestampMs: header.maxTimestampMs }, reason });
  }

  /**
   * Writes the checkpoint if the read position or the tally changed (after
   * every append, delivery and drop), then deletes the segments wholly
   * before the read position. An empty queue whose segment holds
   * reclaimBytes of delivered records (any, at open and while a full disk
   * lowers the bound) starts a new segment first, so that one is deleted too.
   */
  private async commit(reclaimAll = false): Promise<void> {
    const offset = this.fifo.readOffset;
    const { tally } = this.fifo;
    const written = `${offset}:${tally.writeEnd}:${tally.entries}:${tally.samples}`;
    if (written !== this.checkpointed) {
      await this.checkpoint.write(offset, tally);
      this.checkpointed = written;
    }
    const last = this.fifo.last.size;
    if (this.fifo.head === undefined && last > 0 && (reclaimAll || this.limits.lowered || last >= this.limits.reclaimBytes)) {
      // The new segment starts at the read position, so the checkpoint stands as written.
      try {
        await this.fifo.roll();
      } catch (err) {
        // Only space not given back yet: the next commit tries again; a full disk is handled at append.
        this.log('reclaim_failed', { segment: segmentName(this.fifo.last), error: errorText(err) });
      }
    }
    await this.fifo.deleteDelivered();
    this.commits.update(this.fifo.needsSync);
  }

  /** The group commit (group-commit.ts): the pending records written since the last one, and the checkpoint. */
  private async sync(): Promise<void> {
    if (!this.fifo.needsSync) return;
    await this.fifo.sync();
    await this.checkpoint.sync();
  }
}
