import * as fs from 'node:fs/promises';
import path from 'node:path';
import type { DiskRequestQueue } from '../../src/sinks/queue/disk-request-queue';
import type { QueueEntry } from '../../src/sinks/queue/request-queue';

/** The queue's segment files in `dir`, oldest first. */
export async function segmentFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
}

/** The bytes the queue's segment files take in `dir`. */
export async function bytesOfSegments(dir: string): Promise<number> {
  let total = 0;
  for (const name of await segmentFiles(dir)) total += (await fs.stat(path.join(dir, name))).size;
  return total;
}

/** Peeks and acks until empty, returning what came out. */
export async function drain(queue: DiskRequestQueue): Promise<QueueEntry[]> {
  const out: QueueEntry[] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const head = await queue.peek();
    if (head === undefined) return out;
    out.push(head);
    await queue.ack();
  }
  throw new Error('queue never emptied');
}
