import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * An exclusive lock on a queue directory, so that two agents never append to
 * (or ack from) the same queue.
 *
 * The lock is a file named `lock` holding
 * "pid\nstart\nhost\npid-namespace\nboot-id\ntoken\n": start is the process
 * start time from /proc/<pid>/stat, pid-namespace the inode of
 * /proc/self/ns/pid, boot-id /proc/sys/kernel/random/boot_id (each empty
 * where /proc is not available), token random. It is written whole to a
 * temporary file and hard-linked into place, so it never exists
 * half-written, and link() fails when it exists. The holder renews it: it
 * sets the file's modification time every `renewMs` (2 s).
 *
 * An existing lock is judged so:
 * - written in this PID namespace since this boot (its namespace and boot id
 *   are ours): by its pid, at once. Stale when the pid is not running, runs
 *   with another start time (reused), or is this very process while this
 *   process does not hold it.
 *   A lock without a namespace (written without /proc, or by an earlier
 *   version) is judged by its pid too.
 * - anything else (another container's PID namespace, another boot): its
 *   pid means nothing here
 *   (two containers on one volume are both pid 1). It is refused at once if
 *   its pid runs here with its start time (it may be the holder); otherwise
 *   it is watched, and stale only when it stays unchanged (not renewed) for
 *   `staleAfterMs` (10 s) since its last renewal. A lock that changes while
 *   watched is live: refused. So a restarted container (a new PID
 *   namespace) takes its old lock over after at most `staleAfterMs`.
 * A stale lock is moved aside with rename() before it is removed, so two
 * agents taking over the same stale lock at once cannot both win.
 *
 * Limits: on a network file system shared by two hosts, the renewal is
 * what protects; a holder that stops renewing for longer than staleAfterMs
 * (frozen, suspended) can have its lock taken.
 */

const LOCK_FILE = 'lock';

export interface LockTiming {
  /** How often the holder renews its lock (ms). */
  readonly renewMs: number;
  /** How long a lock of another PID namespace must stay unrenewed to be taken over (ms). */
  readonly staleAfterMs: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = { renewMs: 2000, staleAfterMs: 10_000 };

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

export async function lockQueueDir(
  dir: string,
  onStale: (fields: Record<string, string | number>) => void,
  timing: LockTiming = DEFAULT_LOCK_TIMING,
): Promise<QueueDirLock> {
  const resolved = await fs.realpath(dir);
  const lockPath = path.join(resolved, LOCK_FILE);
  if (heldHere.has(resolved)) {
    throw new QueueDirLockedError(`queue directory ${resolved} is already open in this process (lock file ${lockPath})`);
  }
  // Reserved before the first await that could let another open() of the same directory in.
  heldHere.add(resolved);
  try {
    const here = await thisProcess();
    const content = `${process.pid}\n${here.start}\n${os.hostname()}\n${here.pidNamespace}\n${here.bootId}\n${randomBytes(8).toString('hex')}\n`;
    await acquire(resolved, lockPath, content, here, timing, onStale);
    // Renewed while held: what tells an agent in another PID namespace that the holder lives.
    const renewal = setInterval(() => {
      const now = new Date();
      fs.lutimes(lockPath, now, now).catch(() => undefined);
    }, timing.renewMs);
    renewal.unref();
    return {
      path: lockPath,
      restore: async () => {
        if (!heldHere.has(resolved)) return;
        await fs.mkdir(resolved, { recursive: true });
        const current = await fs.readFile(lockPath, 'latin1').catch((err: unknown) => (isCode(err, 'ENOENT') ? undefined : content));
        if (current === undefined) await tryCreate(resolved, lockPath, content);
      },
      release: async () => {
        clearInterval(renewal);
        await release(resolved, lockPath, content);
      },
    };
  } catch (err) {
    heldHere.delete(resolved);
    throw err;
  }
}

/**
 * Whether another live process holds the lock of `dir` (as lockQueueDir
 * would judge it, without watching it), without taking it: for what may be
 * done before the lock can be written (a full disk).
 */
export async function lockHeldByAnother(dir: string, timing: LockTiming = DEFAULT_LOCK_TIMING): Promise<boolean> {
  const resolved = await fs.realpath(dir);
  if (heldHere.has(resolved)) return true;
  const lockPath = path.join(resolved, LOCK_FILE);
  let existing: string;
  let modifiedMs: number;
  try {
    existing = await fs.readFile(lockPath, 'latin1');
    modifiedMs = (await fs.lstat(lockPath)).mtimeMs;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
  const owner = parseLock(existing);
  const here = await thisProcess();
  if (judgedByPid(owner, here)) return ownerAliveHere(owner);
  if (await maybeAliveHere(owner)) return true;
  return Date.now() - modifiedMs < timing.staleAfterMs;
}

async function acquire(
  resolved: string,
  lockPath: string,
  content: string,
  here: ThisProcess,
  timing: LockTiming,
  onStale: (fields: Record<string, string | number>) => void,
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await tryCreate(resolved, lockPath, content)) return;
    let existing: string;
    let seen: LockState;
    try {
      existing = await fs.readFile(lockPath, 'latin1');
      seen = await lockState(lockPath);
    } catch (err) {
      if (isCode(err, 'ENOENT')) continue; // released meanwhile: try again
      throw err;
    }
    const owner = parseLock(existing);
    const inUse = (how: string) =>
      new QueueDirLockedError(
        `queue directory ${resolved} is in use by another agent (pid ${owner.pid}` +
          `${owner.host ? ` on ${owner.host}` : ''}${how}, lock file ${lockPath}); give each agent its own storage path`,
      );
    let how = '';
    if (judgedByPid(owner, here)) {
      if (await ownerAliveHere(owner)) throw inUse('');
    } else {
      if (await maybeAliveHere(owner)) throw inUse('');
      const verdict = await watch(lockPath, seen, existing, timing);
      if (verdict === 'gone') continue;
      if (verdict === 'renewed') throw inUse(', in another PID namespace: its lock is being renewed');
      how = 'unrenewed';
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
      onStale({ lock_file: lockPath, stale_pid: owner.pid ?? 'unknown', ...(how ? { judged_by: how } : {}) });
    } else {
      // Another agent took the lock over between our read and our rename: put its lock back.
      await fs.link(aside, lockPath).catch(() => undefined);
    }
    await fs.unlink(aside).catch(() => undefined);
  }
  throw new QueueDirLockedError(`could not lock queue directory ${resolved}: the lock file ${lockPath} keeps changing`);
}

interface LockState {
  readonly mtimeMs: number;
  readonly ino: number;
}

async function lockState(lockPath: string): Promise<LockState> {
  const stat = await fs.lstat(lockPath);
  return { mtimeMs: stat.mtimeMs, ino: stat.ino };
}

/**
 * Watches a lock that its pid cannot judge until it has gone unrenewed for
 * staleAfterMs since its last renewal (its modification time, when that is
 * not in the future; else since now), checking every renewMs / 2.
 */
async function watch(lockPath: string, seen: LockState, content: string, timing: LockTiming): Promise<'renewed' | 'gone' | 'stale'> {
  const age = Date.now() - seen.mtimeMs;
  const waitMs = age >= 0 && age < timing.staleAfterMs ? timing.staleAfterMs - age : age >= timing.staleAfterMs ? 0 : timing.staleAfterMs;
  const started = performance.now();
  for (;;) {
    let now: LockState;
    let text: string;
    try {
      now = await lockState(lockPath);
      text = await fs.readFile(lockPath, 'latin1');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return 'gone';
      throw err;
    }
    if (now.mtimeMs !== seen.mtimeMs || now.ino !== seen.ino || text !== content) return 'renewed';
    const left = waitMs - (performance.now() - started);
    if (left <= 0) return 'stale';
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, Math.max(10, timing.renewMs / 2))));
  }
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
  readonly pidNamespace: string;
  readonly bootId: string;
}

