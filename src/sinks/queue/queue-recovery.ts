import * as fs from 'node:fs/promises';
import { settleDamage, type FoundDamage, type FoundRegion } from './damage-report';
import { Checkpoint, type Tally } from './queue-checkpoint';
import { lockHeldByAnother, lockQueueDir, QueueDirLockedError, type QueueDirLock } from './queue-dir-lock';
import { errorText, isDiskFull, OPEN_NEW, OPEN_UPDATE, readFully, syncDir, type QueueLog } from './queue-file-io';
import { decodeRecordHeader, payloadMatches, RECORD_HEADER_BYTES, type RecordHeader } from './queue-record-codec';
import type { QueueDrop } from './request-queue';
import { findRecord, listSegments, onlyZeros, SEGMENT_NAME, SegmentReader, segmentName, segmentPath, truncateSegment, type Segment } from './segment-file';
import { CHECKPOINT_FILE } from './queue-checkpoint';
import { SegmentFifo, type FifoState, type OldestSample } from './segment-fifo';

/**
 * Reading a queue folder back: at open, and again after an I/O error
 * (rebuild). Finds the read position and the backlog, cuts torn tails off,
 * and says what damage cost. The steps are in docs/queue-format.md.
 */

const EMPTY = Buffer.alloc(0);

/** Creates and locks the folder; a disk too full for the lock first gets back the space of delivered records. */
export async function lockFolder(dir: string, log: QueueLog): Promise<QueueDirLock> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create queue directory ${dir}: ${errorText(err)}`, { cause: err });
  }
  try {
    try {
      return await lockQueueDir(dir, (fields) => log('stale_lock_taken_over', fields));
    } catch (err) {
      // A disk full of records already delivered (as earlier versions left them): give them back, then lock.
      if (!isDiskFull(err) || !(await reclaimDelivered(dir, log))) throw err;
      return await lockQueueDir(dir, (fields) => log('stale_lock_taken_over', fields));
    }
  } catch (err) {
    if (err instanceof QueueDirLockedError) throw err;
    throw new Error(`cannot write to queue directory ${dir}: ${errorText(err)}`, { cause: err });
  }
}

/**
 * Anything under a segment's or the checkpoint's name that is not a regular
 * file (a symlink, a folder, a device) is renamed aside, once, and logged:
 * the queue neither follows it nor stops on it. Renaming moves the entry
 * itself, never what a link points to.
 */
async function setAsideForeign(dir: string, log: QueueLog): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (name !== CHECKPOINT_FILE && !SEGMENT_NAME.test(name)) continue;
    const stat = await fs.lstat(`${dir}/${name}`);
    if (stat.isFile()) continue;
    const aside = `${name}.not-a-queue-file.${Date.now()}`;
    await fs.rename(`${dir}/${name}`, `${dir}/${aside}`);
    log('foreign_entry_set_aside', { name, moved_to: aside, kind: stat.isSymbolicLink() ? 'symlink' : stat.isDirectory() ? 'directory' : 'other' });
  }
}

export interface Folder {
  readonly checkpoint: Checkpoint;
  readonly state: OpenState;
  readonly fifo: SegmentFifo;
}

/** The checkpoint, the backlog and the FIFO of a locked folder; nothing is left open when it throws. */
export async function readFolder(dir: string, log: QueueLog, onHeadMoved: () => void): Promise<Folder> {
  await setAsideForeign(dir, log);
  const checkpoint = await Checkpoint.open(dir, log);
  try {
    const state = await recover(dir, checkpoint, log);
    return { checkpoint, state, fifo: await SegmentFifo.open(dir, state, log, onHeadMoved) };
  } catch (err) {
    await checkpoint.close().catch(() => undefined);
    throw err;
  }
}

/** After an I/O error: the folder read again as at open, the folder and the lock file put back if they went. */
export async function rereadFolder(dir: string, lock: QueueDirLock, log: QueueLog, onHeadMoved: () => void): Promise<Folder> {
  await fs.mkdir(dir, { recursive: true });
  await lock.restore();
  return readFolder(dir, log, onHeadMoved);
}

/**
 * What a rebuild lost: the entries and samples before it that the folder no
 * longer holds, as one storage_error drop. The head whose ack failed was
 * delivered: not a loss when it is gone (it is when it is still the head:
 * then something else went).
 */
export function lostInRebuild(
  before: { readonly entries: number; readonly samples: number; readonly oldestTimestampMs: number | undefined },
  after: OpenState,
  failedAck: { readonly offset: number; readonly samples: number } | undefined,
  now: () => number,
): { entries: number; samples: number; drop: QueueDrop | undefined } {
  let entries = Math.max(0, before.entries - after.entries);
  let samples = Math.max(0, before.samples - after.samples);
  const newHead = after.headHeader === undefined ? undefined : after.cursorSeg.start + after.cursorPos;
  if (failedAck !== undefined && entries > 0 && newHead !== failedAck.offset) {
    entries--;
    samples = Math.max(0, samples - failedAck.samples);
  }
  const drop: QueueDrop | undefined =
    entries > 0 ? { entry: { body: EMPTY, samples, maxTimestampMs: before.oldestTimestampMs ?? now() }, reason: 'storage_error', requests: entries } : undefined;
  return { entries, samples, drop };
}

export interface OpenState extends FifoState {
  readonly damage: FoundDamage;
}

/**
 * The backlog from the read position on: segments before it deleted, the
 * headers scanned (payloads are not read, except the last record's), damage
 * skipped and logged, a torn tail cut off, and what damage cost (against the
 * checkpoint's tally when it has one: see settleDamage).
 */
export async function recover(
  dir: string,
  checkpoint: { readonly offset: number | undefined; readonly tally: Tally | undefined },
  log: QueueLog,
): Promise<OpenState> {
  const { tally } = checkpoint;
  const segments = await listSegments(dir);
  let readOffset = checkpoint.offset ?? segments[0]?.start ?? 0;
  if (segments.length === 0) {
    const seg = { start: readOffset, size: 0 };
    await (await fs.open(segmentPath(dir, seg), OPEN_NEW)).close();
    await syncDir(dir);
    segments.push(seg);
  }
  // Segments wholly before the read position were delivered; the last one stays (appends go there).
  while (segments.length > 1 && segments[0]!.start + segments[0]!.size <= readOffset) {
    const gone = segments.shift()!;
    await fs.unlink(segmentPath(dir, gone)).catch(() => undefined);
  }
  const first = segments[0]!;
  // Bytes the names say are missing: before the first segment, between segments, after the last one (by the tally).
  let missingBytes = Math.max(0, first.start - readOffset);
  for (let i = 1; i < segments.length; i++) missingBytes += Math.max(0, segments[i]!.start - segments[i - 1]!.start - segments[i - 1]!.size);
  if (tally !== undefined) missingBytes += Math.max(0, tally.writeEnd - segments[segments.length - 1]!.start - segments[segments.length - 1]!.size);
  if (readOffset < first.start) readOffset = first.start;

  const state = {
    segments,
    cursorSeg: first,
    cursorPos: Math.min(readOffset - first.start, first.size),
    headHeader: undefined as RecordHeader | undefined,
    oldestSample: undefined as OldestSample | undefined,
    entries: 0,
    samples: 0,
    bodyBytes: 0,
    recordBytes: 0,
  };
  const regions: FoundRegion[] = [];
  /** The records found that the tally covers (it was written after them). */
  const inTally = { entries: 0, samples: 0 };
  const covered = (seg: Segment, pos: number) => tally !== undefined && seg.start + pos < tally.writeEnd;
  let lastRecord: { seg: Segment; pos: number; header: RecordHeader } | undefined;
  for (const seg of segments) {
    let pos = seg === first ? state.cursorPos : 0;
    const handle = await fs.open(segmentPath(dir, seg), OPEN_UPDATE);
    try {
      const reader = new SegmentReader(seg, handle);
      while (pos < seg.size) {
        const found = await findRecord(reader, pos, seg.size);
        if (found === undefined) {
          log('torn_record', { segment: segmentName(seg), offset: pos, bytes: seg.size - pos, reason: 'header' });
          // A whole header whose payload was cut off says what was lost; zeros only (space allocated, nothing written): nothing was.
          const cut = decodeRecordHeader(await reader.bytes(pos, RECORD_HEADER_BYTES, seg.size));
          const zeros = cut === undefined && (await onlyZeros(handle, pos, seg.size));
          regions.push({ key: `${seg.start}:${pos}`, at: seg.start + pos, ...(cut !== undefined ? { header: cut } : { zeros }) });
          await truncateSegment(handle, seg, pos);
          break;
        }
        if (found.pos !== pos) {
          log('corrupt_record', { segment: segmentName(seg), offset: pos, skipped_bytes: found.pos - pos, reason: 'header' });
          regions.push({ key: `${seg.start}:${pos}`, at: seg.start + pos });
        }
        if (state.headHeader === undefined) {
          state.cursorSeg = seg;
          state.cursorPos = found.pos;
          state.headHeader = found.header;
        }
        if (state.oldestSample === undefined && found.header.samples > 0) {
          state.oldestSample = { offset: seg.start + found.pos, ts: found.header.maxTimestampMs };
        }
        state.entries++;
        state.samples += found.header.samples;
        state.bodyBytes += found.header.payloadLength;
        state.recordBytes += RECORD_HEADER_BYTES + found.header.payloadLength;
        if (covered(seg, found.pos)) {
          inTally.entries++;
          inTally.samples += found.header.samples;
        }
        lastRecord = { seg, pos: found.pos, header: found.header };
        pos = found.pos + RECORD_HEADER_BYTES + found.header.payloadLength;
      }
      // The record written last may have a valid header before a payload that never reached the disk.
      if (seg === segments[segments.length - 1] && lastRecord?.seg === seg) {
        const body = Buffer.allocUnsafe(lastRecord.header.payloadLength);
        await readFully(handle, body, lastRecord.pos + RECORD_HEADER_BYTES);
        if (!payloadMatches(lastRecord.header, body)) {
          const { header } = lastRecord;
          log('torn_record', { segment: segmentName(seg), offset: lastRecord.pos, bytes: seg.size - lastRecord.pos, reason: 'payload_checksum' });
          regions.push({ key: `${seg.start}:${lastRecord.pos}`, at: seg.start + lastRecord.pos, header });
          await truncateSegment(handle, seg, lastRecord.pos);
          state.entries--;
          state.samples -= header.samples;
          state.bodyBytes -= header.payloadLength;
          state.recordBytes -= RECORD_HEADER_BYTES + header.payloadLength;
          if (covered(seg, lastRecord.pos)) {
            inTally.entries--;
            inTally.samples -= header.samples;
          }
          if (state.entries === 0) state.headHeader = undefined;
          if (state.oldestSample?.offset === seg.start + lastRecord.pos) state.oldestSample = undefined;
        }
      }
    } finally {
      await handle.close();
    }
  }
  if (state.headHeader === undefined) {
    // Empty: the cursor sits at the end of the last segment.
    state.cursorSeg = segments[segments.length - 1]!;
    state.cursorPos = state.cursorSeg.size;
  }
  return { ...state, damage: settleDamage({ regions, inTally, tally, readOffset: checkpoint.offset, missingBytes }) };
}

/**
 * Before the lock could be written (the disk is full): deletes the segments
 * the checkpoint says are wholly delivered, the last one included (open
 * starts a fresh one at the read position), unless a live agent holds the
 * folder. Returns whether any space was given back.
 */
async function reclaimDelivered(dir: string, log: QueueLog): Promise<boolean> {
  if (await lockHeldByAnother(dir)) return false;
  const readOffset = await Checkpoint.readOffset(dir);
  if (readOffset === undefined) return false;
  let freed = 0;
  for (const seg of await listSegments(dir)) {
    if (seg.start + seg.size > readOffset) continue;
    await fs.unlink(segmentPath(dir, seg));
    freed += seg.size;
  }
  if (freed > 0) log('delivered_space_reclaimed', { bytes: freed, reason: 'disk full at open' });
  return freed > 0;
}
