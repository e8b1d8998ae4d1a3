import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { isCode, linkCount, OPEN_NEW_RW, OPEN_UPDATE, readFully, syncDir, writeNow, type QueueLog } from './queue-file-io';
import { crc32c } from './queue-record-codec';

/**
 * The queue's read position and its tally, in two alternating pairs of slots
 * (format in docs/queue-format.md): a torn write falls back to the pair
 * written before. The position slots are the first 64 bytes, as earlier
 * versions wrote them (and still read them: they read no further); the tally
 * slots follow. A write reaches the page cache at once (it survives the
 * process) and the disk at the queue's next sync() (a position lost to a
 * power loss only sends delivered entries once more).
 */

export const CHECKPOINT_FILE = 'checkpoint';
const CHECKPOINT_MAGIC = Buffer.from('JQC1', 'latin1');
const TALLY_MAGIC = Buffer.from('JQT1', 'latin1');
const CHECKPOINT_SLOT_BYTES = 32;
const POSITION_BYTES = 2 * CHECKPOINT_SLOT_BYTES;
const CHECKPOINT_BYTES = 2 * POSITION_BYTES;

/**
 * What was pending when the checkpoint was written: the records from the
 * read position to `writeEnd` (the global end of the last record appended)
 * hold `entries` entries and `samples` samples. What open finds short of it
 * was lost.
 */
export interface Tally {
  readonly writeEnd: number;
  readonly entries: number;
  readonly samples: number;
}

export class Checkpoint {
  /** Written since the last sync(). */
  private unsynced = false;

  private constructor(
    private readonly handle: FileHandle,
    private seq: bigint,
    /** The read position found at open; undefined when there was none (or none valid). */
    readonly offset: number | undefined,
    /** The tally written with that position; undefined when there was none (an earlier version's checkpoint, or a torn one). */
    readonly tally: Tally | undefined,
  ) {}

  static async open(dir: string, log: QueueLog): Promise<Checkpoint> {
    const file = path.join(dir, CHECKPOINT_FILE);
    let handle: FileHandle;
    let created = false;
    try {
      handle = await fs.open(file, OPEN_UPDATE);
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
      handle = await fs.open(file, OPEN_NEW_RW);
      created = true;
    }
    try {
      if (created) {
        await handle.truncate(CHECKPOINT_BYTES);
        await handle.sync();
        await syncDir(dir);
        return new Checkpoint(handle, 0n, undefined, undefined);
      }
      const buf = Buffer.alloc(CHECKPOINT_BYTES);
      const n = await readFully(handle, buf, 0);
      const best = bestSlot(buf, n);
      if (best === undefined && buf.subarray(0, n).some((b) => b !== 0)) {
        log('checkpoint_invalid', { file, action: 'reading from the oldest segment' });
      }
      return new Checkpoint(handle, best?.seq ?? 0n, best?.offset, best === undefined ? undefined : tallyOf(buf, n, best.seq));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The read position in `dir`'s checkpoint, read only; undefined when there is none or it is invalid. */
  static async readOffset(dir: string): Promise<number | undefined> {
    let buf: Buffer;
    try {
      buf = await fs.readFile(path.join(dir, CHECKPOINT_FILE));
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined;
      throw err;
    }
    return bestSlot(buf, buf.length)?.offset;
  }

  /**
   * The tally slot first, then the position slot (fdatasync'd at the next
   * sync()): a process killed between the two writes leaves the previous pair
   * whole.
   */
  async write(offset: number, tally: Tally): Promise<void> {
    this.seq++;
    const at = Number(this.seq % 2n) * CHECKPOINT_SLOT_BYTES;
    const counts = Buffer.alloc(CHECKPOINT_SLOT_BYTES);
    TALLY_MAGIC.copy(counts, 0);
    counts.writeUInt32LE(Number(this.seq & 0xffff_ffffn), 4);
    counts.writeBigUInt64LE(BigInt(tally.writeEnd), 8);
    counts.writeBigUInt64LE(BigInt(tally.samples), 16);
    counts.writeUInt32LE(tally.entries >>> 0, 24);
    counts.writeUInt32LE(crc32c(counts, 0, 28), 28);
    writeNow(this.handle, [counts], POSITION_BYTES + at);
    const slot = Buffer.alloc(CHECKPOINT_SLOT_BYTES);
    CHECKPOINT_MAGIC.copy(slot, 0);
    slot.writeBigUInt64LE(this.seq, 4);
    slot.writeBigUInt64LE(BigInt(offset), 12);
    slot.writeUInt32LE(crc32c(slot, 0, 20), 20);
    writeNow(this.handle, [slot], at);
    this.unsynced = true;
  }

  /** fdatasync, if anything was written since the last one. */
  async sync(): Promise<void> {
    if (!this.unsynced) return;
    await this.handle.datasync();
    this.unsynced = false;
  }

  /** Links to the file (0 once it was deleted while open). */
  linkCount(): number {
    return linkCount(this.handle);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** The tally slot written with position slot `seq`, if it is whole. */
function tallyOf(buf: Buffer, n: number, seq: bigint): Tally | undefined {
  const at = POSITION_BYTES + Number(seq % 2n) * CHECKPOINT_SLOT_BYTES;
  if (n < at + CHECKPOINT_SLOT_BYTES || !buf.subarray(at, at + 4).equals(TALLY_MAGIC)) return undefined;
  if (crc32c(buf, at, at + 28) !== buf.readUInt32LE(at + 28) || buf.readUInt32LE(at + 4) !== Number(seq & 0xffff_ffffn)) return undefined;
  return { writeEnd: Number(buf.readBigUInt64LE(at + 8)), samples: Number(buf.readBigUInt64LE(at + 16)), entries: buf.readUInt32LE(at + 24) };
}

/** The valid checkpoint slot with the higher sequence number in the first `n` bytes of `buf`. */
function bestSlot(buf: Buffer, n: number): { seq: bigint; offset: number } | undefined {
  let best: { seq: bigint; offset: number } | undefined;
  for (let slot = 0; slot < 2; slot++) {
    const at = slot * CHECKPOINT_SLOT_BYTES;
    if (n < at + 24 || !buf.subarray(at, at + 4).equals(CHECKPOINT_MAGIC) || crc32c(buf, at, at + 20) !== buf.readUInt32LE(at + 20)) continue;
    const seq = buf.readBigUInt64LE(at + 4);
    const offset = Number(buf.readBigUInt64LE(at + 12));
    if (best === undefined || seq > best.seq) best = { seq, offset };
  }
  return best;
}
