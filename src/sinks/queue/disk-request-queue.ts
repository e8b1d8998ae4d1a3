/**
 * A durable FIFO of remote-write requests, one directory per destination.
 * The on-disk format, the order of writes and what survives a crash are in
 * docs/queue-format.md; keep it in step with this code.
 */

import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { checkBoundOptions, QueueBounds, type QueueBound } from './queue-bounds';
import { Checkpoint, CHECKPOINT_FILE } from './queue-checkpoint';
import type { QueueDirLock } from './queue-dir-lock';
import { errorText, isCode, isDiskFull, isIoError, type QueueLog } from './queue-file-io';
import { decodeRecordHeader, encodeRecordHeader, payloadMatches, RECORD_HEADER_BYTES, type RecordHeader } from './queue-record-codec';
import { lockFolder, lostInRebuild, recover, type OldestSample, type OpenState } from './queue-recovery';
import type { QueueDrop, QueueDropReason, QueueEntry, RequestQueue } from './request-queue';
import { RetentionPolicy, type RetainedEntries } from './retention-policy';
import { appendRecord, createSegment, findRecord, readPayload, SegmentReader, segmentName, segmentPath, type Segment } from './segment-file';

export type { QueueBound } from './queue-bounds';
export type { QueueLog } from './queue-file-io';

export interface DiskRequestQueueOptions {
  /** The queue's own directory (e.g. <storage.path>/<destination name>); created if missing. */
  readonly dir: string;
  /** Bound on the bytes of the segment files. */
  readonly maxBytes: number;
  /** Entries whose newest sample is older than this are dropped; Infinity disables it. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
  readonly log?: QueueLog;
  /** Size at which a new segment file is started; default min(8 MiB, bound / 16). Must be below maxBytes. */
  readonly segmentBytes?: number;
  /**
   * Share (0..1] of the space available on the file system (statfs, at open)
   * the queue may take on top of what it already holds; default 0.5. Several
   * queues on one volume should split it (open-request-queue.ts does).
   */
  readonly freeSpaceShare?: number;
  /** Available bytes of the file system holding `dir` (default: fs.statfs); undefined when unknown. For tests. */
  readonly availableBytes?: (dir: string) => Promise<number | undefined>;
}

const EMPTY = Buffer.alloc(0);

interface Located {
  readonly seg: Segment;
  readonly pos: number;
  readonly header: RecordHeader | undefined;
}

export class DiskRequestQueue implements RequestQueue {
  private segments!: Segment[];
  /** Where the head record starts; when the queue is empty, the end of the last segment. */
  private cursorSeg!: Segment;
  private cursorPos!: number;
  /** The head record's header; undefined when the queue is empty. */
  private headHeader: RecordHeader | undefined;
  /** The first pending record with samples (global offset, maxTimestampMs); undefined when there is none. */
  private oldestSample: OldestSample | undefined;
  /** The head as returned by peek() (body read and checked), until it leaves. */
  private headEntry: QueueEntry | undefined;
  /** Bumped whenever the head leaves, so that ack() knows whether the entry it acknowledges is still there. */
  private headSeq = 0;
  private peekedSeq: number | undefined;

  private entries = 0;
  private samples = 0;
  private bodyBytes = 0;
  private recordBytes = 0;
  private corruptEntryCount = 0;
  private corruptSampleCount = 0;
  private pendingDrops: QueueDrop[] = [];

  private writeHandle: FileHandle | undefined;
  private reader: SegmentReader | undefined;
  private checkpointedOffset: number;
  /** Damaged regions found at open, "start:pos", so that reaching them later is not logged twice. */
  private readonly knownDamage = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  private closing = false;
  /** The I/O error that left the state in doubt; the next operation rebuilds from the directory first. */
  private broken: unknown;
  /** The head whose ack failed (it was delivered): not counted lost if the rebuild no longer finds it. */
  private failedAck: { readonly offset: number; readonly samples: number } | undefined;

