import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';

/** What the queue's files share: the event log, whole reads and writes, directory fsync, error classes. */

/** The queue's events (names in docs/queue-format.md), with their fields. */
import { constants, fstatSync, writeSync, writevSync } from 'node:fs';

/**
 * Open flags of the queue's own files. None follows a symlink, and a new
 * file is created only where nothing is: a link planted at a predictable
 * segment name must never make the agent write through it.
 */
export const OPEN_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
export const OPEN_NEW_RW = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
export const OPEN_READ = constants.O_RDONLY | constants.O_NOFOLLOW;
export const OPEN_UPDATE = constants.O_RDWR | constants.O_NOFOLLOW;

export type QueueLog = (event: string, fields: Record<string, string | number>) => void;

/** Reads until `buf` is full or the file ends; returns the bytes read. */
export async function readFully(handle: FileHandle, buf: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Writes `data` at `position` at once (write(2) into the page cache, which
 * takes microseconds), on the main thread: through the thread pool, the
 * queue's two small writes a poll cost more in hand-offs than in writing.
 * What waits for the disk (fdatasync) stays off the main thread.
 */
export function writeNow(handle: FileHandle, data: readonly Uint8Array[], position: number): void {
  // One pwritev(2); what a short write left, part by part.
  let skip = writevSync(handle.fd, data as Uint8Array[], position);
  let at = position + skip;
  for (const part of data) {
    for (let done = Math.min(skip, part.length); done < part.length; ) {
      const n = writeSync(handle.fd, part, done, part.length - done, at);
      done += n;
      at += n;
    }
    skip = Math.max(0, skip - part.length);
  }
}

/** Links to an open file (0 once it was deleted while open), from fstat(2) on the main thread (no disk access). */
export function linkCount(handle: FileHandle): number {
  return fstatSync(handle.fd).nlink;
}

/** Makes a created or renamed entry in `dir` durable; a no-op where directories can't be fsync'd. */
export async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!isCode(err, 'EISDIR') && !isCode(err, 'EPERM') && !isCode(err, 'EINVAL') && !isCode(err, 'EBADF')) throw err;
  } finally {
    await handle?.close();
  }
}

export function isDiskFull(err: unknown): boolean {
  return isCode(err, 'ENOSPC') || isCode(err, 'EDQUOT');
}

/** An error from the file system (it has a code), not a refused argument. */
export function isIoError(err: unknown): boolean {
  return !(err instanceof RangeError) && typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string';
}

export function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
