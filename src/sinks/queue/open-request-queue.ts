import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../config/config-error';
import type { AgentConfig } from '../../config/load-config';
import type { Logger } from '../../log/logger';
import { DiskRequestQueue } from './disk-request-queue';
import { MemoryRequestQueue } from './memory-request-queue';
import type { RequestQueue } from './request-queue';

/** A destination name as a folder name: no path separators, nothing hidden. */
export function queueFolderName(destinationName: string): string {
  const safe = destinationName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe === '' ? '_' : safe;
}

/** The folder of a destination's queue under --storage.path; undefined with --storage.in-memory. */
export function queueDir(storage: AgentConfig['storage'], destinationName: string): string | undefined {
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

/**
 * The queue of one remote-write destination: on disk under
 * `<storage.path>/remote-write/<name>/`, or in memory with
 * --storage.in-memory. A folder that cannot be created, locked or written
 * stops the agent at start with a message naming --storage.path.
 * `queuesOnVolume`: how many queues share the storage path, so that
 * together they take at most half of its free space.
 */
export async function openRequestQueue(
  storage: AgentConfig['storage'],
  destinationName: string,
  log: Logger,
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
        const message = event === 'bound_adapted' ? 'queue: the free space of --storage.path is below --storage.max-bytes: the queue is bounded by it' : `queue: ${event.replace(/_/g, ' ')}`;
        log[level](message, { ...fields, dir });
      },
    });
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    throw new ConfigError(
      `--storage.path ${JSON.stringify(storage.path)}: cannot use ${JSON.stringify(dir)} for the queue of remote-write destination ${JSON.stringify(destinationName)}: ${err.code ? `${err.code} ` : ''}${err.message}` +
        ' (make it writable by the agent, or run with --storage.in-memory)',
    );
  }
}