  private replayed = { entries: 0, samples: 0 };
  private readonly policy: RetentionPolicy;
  private readonly retained: RetainedEntries = {
    count: () => this.entries,
    head: () => this.headHeader,
    heldBytes: () => this.recordBytes,
  };

  private constructor(
    private readonly dir: string,
    private readonly limits: QueueBounds,
    maxAgeMs: number,
    private readonly now: () => number,
    private readonly log: QueueLog,
    private readonly lock: QueueDirLock,
    private checkpoint: Checkpoint,
    state: OpenState,
  ) {
    this.policy = new RetentionPolicy(maxAgeMs, now);
    this.adopt(state);
    for (const { key } of state.damage) this.knownDamage.add(key);
    this.pendingDrops.push(...state.damage.flatMap((d) => (d.drop === undefined ? [] : [d.drop])));
    this.checkpointedOffset = checkpoint.offset ?? -1;
  }

  static async open(opts: DiskRequestQueueOptions): Promise<DiskRequestQueue> {
    checkBoundOptions(opts);
    const log = opts.log ?? (() => undefined);
    const dir = path.resolve(opts.dir);
    const lock = await lockFolder(dir, log);
    let checkpoint: Checkpoint | undefined;
    let queue: DiskRequestQueue | undefined;
    try {
      checkpoint = await Checkpoint.open(dir, log);
      const state = await recover(dir, checkpoint.offset, log);
      const limits = await QueueBounds.atOpen({ ...opts, dir }, sumSizes(state.segments), log);
      queue = new DiskRequestQueue(dir, limits, opts.maxAgeMs, opts.now ?? Date.now, log, lock, checkpoint, state);
      await queue.finishOpen();
      return queue;
    } catch (err) {
      await queue?.closeFiles().catch(() => undefined);
      await checkpoint?.close().catch(() => undefined);
      await lock.release().catch(() => undefined);
      throw new Error(`cannot open queue directory ${dir}: ${errorText(err)}`, { cause: err });
    }
  }

  private async finishOpen(): Promise<void> {
    const last = this.lastSegment();
    this.writeHandle = await fs.open(this.segmentPath(last), 'r+');
    // A lower bound than the run that wrote the backlog: the oldest go, reported through takeDrops().
    for (const reason of this.policy.overBound(this.retained, 0, this.limits.capacity)) await this.dropHead(this.pendingDrops, reason);
    await this.commit();
    this.replayed = { entries: this.entries, samples: this.samples };
    if (this.entries > 0) this.log('replay', { entries: this.entries, samples: this.samples, bytes: this.bodyBytes });
  }

