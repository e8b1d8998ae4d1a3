import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log/logger';
import { DiskRequestQueue } from './disk-request-queue';
import { MemoryRequestQueue } from './memory-request-queue';
import type { RequestQueue } from './request-queue';
import type { StorageOptions, StorageSettingNames } from './storage-options';

/** A destination name as a folder name: no path separators, nothing hidden. */
export function queueFolderName(destinationName: string): string {
  const safe = destinationName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe === '' ? '_' : safe;
}

/** The folder of a destination's queue under the storage path; undefined for a queue in memory. */
export function queueDir(storage: StorageOptions, destinationName: string): string | undefined {
  return storage.path === undefined ? undefined : join(storage.path, 'remote-write', queueFolderName(destinationName));
}

/** How the queue's own events are logged: routine ones at info; those a condition log of the sender repeats already at debug. */
const EVENT_LEVEL: Readonly<Record<string, 'debug' | 'info' | 'warn'>> = {
  replay: 'info',
  stale_lock_taken_over: 'info',
  disk_space_back: 'info',
  // Each failed append: the sender logs the condition (start, once a minute, end).
  append_failed: 'debug',
  disk_full: 'debug',
  reclaim_failed: 'debug',
};

/** A queue folder that cannot be created, locked or written: the caller names the setting. */
export class QueueFolderError extends Error {
  constructor(
    readonly dir: string,
    readonly destinationName: string,
    readonly reason: NodeJS.ErrnoException,
  ) {
    super(`cannot use ${JSON.stringify(dir)} for the queue of remote-write destination ${JSON.stringify(destinationName)}: ${reason.code ? `${reason.code} ` : ''}${reason.message}`);
    this.name = 'QueueFolderError';
  }
}

/**
 * The queue of one remote-write destination: on disk under
 * `<path>/remote-write/<name>/`, or in memory. A folder that cannot be
 * created, locked or written throws a QueueFolderError.
 * `queuesOnVolume`: how many queues share the storage path, so that
 * together they take at most half of its free space.
 */
export async function openRequestQueue(
  storage: StorageOptions,
  destinationName: string,
  log: Logger,
  names: StorageSettingNames,
  queuesOnVolume = 1,
): Promise<RequestQueue> {
  const dir = queueDir(storage, destinationName);
  if (dir === undefined) return new MemoryRequestQueue(storage.maxBytes, storage.maxAgeMs);
  try {
    await mkdir(dir, { recursive: true });
    return await DiskRequestQueue.open({
      dir,
      maxBytes: storage.maxBytes,
      maxAgeMs: storage.maxAgeMs,
      freeSpaceShare: 0.5 / Math.max(1, queuesOnVolume),
      log: (event, fields) => {
        const level = EVENT_LEVEL[event] ?? 'warn';
        const message = event === 'bound_adapted' ? `queue: the free space of ${names.path} is below ${names.maxBytes}: the queue is bounded by it` : `queue: ${event.replace(/_/g, ' ')}`;
        log[level](message, { ...fields, dir });
      },
    });
  } catch (error) {
    throw new QueueFolderError(dir, destinationName, error as NodeJS.ErrnoException);
  }
}
