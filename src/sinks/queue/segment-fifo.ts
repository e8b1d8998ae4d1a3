import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import type { Tally } from './queue-checkpoint';
import { errorText, isCode, linkCount, OPEN_READ, OPEN_UPDATE, type QueueLog } from './queue-file-io';
import { decodeRecordHeader, RECORD_HEADER_BYTES, type RecordHeader } from './queue-record-codec';
import type { QueueEntry } from './request-queue';
import { appendRecord, createSegment, findRecord, readPayload, SegmentReader, segmentName, segmentPath, type Segment } from './segment-file';

/**
 * The FIFO of segment files: records appended to the last segment, read
 * from the head, delivered segments deleted; what is pending in between,
 * counted. Moving the head is memory only: the queue's checkpoint makes it
 * durable. Memory: the segment list, the head's header (and its body, when
 * it was appended into an empty queue) and the position of the oldest entry
 * with samples; nothing per pending entry.
 */

export interface OldestSample {
  /** Global offset of the record. */
  readonly offset: number;
  readonly ts: number;
}

/** What recovery found: the segments, the head and the counts of what is pending. */
export interface FifoState {
  readonly segments: Segment[];
  readonly cursorSeg: Segment;
  readonly cursorPos: number;
  readonly headHeader: RecordHeader | undefined;
  readonly oldestSample: OldestSample | undefined;
  readonly entries: number;
  readonly samples: number;
  readonly bodyBytes: number;
  readonly recordBytes: number;
}

interface Located {
  readonly seg: Segment;
  readonly pos: number;
  /** undefined at the end of the last segment. */
  readonly header: RecordHeader | undefined;
}

/** Damage skipped on the way to a record: `skipped` bytes from `pos` in `seg`. */
type OnDamage = (seg: Segment, pos: number, skipped: number) => void;

/** Hears of damage the head meets, and what it cost. */
export interface DamageSink {
  /** Damage met by the head on its way to the next record: whether it is new (then what is pending is counted again). */
  skipped(seg: Segment, pos: number, skipped: number): boolean;
  /** Damage found further on while counting again. */
  ahead(seg: Segment, pos: number, skipped: number): void;
  /** What the counts held that the files no longer hold: lost. */
  lost(entries: number, samples: number, maxTimestampMs: number | undefined): void;
}

export class SegmentFifo {
  private reader: SegmentReader | undefined;
  /** Where the head record starts; when the queue is empty, the end of the last segment. */
  private headSeg: Segment;
  private headPos: number;
  private headHeader: RecordHeader | undefined;
  private oldest: OldestSample | undefined;
  private entryCount: number;
  private sampleCount: number;
  private bodyByteCount: number;
  private recordByteCount: number;
  /** Records were written to the segment being written since its last fdatasync. */
  private unsynced = false;
  /** The head's body when the head was appended into an empty queue: what it wrote, so peek reads nothing (one body, not one per entry). */
  private headBody: Buffer | undefined;

  private constructor(
    private readonly dir: string,
    private readonly list: Segment[],
    private writeHandle: FileHandle | undefined,
    state: FifoState,
    private readonly log: QueueLog,
    /** Called whenever the head moves (the queue forgets the entry it peeked). */
    private readonly onHeadMoved: () => void,
  ) {
    this.headSeg = state.cursorSeg;
    this.headPos = state.cursorPos;
    this.headHeader = state.headHeader;
    this.oldest = state.oldestSample;
    this.entryCount = state.entries;
    this.sampleCount = state.samples;
    this.bodyByteCount = state.bodyBytes;
    this.recordByteCount = state.recordBytes;
  }

  /** Appends go to the last of `state.segments` (recovery leaves at least one). */
  static async open(dir: string, state: FifoState, log: QueueLog, onHeadMoved: () => void): Promise<SegmentFifo> {
    const handle = await fs.open(segmentPath(dir, state.segments[state.segments.length - 1]!), OPEN_UPDATE);
    return new SegmentFifo(dir, state.segments, handle, state, log, onHeadMoved);
  }