interface ThisProcess {
  readonly start: string;
  readonly pidNamespace: string;
  readonly bootId: string;
}

let thisProcessCache: Promise<ThisProcess> | undefined;

function thisProcess(): Promise<ThisProcess> {
  thisProcessCache ??= (async () => ({
    start: await processStartTime(process.pid),
    pidNamespace: await fs.readlink('/proc/self/ns/pid').then((link) => /\[(\d+)\]/.exec(link)?.[1] ?? '', () => ''),
    bootId: await fs.readFile('/proc/sys/kernel/random/boot_id', 'latin1').then((id) => id.trim(), () => ''),
  }))();
  return thisProcessCache;
}

function parseLock(text: string): LockOwner {
  const [pidText = '', start = '', host = '', pidNamespace = '', bootId = ''] = text.split('\n');
  const pid = /^[1-9][0-9]{0,9}$/.test(pidText) ? Number(pidText) : undefined;
  return { pid, start, host, pidNamespace, bootId };
}

/**
 * Whether the lock's pid names its owner here: written in this PID namespace
 * since this boot, or without a namespace at all (no /proc where it was
 * written, or a version before namespaces were recorded, which judged every
 * lock by its pid; such a version does not protect two containers either).
 */
function judgedByPid(owner: LockOwner, here: ThisProcess): boolean {
  if (owner.pidNamespace === '') return true;
  return owner.bootId !== '' && owner.pidNamespace === here.pidNamespace && owner.bootId === here.bootId;
}

/** For a lock of this PID namespace: whether its owner runs. */
async function ownerAliveHere(owner: LockOwner): Promise<boolean> {
  if (owner.pid === undefined) return false; // unreadable lock: nobody can own it
  // This process holds no other lock on the directory (lockQueueDir checked), so an earlier process with our pid left it.
  if (owner.pid === process.pid) return false;
  return pidRunsWithStart(owner.pid, owner.start);
}

/** For a lock of another or unknown namespace: whether a process here may be its owner (its pid runs here, with its start time). */
async function maybeAliveHere(owner: LockOwner): Promise<boolean> {
  if (owner.pid === undefined || owner.pid === process.pid) return false;
  return pidRunsWithStart(owner.pid, owner.start);
}

async function pidRunsWithStart(pid: number, lockedStart: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (isCode(err, 'ESRCH')) return false;
    // EPERM: it runs, as another user.
  }
  if (lockedStart !== '') {
    const start = await processStartTime(pid);
    if (start !== '' && start !== lockedStart) return false; // the pid now belongs to another process
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
