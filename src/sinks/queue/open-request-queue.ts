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

/**
 * The queue of one remote-write destination: on disk under
 * `<storage.path>/remote-write/<name>/`, or in memory with
 * --storage.in-memory. A folder that cannot be created, locked or written
 * stops the agent at start with a message naming --storage.path.
 */
export async function openRequestQueue(storage: AgentConfig['storage'], destinationName: string, log: Logger): Promise<RequestQueue> {
  if (storage.path === undefined) return new MemoryRequestQueue(storage.maxBytes, storage.maxAgeMs);
  const dir = join(storage.path, 'remote-write', queueFolderName(destinationName));
  try {
    await mkdir(dir, { recursive: true });
    return await DiskRequestQueue.open({
      dir,
      maxBytes: storage.maxBytes,
      maxAgeMs: storage.maxAgeMs,
      log: (event, fields) => {
        const routine = event === 'replay' || event === 'stale_lock_taken_over';
        (routine ? log.info : log.warn)(`queue: ${event.replace(/_/g, ' ')}`, { ...fields, dir });
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
