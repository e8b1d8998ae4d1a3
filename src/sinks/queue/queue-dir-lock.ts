import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * An exclusive lock on a queue directory, so that two agents never append to
 * (or ack from) the same queue.
 *
 * The lock is a file named `lock` holding "pid\nstart\nhost\n", where start is
 * the process start time from /proc/<pid>/stat (empty where /proc is not
 * available). It is written whole to a temporary file and hard-linked into
 * place, so it never exists half-written, and link() fails when it exists.
 *
 * An existing lock is stale, and taken over, when its pid is not running, or
 * runs with another start time (the pid was reused), or is this very
 * process while this process does not hold it (a restarted container where
 * the agent is pid 1 again). A stale lock is moved aside with rename() before
 * it is removed, so two agents taking over the same stale lock at once cannot
 * both win.
 *
 * Limits: the pid check only means something on one host; a directory on a
 * network file system shared by two hosts is not protected.
 */

const LOCK_FILE = 'lock';

/** Directories locked by this process (resolved paths). */
const heldHere = new Set<string>();

export class QueueDirLockedError extends Error {
  readonly code = 'EQUEUELOCKED';
}

export interface QueueDirLock {
  readonly path: string;
  /** Puts the lock file back if it was deleted while held (a queue rebuilt after its files were removed). */
  restore(): Promise<void>;
  release(): Promise<void>;
}

export async function lockQueueDir(dir: string, onStale: (fields: Record<string, string | number>) => void): Promise<QueueDirLock> {
  const resolved = await fs.realpath(dir);
  const lockPath = path.join(resolved, LOCK_FILE);
  if (heldHere.has(resolved)) {
    throw new QueueDirLockedError(`queue directory ${resolved} is already open in this process (lock file ${lockPath})`);
  }
  // Reserved before the first await that could let another open() of the same directory in.
  heldHere.add(resolved);
  try {
    const content = `${process.pid}\n${await processStartTime(process.pid)}\n${os.hostname()}\n`;
    await acquire(resolved, lockPath, content, onStale);
    return {
      path: lockPath,
      restore: async () => {
        if (!heldHere.has(resolved)) return;
        await fs.mkdir(resolved, { recursive: true });
        const current = await fs.readFile(lockPath, 'latin1').catch((err: unknown) => (isCode(err, 'ENOENT') ? undefined : content));
        if (current === undefined) await tryCreate(resolved, lockPath, content);
      },
      release: () => release(resolved, lockPath, content),
    };
  } catch (err) {
    heldHere.delete(resolved);
    throw err;
  }
}

/**
 * Whether another live process holds the lock of `dir` (as lockQueueDir
 * would judge it), without taking it: for what may be done before the lock
 * can be written (a full disk).
 */
export async function lockHeldByAnother(dir: string): Promise<boolean> {
  const resolved = await fs.realpath(dir);
  if (heldHere.has(resolved)) return true;
  let existing: string;
  try {
    existing = await fs.readFile(path.join(resolved, LOCK_FILE), 'latin1');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
  return ownerAlive(parseLock(existing));
}

async function acquire(
  resolved: string,
  lockPath: string,
  content: string,
  onStale: (fields: Record<string, string | number>) => void,
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await tryCreate(resolved, lockPath, content)) return;
    let existing: string;
    try {
      existing = await fs.readFile(lockPath, 'latin1');
    } catch (err) {
      if (isCode(err, 'ENOENT')) continue; // released meanwhile: try again
      throw err;
    }
    const owner = parseLock(existing);
    if (await ownerAlive(owner)) {
      throw new QueueDirLockedError(
        `queue directory ${resolved} is in use by another agent (pid ${owner.pid}` +
          `${owner.host ? ` on ${owner.host}` : ''}, lock file ${lockPath}); give each agent its own storage path`,
      );
    }
    // Stale: move it aside, and remove it only if what was moved is the lock judged stale.
    const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await fs.rename(lockPath, aside);
    } catch (err) {
      if (isCode(err, 'ENOENT')) continue;
      throw err;
    }
    const moved = await fs.readFile(aside, 'latin1').catch(() => '');
    if (moved === existing) {
      onStale({ lock_file: lockPath, stale_pid: owner.pid ?? 'unknown' });
    } else {
      // Another agent took the lock over between our read and our rename: put its lock back.
      await fs.link(aside, lockPath).catch(() => undefined);
    }
    await fs.unlink(aside).catch(() => undefined);
  }
  throw new QueueDirLockedError(`could not lock queue directory ${resolved}: the lock file ${lockPath} keeps changing`);
}

async function tryCreate(dir: string, lockPath: string, content: string): Promise<boolean> {
  const tmp = path.join(dir, `${LOCK_FILE}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await fs.open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(content, 'latin1');
    await handle.sync();
  } catch (err) {
    // A full disk: leave no temporary file behind.
    await handle.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await fs.link(tmp, lockPath);
    return true;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    if (isCode(err, 'EPERM') || isCode(err, 'ENOTSUP') || isCode(err, 'ENOSYS') || isCode(err, 'EOPNOTSUPP')) {
      // A file system without hard links: exclusive create, then write (a crash in between leaves an empty lock, seen as stale).
      return createExclusive(lockPath, content);
    }
    throw err;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
}

async function createExclusive(lockPath: string, content: string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(lockPath, 'wx', 0o644);
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    await handle.writeFile(content, 'latin1');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

async function release(resolved: string, lockPath: string, content: string): Promise<void> {
  if (!heldHere.delete(resolved)) return;
  // Remove it only if it is still ours.
  const current = await fs.readFile(lockPath, 'latin1').catch(() => undefined);
  if (current === content) await fs.unlink(lockPath).catch(() => undefined);
}

interface LockOwner {
  readonly pid: number | undefined;
  readonly start: string;
  readonly host: string;
}

function parseLock(text: string): LockOwner {
  const [pidText = '', start = '', host = ''] = text.split('\n');
  const pid = /^[1-9][0-9]{0,9}$/.test(pidText) ? Number(pidText) : undefined;
  return { pid, start, host };
}

async function ownerAlive(owner: LockOwner): Promise<boolean> {
  if (owner.pid === undefined) return false; // unreadable lock: nobody can own it
  // This process holds no other lock on the directory (lockQueueDir checked), so an earlier process with our pid left it.
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if (isCode(err, 'ESRCH')) return false;
    // EPERM: it runs, as another user.
  }
  if (owner.start !== '') {
    const start = await processStartTime(owner.pid);
    if (start !== '' && start !== owner.start) return false; // the pid now belongs to another process
  }
  return true;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or '' where unavailable. */
async function processStartTime(pid: number): Promise<string> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
