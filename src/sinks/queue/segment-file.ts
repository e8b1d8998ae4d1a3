import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { OPEN_NEW, readFully, syncDir, writeNow } from './queue-file-io';
import { decodeRecordHeader, RECORD_HEADER_BYTES, RECORD_MAGIC, type RecordHeader } from './queue-record-codec';

/**
 * One segment file: its name, appending a record, reading records back and
 * finding the next valid one after damage, cutting off a torn tail. The
 * format is in docs/queue-format.md.
 */

export interface Segment {
  /** Global offset of its first byte, and its name. */
  readonly start: number;
  /** Bytes in the file (up to the end of its last record after open). */
  size: number;
}

export const SEGMENT_NAME = /^([0-9a-f]{16})\.seg$/;
const READ_WINDOW_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export function segmentName(seg: Segment): string {
  return `${seg.start.toString(16).padStart(16, '0')}.seg`;
}

export function segmentPath(dir: string, seg: Segment): string {
  return path.join(dir, segmentName(seg));
}

/** The segment files in `dir` with their sizes, oldest first. */
export async function listSegments(dir: string): Promise<Segment[]> {
  const segments: Segment[] = [];
  for (const name of await fs.readdir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match === null) continue;
    // lstat: a link or a folder under a segment's name is no segment (recovery sets those aside first).
    const stat = await fs.lstat(path.join(dir, name));
    if (!stat.isFile()) continue;
    segments.push({ start: parseInt(match[1]!, 16), size: stat.size });
  }
  return segments.sort((a, b) => a.start - b.start);
}

/** Creates the file of a new segment, durable (file and directory entry fsync'd) before anything goes into it. */
export async function createSegment(dir: string, seg: Segment): Promise<FileHandle> {
  const file = segmentPath(dir, seg);
  const handle = await fs.open(file, OPEN_NEW);
  try {
    await handle.sync();
    await syncDir(dir);
  } catch (err) {
    await handle.close();
    await fs.unlink(file).catch(() => undefined);
    throw err;
  }
  return handle;
}

/**
 * Writes a record at the end of `seg`. Written, it survives the process (a
 * crash, SIGKILL: it is in the kernel's page cache); the disk is the
 * caller's business (SegmentFifo.sync). A failed write is cut off again so
 * no partial record stays; if even that fails, what is there is kept as
 * part of the segment and later reads resynchronise past it.
 */
export async function appendRecord(handle: FileHandle, seg: Segment, header: Buffer, body: Buffer): Promise<void> {
  const pos = seg.size;
  try {
    writeNow(handle, [header, body], pos);
  } catch (err) {
    try {
      await handle.truncate(pos);
    } catch {
      seg.size = Math.max(pos, (await handle.stat().catch(() => ({ size: pos }))).size);
    }
    throw err;
  }
  seg.size = pos + RECORD_HEADER_BYTES + body.length;
}

/** Cuts a torn tail off at `at`, durably, before anything is appended after it. */
export async function truncateSegment(handle: FileHandle, seg: Segment, at: number): Promise<void> {
  await handle.truncate(at);
  await handle.sync();
  seg.size = at;
}

/** The payload of the record at `pos`; shorter than the header says when the file ends first. */
export async function readPayload(handle: FileHandle, pos: number, header: RecordHeader): Promise<Buffer> {
  const body = Buffer.allocUnsafe(header.payloadLength);
  const n = await readFully(handle, body, pos + RECORD_HEADER_BYTES);
  return n === body.length ? body : body.subarray(0, n);
}

/** Whether the bytes [from, to) of the file are all zero. */
export async function onlyZeros(handle: FileHandle, from: number, to: number): Promise<boolean> {
  const buf = Buffer.allocUnsafe(Math.min(READ_WINDOW_BYTES, Math.max(0, to - from)));
  for (let at = from; at < to; ) {
    const n = await handle.read(buf, 0, Math.min(buf.length, to - at), at);
    if (n.bytesRead === 0) break;
    for (let i = 0; i < n.bytesRead; i++) if (buf[i] !== 0) return false;
    at += n.bytesRead;
  }
  return true;
}

/** Reads from one segment through a small window, so that a run of small records costs few reads. */
export class SegmentReader {
  private window: Buffer = EMPTY;
  private windowStart = 0;

  constructor(
    readonly seg: Segment,
    readonly handle: FileHandle,
  ) {}

  /** Up to `len` bytes at `pos`, never past `limit` (bytes before the segment's size never change). */
  async bytes(pos: number, len: number, limit: number): Promise<Buffer> {
    const end = Math.min(pos + len, limit);
    if (end <= pos) return EMPTY;
    const windowEnd = this.windowStart + this.window.length;
    if (pos >= this.windowStart && end <= windowEnd) return this.window.subarray(pos - this.windowStart, end - this.windowStart);
    const buf = Buffer.allocUnsafe(Math.max(end - pos, Math.min(READ_WINDOW_BYTES, limit - pos)));
    const n = await readFully(this.handle, buf, pos);
    this.window = buf.subarray(0, n);
    this.windowStart = pos;
    return this.window.subarray(0, Math.min(n, end - pos));
  }
}

/**
 * The first position at or after `from` where a valid record starts (magic,
 * header checksum, payload within `limit`), with its header; undefined when
 * there is none before `limit`.
 */
export async function findRecord(reader: SegmentReader, from: number, limit: number): Promise<{ pos: number; header: RecordHeader } | undefined> {
  const headerAt = async (pos: number): Promise<RecordHeader | undefined> => {
    const header = decodeRecordHeader(await reader.bytes(pos, RECORD_HEADER_BYTES, limit));
    return header !== undefined && pos + RECORD_HEADER_BYTES + header.payloadLength <= limit ? header : undefined;
  };
  const first = await headerAt(from);
  if (first !== undefined) return { pos: from, header: first };
  let at = from + 1;
  while (at + RECORD_HEADER_BYTES <= limit) {
    const chunk = await reader.bytes(at, READ_WINDOW_BYTES, limit);
    // The file ends before `limit` (cut under a running queue): nothing more to find.
    if (chunk.length === 0) break;
    const k = chunk.indexOf(RECORD_MAGIC);
    if (k < 0) {
      // The magic may straddle the chunk's end: keep its last 3 bytes.
      at += Math.max(1, chunk.length - (RECORD_MAGIC.length - 1));
      continue;
    }
    const header = await headerAt(at + k);
    if (header !== undefined) return { pos: at + k, header };
    at += k + 1;
  }
  return undefined;
}