  append(entry: QueueEntry): Promise<QueueDrop[]> {
    return this.serial(async () => {
      // Before anything changes: a malformed entry is refused with a RangeError.
      const header = encodeRecordHeader(entry.body, entry.samples, entry.maxTimestampMs);
      await this.checkFilesStillThere();
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
            await this.write(header, entry, size);
          } catch (err) {
            if (!isDiskFull(err)) throw err;
            // The disk is full before the bound: what the queue holds is the bound from now on; the oldest make room.
            await this.lowerBound(err, size, drops);
            await this.write(header, entry, size);
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
      while (this.headHeader !== undefined) {
        if (this.headEntry !== undefined) {
          result = this.headEntry;
          break;
        }
        const header = this.headHeader;
        const body = await this.readPayload(this.cursorSeg, this.cursorPos, header);
        if (payloadMatches(header, body)) {
          this.headEntry = { body, samples: header.samples, maxTimestampMs: header.maxTimestampMs };
          continue;
        }
        this.log('corrupt_record', { segment: segmentName(this.cursorSeg), offset: this.cursorPos, reason: 'payload_checksum', samples: header.samples });
        this.corruptEntryCount++;
        this.corruptSampleCount += header.samples;
        this.pendingDrops.push({ entry: { body: EMPTY, samples: header.samples, maxTimestampMs: header.maxTimestampMs }, reason: 'corrupt' });
        await this.advance();
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
      const header = this.headHeader;
      if (header === undefined) return;
      const at = this.cursorSeg.start + this.cursorPos;
      try {
        await this.advance();
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
    return this.entries;
  }
  get pendingSamples(): number {
    return this.samples;
  }
  /** Bytes of the pending request bodies (as MemoryRequestQueue counts them). */
  get pendingBytes(): number {
    return this.bodyBytes;
  }
  /** Bytes of all segment files: the pending records and the delivered part of the oldest segment. */
  get diskBytes(): number {
    let total = 0;
    for (const seg of this.segments) total += seg.size;
    return total;
  }
  /**
   * maxTimestampMs of the oldest pending entry with samples (with one poll
   * per request, the timestamp of the oldest pending sample); undefined when
   * no entry with samples is pending.
   */
  get oldestTimestampMs(): number | undefined {
    return this.oldestSample?.ts;
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
    return this.corruptEntryCount;
  }
  get corruptSamples(): number {
    return this.corruptSampleCount;
  }

  /** Waits for the operations under way, then closes the files and releases the lock. Further calls do nothing. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.chain;
    await this.closeFiles();
    await this.checkpoint.close();
    await this.lock.release();
  }

  // ---- internals ----

  private serial<T>(op: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error(`disk request queue ${this.dir} is closed`));
    const result = this.chain.then(async () => {
      if (this.broken !== undefined) await this.rebuild();
      try {
        return await op();
      } catch (err) {
        // A full disk leaves the state as it was (nothing half-written); any other I/O error leaves it in doubt.
        if (isIoError(err) && !isDiskFull(err)) this.broken = err;
        throw err;
      }
    });
    this.chain = result.catch(() => undefined);
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
    const firstSegment = this.segments[0];
    for (const reason of this.policy.overBound(this.retained, size, this.limits.capacity, () => this.cursorSeg === firstSegment)) {
      await this.dropHead(drops, reason);
    }
    await this.commit();
  }

  /**
   * Throws (an I/O error: the queue is rebuilt) when the segment being
   * written or the checkpoint file was deleted under the queue: what is
   * written there could never be read back.
   */
  private async checkFilesStillThere(): Promise<void> {
    const gone: string[] = [];
    if (this.writeHandle !== undefined && (await this.writeHandle.stat()).nlink === 0) gone.push(segmentName(this.lastSegment()));
    if ((await this.checkpoint.linkCount()) === 0) gone.push(CHECKPOINT_FILE);
    if (gone.length === 0) return;
    const err = new Error(`${gone.join(' and ')} deleted from ${this.dir} while in use`) as NodeJS.ErrnoException;
    err.code = 'ENOENT';
    throw err;
  }

  /** Takes over what recovery read from the folder: segments, read position, head and counts. */
  private adopt(state: OpenState): void {
    this.segments = state.segments;
    this.cursorSeg = state.cursorSeg;
    this.cursorPos = state.cursorPos;
    this.headHeader = state.headHeader;
    this.oldestSample = state.oldestSample;
    this.entries = state.entries;
    this.samples = state.samples;
    this.bodyBytes = state.bodyBytes;
    this.recordBytes = state.recordBytes;
  }

  /**
   * After an I/O error: forgets the open files and the state, and reads it
   * all again from the directory as open() does. What is no longer there is
   * reported as one storage_error drop. Throws when the directory cannot be
   * read or written (the queue stays broken; the next operation tries again).
   */
  private async rebuild(): Promise<void> {
    const cause = this.broken;
    const before = { entries: this.entries, samples: this.samples, oldest: this.oldestSample?.ts };
    await this.closeFiles();
    await this.checkpoint.close().catch(() => undefined);
    await fs.mkdir(this.dir, { recursive: true });
    await this.lock.restore();
    this.checkpoint = await Checkpoint.open(this.dir, this.log);
    const state = await recover(this.dir, this.checkpoint.offset, this.log);
    this.writeHandle = await fs.open(path.join(this.dir, segmentName(state.segments[state.segments.length - 1]!)), 'r+');
    this.adopt(state);
    this.headEntry = undefined;
    // An entry peeked before is not the head any more: its ack() removes nothing (it may be sent again: at least once).
    this.headSeq++;
    this.checkpointedOffset = this.checkpoint.offset ?? -1;
    for (const { key, drop } of state.damage) {
      if (drop !== undefined && !this.knownDamage.has(key)) this.pendingDrops.push(drop);
    }
    this.knownDamage.clear();
    for (const { key } of state.damage) this.knownDamage.add(key);
    this.broken = undefined;
    const lost = lostInRebuild(before, state, this.failedAck);
    this.failedAck = undefined;
    if (lost.entries > 0) {
      this.pendingDrops.push({
        entry: { body: EMPTY, samples: lost.samples, maxTimestampMs: before.oldest ?? this.now() },
        reason: 'storage_error',
        requests: lost.entries,
      });
    }
    this.log('rebuilt', { error: errorText(cause), lost_entries: lost.entries, lost_samples: lost.samples, entries: state.entries, samples: state.samples });
    await this.commit();
  }

  private async dropTooOld(into: QueueDrop[]): Promise<void> {
    for (const reason of this.policy.tooOldHeads(this.retained)) await this.dropHead(into, reason);
  }

  private async dropHead(into: QueueDrop[], reason: QueueDropReason): Promise<void> {
    const header = this.headHeader!;
    await this.advance();
    into.push({ entry: { body: EMPTY, samples: header.samples, maxTimestampMs: header.maxTimestampMs }, reason });
  }

  /** Moves the cursor past the head record, to the next valid one. Memory only: commit() makes it durable. */
  private async advance(): Promise<void> {
    const header = this.headHeader!;
    const leaving = this.cursorSeg.start + this.cursorPos;
    const next = await this.locate(this.cursorSeg, this.cursorPos + RECORD_HEADER_BYTES + header.payloadLength);
    // Each record is looked at here at most once: the search resumes only when the head passes the one found.
    const oldest = this.oldestSample?.offset === leaving ? await this.findSamples(next) : this.oldestSample;
    this.oldestSample = oldest;
    this.entries--;
    this.samples -= header.samples;
    this.bodyBytes -= header.payloadLength;
    this.recordBytes -= RECORD_HEADER_BYTES + header.payloadLength;
    this.setHead(next);
    if (next.header === undefined && this.entries !== 0) {
      this.log('counter_drift', { entries: this.entries, samples: this.samples });
      this.entries = this.samples = this.bodyBytes = this.recordBytes = 0;
      this.oldestSample = undefined;
    }
  }

  /** The first record with samples at or after `from`. */
  private async findSamples(from: Located): Promise<OldestSample | undefined> {
    let at = from;
    while (at.header !== undefined) {
      if (at.header.samples > 0) return { offset: at.seg.start + at.pos, ts: at.header.maxTimestampMs };
      at = await this.locate(at.seg, at.pos + RECORD_HEADER_BYTES + at.header.payloadLength, false);
    }
    return undefined;
  }

  private setHead(at: Located): void {
    this.cursorSeg = at.seg;
    this.cursorPos = at.pos;
    this.headHeader = at.header;
    this.headEntry = undefined;
    this.headSeq++;
  }

  /** The first valid record at or after (seg, pos), or the end of the last segment. `report`: log damage skipped on the way. */
  private async locate(seg: Segment, pos: number, report = true): Promise<Located> {
    let index = this.segments.indexOf(seg);
    for (;;) {
      const current = this.segments[index]!;
      if (pos < current.size) {
        const found = await findRecord(await this.readerFor(current), pos, current.size);
        if (report && found !== undefined && found.pos !== pos && !this.knownDamage.delete(`${current.start}:${pos}`)) {
          this.log('corrupt_record', { segment: segmentName(current), offset: pos, skipped_bytes: found.pos - pos, reason: 'header' });
          this.pendingDrops.push({ entry: { body: EMPTY, samples: 0, maxTimestampMs: this.now() }, reason: 'corrupt', samplesUnknown: true });
        }
        if (found !== undefined) return { seg: current, pos: found.pos, header: found.header };
      }
      if (index === this.segments.length - 1) return { seg: current, pos: current.size, header: undefined };
      index++;
      pos = 0;
    }
  }

  private async readerFor(seg: Segment): Promise<SegmentReader> {
    if (this.reader?.seg === seg) return this.reader;
    await this.reader?.handle.close();
    this.reader = undefined;
    this.reader = new SegmentReader(seg, await fs.open(this.segmentPath(seg), 'r'));
    return this.reader;
  }

  private async readPayload(seg: Segment, pos: number, header: RecordHeader): Promise<Buffer> {
    return readPayload((await this.readerFor(seg)).handle, pos, header);
  }

  /**
   * Writes the checkpoint if the read position moved, then deletes the
   * segments wholly before it. An empty queue whose segment holds delivered
   * records starts a new segment first, so that one is deleted too.
   */
  private async commit(): Promise<void> {
    const offset = this.cursorSeg.start + this.cursorPos;
    if (offset !== this.checkpointedOffset) {
      await this.checkpoint.write(offset);
      this.checkpointedOffset = offset;
    }
    if (this.headHeader === undefined && this.lastSegment().size > 0) {
      // The new segment starts at the read position, so the checkpoint stands as written.
      try {
        await this.roll();
      } catch (err) {
        // Only space not given back yet: the next commit tries again; a full disk is handled at append.
        this.log('reclaim_failed', { segment: segmentName(this.lastSegment()), error: errorText(err) });
      }
    }
    while (this.segments[0] !== this.cursorSeg) {
      const gone = this.segments.shift()!;
      if (this.reader?.seg === gone) {
        await this.reader.handle.close().catch(() => undefined);
        this.reader = undefined;
      }
      await fs.unlink(this.segmentPath(gone)).catch((err: unknown) => {
        if (!isCode(err, 'ENOENT')) this.log('segment_delete_failed', { segment: segmentName(gone), error: errorText(err) });
      });
    }
  }

  private async write(header: Buffer, entry: QueueEntry, size: number): Promise<void> {
    let seg = this.lastSegment();
    const emptyQueue = this.headHeader === undefined;
    if (seg.size > 0 && (seg.size + size > this.limits.segmentBytes || (emptyQueue && seg.size + size > this.limits.bytes))) {
      seg = await this.roll();
    }
    const pos = seg.size;
    try {
      await appendRecord(this.writeHandle!, seg, header, entry.body);
    } catch (err) {
      this.log('append_failed', { segment: segmentName(seg), offset: pos, error: errorText(err) });
      throw err;
    }
    this.entries++;
    this.samples += entry.samples;
    this.bodyBytes += entry.body.length;
    this.recordBytes += size;
    if (emptyQueue) {
      this.setHead({ seg, pos, header: decodeRecordHeader(header)! });
    }
    if (this.oldestSample === undefined && entry.samples > 0) this.oldestSample = { offset: seg.start + pos, ts: entry.maxTimestampMs };
  }

  /** Starts a new segment after the last one; when the queue is empty the cursor moves onto it. */
  private async roll(): Promise<Segment> {
    const last = this.lastSegment();
    const seg: Segment = { start: last.start + last.size, size: 0 };
    const handle = await createSegment(this.dir, seg);
    await this.writeHandle?.close();
    this.writeHandle = handle;
    this.segments.push(seg);
    if (this.headHeader === undefined) this.setHead({ seg, pos: 0, header: undefined });
    return seg;
  }

  private lastSegment(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private segmentPath(seg: Segment): string {
    return segmentPath(this.dir, seg);
  }

  private async closeFiles(): Promise<void> {
    const handles = [this.writeHandle, this.reader?.handle];
    this.writeHandle = undefined;
    this.reader = undefined;
    for (const handle of handles) await handle?.close().catch(() => undefined);
  }
}

// ---- small helpers ----

function sumSizes(segments: readonly Segment[]): number {
  let total = 0;
  for (const seg of segments) total += seg.size;
  return total;
}