  /** The head record's header; undefined when the queue is empty. */
  get head(): RecordHeader | undefined {
    return this.headHeader;
  }
  get headSegment(): Segment {
    return this.headSeg;
  }
  get headPosition(): number {
    return this.headPos;
  }
  /** Global offset of the head record (of the end, when empty): what the checkpoint holds. */
  get readOffset(): number {
    return this.headSeg.start + this.headPos;
  }
  get entries(): number {
    return this.entryCount;
  }
  get samples(): number {
    return this.sampleCount;
  }
  get bodyBytes(): number {
    return this.bodyByteCount;
  }
  /** Bytes of the pending records, headers included. */
  get recordBytes(): number {
    return this.recordByteCount;
  }
  /** maxTimestampMs of the first pending record with samples. */
  get oldestTimestampMs(): number | undefined {
    return this.oldest?.ts;
  }
  get first(): Segment {
    return this.list[0]!;
  }
  get last(): Segment {
    return this.list[this.list.length - 1]!;
  }
  /** Bytes of all segment files. */
  get diskBytes(): number {
    let total = 0;
    for (const seg of this.list) total += seg.size;
    return total;
  }

  /** The head's payload as written (the caller checks it): from memory when it was appended into an empty queue, else from the disk. */
  async readHead(): Promise<Buffer> {
    return this.headBody ?? readPayload((await this.readerFor(this.headSeg)).handle, this.headPos, this.headHeader!);
  }

  /**
   * What the checkpoint keeps with the read position: the end of what was
   * written and what is pending up to it, so that a later open can count
   * what the files lost since.
   */
  get tally(): Tally {
    return { writeEnd: this.last.start + this.last.size, entries: this.entryCount, samples: this.sampleCount };
  }

  /**
   * Moves past the head record, to the next valid one. New damage on the way
   * (or the end reached while the counts say more is pending) makes it count
   * what is pending again: what the counts held beyond that was lost. Nothing
   * changes when it throws.
   */
  async advance(damage: DamageSink): Promise<void> {
    const header = this.headHeader!;
    const leaving = this.readOffset;
    const met = { newDamage: false };
    const next = await this.locate(this.headSeg, this.headPos + RECORD_HEADER_BYTES + header.payloadLength, (seg, pos, skipped) => {
      if (damage.skipped(seg, pos, skipped)) met.newDamage = true;
    });
    const left = { entries: this.entryCount - 1, samples: this.sampleCount - header.samples };
    const found = met.newDamage || (next.header === undefined && left.entries !== 0) ? await this.countFrom(next, damage.ahead) : undefined;
    // Each record is looked at here at most once: the search resumes only when the head passes the one found.
    const oldest = found !== undefined ? found.oldest : this.oldest?.offset === leaving ? await this.findSamples(next) : this.oldest;
    const lostSince = this.oldest?.ts;
    this.oldest = oldest;
    this.entryCount = found?.entries ?? left.entries;
    this.sampleCount = found?.samples ?? left.samples;
    this.bodyByteCount = found?.bodyBytes ?? this.bodyByteCount - header.payloadLength;
    this.recordByteCount = found !== undefined ? found.bodyBytes + found.entries * RECORD_HEADER_BYTES : this.recordByteCount - RECORD_HEADER_BYTES - header.payloadLength;
    this.setHead(next);
    if (found !== undefined && (left.entries > found.entries || left.samples > found.samples)) {
      damage.lost(Math.max(0, left.entries - found.entries), Math.max(0, left.samples - found.samples), lostSince);
    }
  }

  /**
   * Appends a record, in a new segment when it would take the last one past
   * `segmentBytes` (or, into an empty queue, past the whole `bound`). It is
   * in the page cache when this resolves (it survives the process), on the
   * disk after the next sync().
   */
  async append(header: Buffer, entry: QueueEntry, segmentBytes: number, bound: number): Promise<void> {
    const size = RECORD_HEADER_BYTES + entry.body.length;
    let seg = this.last;
    const emptyQueue = this.headHeader === undefined;
    if (seg.size > 0 && (seg.size + size > segmentBytes || (emptyQueue && seg.size + size > bound))) {
      seg = await this.roll();
    }
    const pos = seg.size;
    try {
      await appendRecord(this.writeHandle!, seg, header, entry.body);
    } catch (err) {
      this.log('append_failed', { segment: segmentName(seg), offset: pos, error: errorText(err) });
      throw err;
    }
    this.unsynced = true;
    this.entryCount++;
    this.sampleCount += entry.samples;
    this.bodyByteCount += entry.body.length;
    this.recordByteCount += size;
    if (emptyQueue) {
      this.setHead({ seg, pos, header: decodeRecordHeader(header)! });
      this.headBody = entry.body;
    }
    if (this.oldest === undefined && entry.samples > 0) this.oldest = { offset: seg.start + pos, ts: entry.maxTimestampMs };
  }

  /** Whether records written since the last fdatasync are still pending (a power loss could take them). */
  get needsSync(): boolean {
    return this.unsynced && this.entryCount > 0;
  }

