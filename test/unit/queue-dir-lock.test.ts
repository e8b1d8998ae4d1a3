import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lockQueueDir, type LockTiming } from '../../src/sinks/queue/queue-dir-lock';

/**
 * The queue folder's lock across PID namespaces (issue 17, 5.1): two
 * containers on one volume are both pid 1, so a lock of another namespace
 * is judged by its renewal, never by its pid. The real two-namespace case
 * (agents under unshare) is in test/integration/queue-lock-namespaces.test.ts.
 */

interface Ctx {
  dir: string;
  lockFile: string;
  stale: Record<string, string | number>[];
  releases: (() => Promise<void>)[];
}

const test = suite<Ctx>('queue-dir-lock');

test.before.each(async (ctx) => {
  ctx.dir = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-lock-test-'));
  ctx.lockFile = path.join(ctx.dir, 'lock');
  ctx.stale = [];
  ctx.releases = [];
});

test.after.each(async (ctx) => {
  for (const release of ctx.releases) await release();
  await fs.rm(ctx.dir, { recursive: true, force: true });
});

async function lock(ctx: Ctx, timing: LockTiming) {
  const held = await lockQueueDir(ctx.dir, (fields) => ctx.stale.push(fields), timing);
  ctx.releases.push(() => held.release());
  return held;
}

const ownNamespace = async () => /\[(\d+)\]/.exec(await fs.readlink('/proc/self/ns/pid'))![1]!;
const bootId = async () => (await fs.readFile('/proc/sys/kernel/random/boot_id', 'latin1')).trim();
const startTime = async (pid: number) => {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

/** A lock as another container's agent writes it: our pid (both are pid 1), another PID namespace. */
async function foreignLock(ctx: Ctx): Promise<string> {
  const other = String(Number(await ownNamespace()) + 1);
  const text = `${process.pid}\n${await startTime(process.pid)}\nother-container\n${other}\n${await bootId()}\n0123456789abcdef\n`;
  await fs.writeFile(ctx.lockFile, text);
  return text;
}

test('a lock of another PID namespace with our own pid, renewed by its holder, is refused (EQUEUELOCKED) and left alone', async (ctx) => {
  const text = await foreignLock(ctx);
  const renewal = setInterval(() => {
    const now = new Date();
    fs.utimes(ctx.lockFile, now, now).catch(() => undefined);
  }, 50);
  try {
    const err = await lock(ctx, { renewMs: 50, staleAfterMs: 1000 }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    assert.ok(err, 'the live lock must not be taken');
    assert.is(err!.code, 'EQUEUELOCKED');
    assert.match(err!.message, `in use by another agent (pid ${process.pid} on other-container, in another PID namespace: its lock is being renewed`);
  } finally {
    clearInterval(renewal);
  }
  assert.is(await fs.readFile(ctx.lockFile, 'latin1'), text, 'left alone');
  assert.equal(ctx.stale, []);
});

test('the same lock, not renewed, is taken over only after it stayed unrenewed for staleAfterMs', async (ctx) => {
  await foreignLock(ctx);
  const started = performance.now();
  await lock(ctx, { renewMs: 50, staleAfterMs: 800 });
  const waited = performance.now() - started;
  assert.ok(waited >= 700, `taken after ${waited.toFixed(0)} ms`);
  assert.equal(ctx.stale, [{ lock_file: ctx.lockFile, stale_pid: process.pid, judged_by: 'unrenewed' }]);
  assert.ok((await fs.readFile(ctx.lockFile, 'latin1')).startsWith(`${process.pid}\n`));
});

test('a lock of another PID namespace last renewed long ago is taken at once (a container restarted after a while)', async (ctx) => {
  await foreignLock(ctx);
  const hourAgo = new Date(Date.now() - 3600_000);
  await fs.utimes(ctx.lockFile, hourAgo, hourAgo);
  // A wait of staleAfterMs (10 min here) would time the test out.
  await lock(ctx, { renewMs: 50, staleAfterMs: 600_000 });
  assert.is(ctx.stale.length, 1);
});

test('a lock of this PID namespace and boot with a dead pid is taken at once, without the wait (a restart after a crash)', async (ctx) => {
  const dead = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
  await fs.writeFile(ctx.lockFile, `${dead}\n123\nhere\n${await ownNamespace()}\n${await bootId()}\nfeedfacefeedface\n`);
  await lock(ctx, { renewMs: 50, staleAfterMs: 600_000 });
  assert.equal(ctx.stale, [{ lock_file: ctx.lockFile, stale_pid: dead }]);
});

test('a lock of this PID namespace held by a live process is refused at once, without the wait', async (ctx) => {
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => sleeper.once('spawn', resolve));
    await fs.writeFile(ctx.lockFile, `${sleeper.pid}\n${await startTime(sleeper.pid!)}\nhere\n${await ownNamespace()}\n${await bootId()}\nfeedfacefeedface\n`);
    const err = await lock(ctx, { renewMs: 50, staleAfterMs: 600_000 }).then(() => undefined, (e: Error) => e);
    assert.match(String(err), `in use by another agent (pid ${sleeper.pid} on here, lock file`);
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('the holder renews its lock, and its lock records this PID namespace and boot', async (ctx) => {
  await lock(ctx, { renewMs: 50, staleAfterMs: 500 });
  const [pid, , host, ns, boot, token] = (await fs.readFile(ctx.lockFile, 'latin1')).split('\n');
  assert.equal([pid, host, ns, boot], [String(process.pid), os.hostname(), await ownNamespace(), await bootId()]);
  assert.match(token!, /^[0-9a-f]{16}$/);
  const first = (await fs.stat(ctx.lockFile)).mtimeMs;
  const deadline = performance.now() + 10_000;
  while ((await fs.stat(ctx.lockFile)).mtimeMs === first) {
    assert.ok(performance.now() < deadline, 'the lock was not renewed within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

test.run();