  /**
   * Makes the records written so far durable (fdatasync of the segment being
   * written), if any of them is still pending: a delivered record needs no
   * disk. Records in earlier segments were synced when their segment was
   * left (roll).
   */
  async sync(): Promise<void> {
    if (this.needsSync) await this.writeHandle?.datasync();
    this.unsynced = false;
  }

  /** Starts a new segment after the last one; when the queue is empty the head moves onto it. */
  async roll(): Promise<Segment> {
    const last = this.last;
    const seg: Segment = { start: last.start + last.size, size: 0 };
    // What is pending in the segment being left is made durable before its handle goes.
    await this.sync();
    const handle = await createSegment(this.dir, seg);
    await this.writeHandle?.close();
    this.writeHandle = handle;
    this.list.push(seg);
    if (this.headHeader === undefined) this.setHead({ seg, pos: 0, header: undefined });
    return seg;
  }

  /** Deletes the segments wholly before the head. One that cannot be deleted is logged and forgotten. */
  async deleteDelivered(): Promise<void> {
    while (this.list[0] !== this.headSeg) {
      const gone = this.list.shift()!;
      if (this.reader?.seg === gone) {
        await this.reader.handle.close().catch(() => undefined);
        this.reader = undefined;
      }
      await fs.unlink(segmentPath(this.dir, gone)).catch((err: unknown) => {
        if (!isCode(err, 'ENOENT')) this.log('segment_delete_failed', { segment: segmentName(gone), error: errorText(err) });
      });
    }
  }

  /** Whether the file appends go to was deleted under the queue: what is written there could never be read back. */
  writeFileGone(): boolean {
    return this.writeHandle !== undefined && linkCount(this.writeHandle) === 0;
  }

  async close(): Promise<void> {
    const handles = [this.writeHandle, this.reader?.handle];
    this.writeHandle = undefined;
    this.reader = undefined;
    for (const handle of handles) await handle?.close().catch(() => undefined);
  }

  private setHead(at: Located): void {
    this.headBody = undefined;
    this.headSeg = at.seg;
    this.headPos = at.pos;
    this.headHeader = at.header;
    this.onHeadMoved();
  }

  /** The records from `from` to the end, counted again (after damage). */
  private async countFrom(from: Located, onDamage: OnDamage): Promise<{ entries: number; samples: number; bodyBytes: number; oldest: OldestSample | undefined }> {
    const found = { entries: 0, samples: 0, bodyBytes: 0, oldest: undefined as OldestSample | undefined };
    for (let at = from; at.header !== undefined; ) {
      const { header } = at;
      found.entries++;
      found.samples += header.samples;
      found.bodyBytes += header.payloadLength;
      if (found.oldest === undefined && header.samples > 0) found.oldest = { offset: at.seg.start + at.pos, ts: header.maxTimestampMs };
      at = await this.locate(at.seg, at.pos + RECORD_HEADER_BYTES + header.payloadLength, onDamage);
    }
    return found;
  }

  /** The first record with samples at or after `from`. */
  private async findSamples(from: Located): Promise<OldestSample | undefined> {
    let at = from;
    while (at.header !== undefined) {
      if (at.header.samples > 0) return { offset: at.seg.start + at.pos, ts: at.header.maxTimestampMs };
      at = await this.locate(at.seg, at.pos + RECORD_HEADER_BYTES + at.header.payloadLength);
    }
    return undefined;
  }

  /** The first valid record at or after (seg, pos), or the end of the last segment. */
  private async locate(seg: Segment, pos: number, onDamage?: OnDamage): Promise<Located> {
    let index = this.list.indexOf(seg);
    for (;;) {
      const current = this.list[index]!;
      if (pos < current.size) {
        const found = await findRecord(await this.readerFor(current), pos, current.size);
        if (found !== undefined && found.pos !== pos) onDamage?.(current, pos, found.pos - pos);
        if (found !== undefined) return { seg: current, pos: found.pos, header: found.header };
        // No record in the rest of a segment the queue wrote whole: cut or overwritten under it.
        onDamage?.(current, pos, current.size - pos);
      }
      if (index === this.list.length - 1) return { seg: current, pos: current.size, header: undefined };
      index++;
      pos = 0;
    }
  }

  private async readerFor(seg: Segment): Promise<SegmentReader> {
    if (this.reader?.seg === seg) return this.reader;
    await this.reader?.handle.close();
    this.reader = undefined;
    this.reader = new SegmentReader(seg, await fs.open(segmentPath(this.dir, seg), OPEN_READ));
    return this.reader;
  }
}
