import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DiskRequestQueue, type DiskRequestQueueOptions } from '../../src/sinks/queue/disk-request-queue';
import { crc32c, RECORD_HEADER_BYTES } from '../../src/sinks/queue/queue-record-codec';
import type { QueueEntry } from '../../src/sinks/queue/request-queue';
import { bytesOfSegments, drain, segmentFiles } from '../helpers/disk-queue';

const HEADER = RECORD_HEADER_BYTES;
const T0 = 1_700_000_000_000;
const FIRST_SEGMENT = '0000000000000000.seg';

/** Entry i: a body of `size` bytes that differs from every other entry's, i + 1 samples, a timestamp i seconds after T0. */
function entry(i: number, size = 100 + ((i * 37) % 200)): QueueEntry {
  const body = Buffer.alloc(size);
  for (let k = 0; k < size; k++) body[k] = (i * 131 + k * 7 + (k >> 8)) & 0xff;
  if (size >= 4) body.writeUInt32LE(i, 0);
  return { body, samples: i + 1, maxTimestampMs: T0 + i * 1000 };
}

/** Resolves when `op` rejects with an error matching `expected` (a message pattern or an error class). */
async function rejects(op: () => Promise<unknown>, expected: RegExp | (new (...args: never[]) => Error), what = ''): Promise<void> {
  let error: unknown;
  try {
    await op();
  } catch (err) {
    error = err;
  }
  if (error === undefined) assert.unreachable(`expected a rejection ${what}`);
  if (expected instanceof RegExp) assert.match(String((error as Error).message), expected, what);
  else assert.instance(error, expected, what);
}

function recordSize(e: QueueEntry): number {
  return HEADER + e.body.length;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

interface LogEvent {
  readonly event: string;
  readonly fields: Record<string, string | number>;
}

interface Ctx {
  dir: string;
  open: (opts?: Partial<DiskRequestQueueOptions>) => Promise<DiskRequestQueue>;
  logs: LogEvent[];
  queues: DiskRequestQueue[];
}

const test = suite<Ctx>('disk request queue');

test.before.each(async (ctx) => {
  ctx.dir = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-test-'));
  ctx.logs = [];
  ctx.queues = [];
  ctx.open = async (opts = {}) => {
    const queue = await DiskRequestQueue.open({
      dir: path.join(ctx.dir, 'q'),
      maxBytes: 64 * 1024 * 1024,
      maxAgeMs: Infinity,
      log: (event, fields) => ctx.logs.push({ event, fields }),
      // The bounds these tests check are maxBytes', whatever the free space of the machine's /tmp.
      availableBytes: async () => undefined,
      ...opts,
    });
    ctx.queues.push(queue);
    return queue;
  };
});

test.after.each(async (ctx) => {
  for (const queue of ctx.queues) await queue.close();
  await fs.rm(ctx.dir, { recursive: true, force: true });
});

function assertSameEntries(actual: readonly QueueEntry[], expected: readonly QueueEntry[], what: string): void {
  assert.is(actual.length, expected.length, `${what}: count`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(actual[i]!.body.equals(expected[i]!.body), `${what}: body of #${i} (expected entry with first word ${expected[i]!.body.readUInt32LE(0)})`);
    assert.is(actual[i]!.samples, expected[i]!.samples, `${what}: samples of #${i}`);
    assert.is(actual[i]!.maxTimestampMs, expected[i]!.maxTimestampMs, `${what}: maxTimestampMs of #${i}`);
  }
}

function assertCounters(queue: DiskRequestQueue, expected: readonly QueueEntry[], what: string): void {
  assert.is(queue.pendingEntries, expected.length, `${what}: pendingEntries`);
  assert.is(queue.pendingSamples, sum(expected.map((e) => e.samples)), `${what}: pendingSamples`);
  assert.is(queue.pendingBytes, sum(expected.map((e) => e.body.length)), `${what}: pendingBytes`);
  assert.is(queue.oldestTimestampMs, expected.find((e) => e.samples > 0)?.maxTimestampMs, `${what}: oldestTimestampMs`);
}

test('FIFO across interleaved appends and acks and across segment rolls; counters follow', async (ctx) => {
  const queue = await ctx.open({ segmentBytes: 1000 });
  const model: QueueEntry[] = [];
  let next = 0;
  let maxSegments = 0;
  for (let round = 0; round < 40; round++) {
    for (let k = 0; k < 3; k++) {
      const e = entry(next++);
      assert.equal(await queue.append(e), []);
      model.push(e);
    }
    for (let k = 0; k < 2; k++) {
      const head = await queue.peek();
      assertSameEntries([head!], [model[0]!], `round ${round} head`);
      // peek() again before ack(): the same entry
      assertSameEntries([(await queue.peek())!], [model[0]!], `round ${round} second peek`);
      await queue.ack();
      model.shift();
    }
    assertCounters(queue, model, `round ${round}`);
    maxSegments = Math.max(maxSegments, (await segmentFiles(path.join(ctx.dir, 'q'))).length);
  }
  assert.ok(maxSegments > 3, `segments rolled (at most ${maxSegments} files at once)`);
  assertSameEntries(await drain(queue), model, 'rest');
  assertCounters(queue, [], 'drained');
});

test('reopen returns exactly the unacked entries, oldest first, with identical bytes, samples and timestamps', async (ctx) => {
  const all = Array.from({ length: 50 }, (_, i) => entry(i, 50 + i * 13));
  const acked = 17;
  const first = await ctx.open({ segmentBytes: 2000 });
  for (const e of all) await first.append(e);
  for (let i = 0; i < acked; i++) {
    await first.peek();
    await first.ack();
  }
  await first.close();

  const second = await ctx.open({ segmentBytes: 2000 });
  const expected = all.slice(acked);
  assertCounters(second, expected, 'after reopen');
  assert.is(second.replayedEntries, expected.length);
  assert.is(second.replayedSamples, sum(expected.map((e) => e.samples)));
  // Two now, the rest after another restart.
  const firstTwo: QueueEntry[] = [];
  for (let i = 0; i < 2; i++) {
    firstTwo.push((await second.peek())!);
    await second.ack();
  }
  assertSameEntries(firstTwo, expected.slice(0, 2), 'first two after reopen');
  await second.close();

  const third = await ctx.open({ segmentBytes: 2000 });
  assertCounters(third, expected.slice(2), 'after second reopen');
  assertSameEntries(await drain(third), expected.slice(2), 'after second reopen');
  await third.close();

  const fourth = await ctx.open({ segmentBytes: 2000 });
  assertCounters(fourth, [], 'all acked');
  assert.is(fourth.replayedEntries, 0);
  assert.is(await fourth.peek(), undefined);
});

test('segments whose records were all acked are deleted; disk bytes match the files', async (ctx) => {
  const dir = path.join(ctx.dir, 'q');
  const queue = await ctx.open({ segmentBytes: 1000 });
  const entries = Array.from({ length: 20 }, (_, i) => entry(i, 272)); // 300-byte records: 3 per segment
  for (const e of entries) await queue.append(e);
  const perSegment = Math.floor(1000 / recordSize(entries[0]!));
  assert.is((await segmentFiles(dir)).length, Math.ceil(entries.length / perSegment));
  assert.is(queue.diskBytes, await bytesOfSegments(dir));

  // Ack the records of the first two segments: their files go.
  for (let i = 0; i < 2 * perSegment; i++) {
    await queue.peek();
    await queue.ack();
  }
  const files = await segmentFiles(dir);
  assert.is(files.length, Math.ceil(entries.length / perSegment) - 2);
  assert.is(files[0], `${(2 * perSegment * recordSize(entries[0]!)).toString(16).padStart(16, '0')}.seg`);

  await drain(queue);
  // Only the segment being written remains; it goes once the next one starts.
  assert.is((await segmentFiles(dir)).length, 1);
  assert.is(queue.diskBytes, await bytesOfSegments(dir));
  await queue.append(entry(99, 900));
  assert.equal(await segmentFiles(dir), [`${(entries.length * recordSize(entries[0]!)).toString(16).padStart(16, '0')}.seg`]);
  assert.is(await bytesOfSegments(dir), recordSize(entry(99, 900)));
});

/** Appends `entries` to a fresh queue in one segment and closes it; returns the segment's path and each record's offset. */
async function writeAndClose(ctx: Ctx, entries: readonly QueueEntry[]): Promise<{ file: string; offsets: number[] }> {
  const queue = await ctx.open();
  for (const e of entries) await queue.append(e);
  await queue.close();
  const offsets: number[] = [];
  let at = 0;
  for (const e of entries) {
    offsets.push(at);
    at += recordSize(e);
  }
  return { file: path.join(ctx.dir, 'q', FIRST_SEGMENT), offsets };
}

const tornForms: Array<{ name: string; damage: (file: string, lastOffset: number, last: QueueEntry) => Promise<void>; lost: number }> = [
  { name: 'cut inside the header', damage: (file, at) => fs.truncate(file, at + 11), lost: 1 },
  { name: 'cut inside the payload', damage: (file, at, last) => fs.truncate(file, at + HEADER + Math.floor(last.body.length / 2)), lost: 1 },
  { name: 'a whole header then zeros instead of the payload', damage: (file, at, last) => overwrite(file, at + HEADER, Buffer.alloc(last.body.length)), lost: 1 },
  { name: 'trailing zeros', damage: (file) => fs.appendFile(file, Buffer.alloc(4096)), lost: 0 },
  { name: 'trailing garbage', damage: (file) => fs.appendFile(file, randomBytes(777)), lost: 0 },
  { name: 'trailing garbage that starts with the magic', damage: (file) => fs.appendFile(file, Buffer.concat([Buffer.from('JQR1'), randomBytes(100)])), lost: 0 },
];

async function overwrite(file: string, at: number, data: Buffer): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.write(data, 0, data.length, at);
  } finally {
    await handle.close();
  }
}

for (const form of tornForms) {
  test(`torn tail, ${form.name}: loses at most that record, logs it, truncates, and later appends reopen cleanly`, async (ctx) => {
    const entries = Array.from({ length: 12 }, (_, i) => entry(i));
    const { file, offsets } = await writeAndClose(ctx, entries);
    await form.damage(file, offsets[offsets.length - 1]!, entries[entries.length - 1]!);

    const queue = await ctx.open();
    const kept = entries.slice(0, entries.length - form.lost);
    assertCounters(queue, kept, 'after reopen');
    const torn = ctx.logs.filter((l) => l.event === 'torn_record');
    assert.is(torn.length, 1, 'one torn_record event');
    assert.is(torn[0]!.fields['segment'], FIRST_SEGMENT);
    assert.is(torn[0]!.fields['offset'], sum(kept.map(recordSize)));
    assert.is((await fs.stat(file)).size, sum(kept.map(recordSize)), 'truncated to the last good record');

    const later = entry(500, 333);
    await queue.append(later);
    await queue.close();
    ctx.logs.length = 0;

    const reopened = await ctx.open();
    assert.equal(ctx.logs.map((l) => l.event).filter((e) => e !== 'replay'), [], 'nothing damaged any more');
    assertSameEntries(await drain(reopened), [...kept, later], 'after the later append');
  });
}

test('a damaged header in the middle costs that record: the rest is found again past it, logged once', async (ctx) => {
  const entries = Array.from({ length: 10 }, (_, i) => entry(i));
  const { file, offsets } = await writeAndClose(ctx, entries);
  const bad = 4;
  const data = await fs.readFile(file);
  data[offsets[bad]! + 9] ^= 0x10; // a bit of the samples field
  await fs.writeFile(file, data);

  const queue = await ctx.open();
  const expected = entries.filter((_, i) => i !== bad);
  assertCounters(queue, expected, 'after reopen');
  const corrupt = ctx.logs.filter((l) => l.event === 'corrupt_record');
  assert.equal(corrupt.map((l) => [l.fields['offset'], l.fields['skipped_bytes']]), [[offsets[bad], recordSize(entries[bad]!)]]);
  assertSameEntries(await drain(queue), expected, 'drained');
  assert.is(ctx.logs.filter((l) => l.event === 'corrupt_record').length, 1, 'not logged again when read');
  assert.is(ctx.logs.filter((l) => l.event === 'torn_record').length, 0);
});

test('a flipped bit in a middle payload: counted at open (headers only), skipped and logged at peek', async (ctx) => {
  const entries = Array.from({ length: 10 }, (_, i) => entry(i));
  const { file, offsets } = await writeAndClose(ctx, entries);
  const bad = 6;
  const data = await fs.readFile(file);
  data[offsets[bad]! + HEADER + 50] ^= 0x01;
  await fs.writeFile(file, data);

  const queue = await ctx.open();
  assertCounters(queue, entries, 'headers are intact, so all are counted at open');
  const expected = entries.filter((_, i) => i !== bad);
  assertSameEntries(await drain(queue), expected, 'drained');
  assertCounters(queue, [], 'drained');
  assert.is(queue.corruptEntries, 1);
  assert.is(queue.corruptSamples, entries[bad]!.samples);
  const corrupt = ctx.logs.filter((l) => l.event === 'corrupt_record');
  assert.equal(corrupt.map((l) => [l.fields['offset'], l.fields['reason']]), [[offsets[bad], 'payload_checksum']]);
});

test('garbage in the middle of a segment: the records after it are found again', async (ctx) => {
  const entries = Array.from({ length: 6 }, (_, i) => entry(i));
  const { file, offsets } = await writeAndClose(ctx, entries);
  // Zero the first 3 records' worth from the middle of record 1 to the middle of record 3.
  const from = offsets[1]! + 10;
  const to = offsets[3]! + 10;
  await overwrite(file, from, Buffer.alloc(to - from));
  const queue = await ctx.open();
  const expected = entries.filter((_, i) => i === 0 || i >= 4);
  assertSameEntries(await drain(queue), expected, 'drained');
  assert.equal(
    ctx.logs.filter((l) => l.event === 'corrupt_record').map((l) => [l.fields['offset'], l.fields['skipped_bytes']]),
    [[offsets[1], offsets[4]! - offsets[1]!]],
  );
});

test('maxBytes: the oldest entries are dropped and returned, never the newest; the files stay within maxBytes', async (ctx) => {
  const maxBytes = 10_000;
  const segmentBytes = Math.floor(maxBytes / 16); // the default
  const queue = await ctx.open({ maxBytes });
  const dir = path.join(ctx.dir, 'q');
  const model: QueueEntry[] = [];
  let pendingRecordBytes = 0;
  let droppedTotal = 0;
  for (let i = 0; i < 60; i++) {
    const e = entry(i, 150 + ((i * 53) % 400));
    const expectedDrops: QueueEntry[] = [];
    while (model.length > 0 && pendingRecordBytes + recordSize(e) > maxBytes - segmentBytes) {
      const gone = model.shift()!;
      pendingRecordBytes -= recordSize(gone);
      expectedDrops.push(gone);
    }
    model.push(e);
    pendingRecordBytes += recordSize(e);
    const drops = await queue.append(e);
    assert.equal(
      drops.map((d) => [d.reason, d.entry.samples, d.entry.maxTimestampMs]),
      expectedDrops.map((d) => ['queue_full', d.samples, d.maxTimestampMs]),
      `drops at append ${i}`,
    );
    droppedTotal += drops.length;
    assert.ok((await bytesOfSegments(dir)) <= maxBytes, `files within maxBytes after append ${i}`);
    assert.is(queue.diskBytes, await bytesOfSegments(dir));
    // Deliver one now and then, so some segments are part delivered.
    if (i % 7 === 0) {
      await queue.peek();
      await queue.ack();
      pendingRecordBytes -= recordSize(model.shift()!);
    }
  }
  assert.ok(droppedTotal > 20, `drops happened (${droppedTotal})`);
  assertCounters(queue, model, 'after the appends');
  assert.is(model[model.length - 1]!.samples, 60, 'the newest is kept');
  assertSameEntries(await drain(queue), model, 'what is left');
});

test('maxAge: too old heads are dropped at peek and reported by takeDrops(); at append they are returned', async (ctx) => {
  let now = T0;
  const maxAgeMs = 10_000;
  const queue = await ctx.open({ maxAgeMs, now: () => now });
  const entries = Array.from({ length: 20 }, (_, i) => entry(i)); // timestamps T0 + i s
  const metadata: QueueEntry = { body: Buffer.from('metadata only'), samples: 0, maxTimestampMs: T0 + 9500 };
  const order = [...entries.slice(0, 10), metadata, ...entries.slice(10)];
  for (const e of order) assert.equal(await queue.append(e), []);
  const tooOld = (e: QueueEntry) => e.maxTimestampMs < now - maxAgeMs;
  /** How many entries from `from` on are too old: the heads that go. */
  const oldRun = (from: number) => {
    let n = 0;
    while (from + n < order.length && tooOld(order[from + n]!)) n++;
    return n;
  };

  // With now = T0 + 15.5 s, timestamps below T0 + 5.5 s go: entries 0..5.
  now = T0 + 15_500;
  const cut = oldRun(0);
  assert.is(cut, 6);
  const head = await queue.peek();
  assertSameEntries([head!], [order[cut]!], 'head after the age drops');
  assert.equal(
    queue.takeDrops().map((d) => [d.reason, d.entry.samples, d.entry.maxTimestampMs]),
    order.slice(0, cut).map((e) => ['too_old', e.samples, e.maxTimestampMs]),
  );
  assert.equal(queue.takeDrops(), [], 'taken once');
  assertCounters(queue, order.slice(cut), 'after peek');

  // At append the old heads are returned, the metadata entry among them (it ages too).
  now = T0 + 22_500; // cutoff T0 + 12.5 s: entries 6..9, the metadata, 10..12
  const cut2 = cut + oldRun(cut);
  assert.is(cut2, 14);
  const fresh = { ...entry(100, 50), maxTimestampMs: now };
  assert.equal(
    (await queue.append(fresh)).map((d) => [d.reason, d.entry.samples, d.entry.maxTimestampMs]),
    order.slice(cut, cut2).map((e) => ['too_old', e.samples, e.maxTimestampMs]),
  );
  assert.equal(queue.takeDrops(), []);

  // An entry that is itself too old is not stored.
  const stale = { ...entry(200), maxTimestampMs: now - maxAgeMs - 1 };
  const staleDrops = await queue.append(stale);
  assert.is(staleDrops.length, 1);
  assert.is(staleDrops[0]!.reason, 'too_old');
  assert.ok(staleDrops[0]!.entry.body.equals(stale.body));

  // Only heads are dropped: an old entry behind newer ones goes when it becomes the head.
  const late = { ...entry(300), maxTimestampMs: T0 + 12_600 };
  assert.equal(await queue.append(late), []);
  now = T0 + 23_000; // cutoff T0 + 13 s: `late` is too old now, entry 13 (T0 + 13 s) is not
  const rest = [...order.slice(cut2), fresh];
  assert.ok(rest.every((e) => !tooOld(e)));
  assertSameEntries([(await queue.peek())!], [rest[0]!], 'head');
  assertCounters(queue, [...rest, late], 'late still queued behind');
  assertSameEntries(await drain(queue), rest, 'the rest');
  assert.equal(
    queue.takeDrops().map((d) => [d.reason, d.entry.maxTimestampMs]),
    [['too_old', late.maxTimestampMs]],
  );
});

test('oldestTimestampMs: the oldest pending entry with samples, skipping metadata-only entries, across reopen', async (ctx) => {
  const meta = (i: number): QueueEntry => ({ body: Buffer.from(`metadata ${i}`), samples: 0, maxTimestampMs: T0 + i });
  const order = [meta(1), meta(2), entry(1), meta(3), meta(4), entry(2), meta(5)];
  const firstWithSamples = (list: readonly QueueEntry[]) => list.find((e) => e.samples > 0)?.maxTimestampMs;
  const queue = await ctx.open();
  assert.is(queue.oldestTimestampMs, undefined, 'empty');
  await queue.append(meta(0));
  assert.is(queue.oldestTimestampMs, undefined, 'metadata only');
  await queue.ack();
  for (const e of order) await queue.append(e);
  await queue.close();

  const reopened = await ctx.open();
  for (let acked = 0; acked < order.length; acked++) {
    assert.is(reopened.oldestTimestampMs, firstWithSamples(order.slice(acked)), `after ${acked} acks`);
    await reopened.peek();
    await reopened.ack();
  }
  assert.is(reopened.oldestTimestampMs, undefined);
  await reopened.append(meta(9));
  await reopened.append(entry(3));
  assert.is(reopened.oldestTimestampMs, entry(3).maxTimestampMs);
});

test('too big: an entry whose record alone exceeds maxBytes is refused and reported; one that fits is kept alone', async (ctx) => {
  const maxBytes = 4000;
  const queue = await ctx.open({ maxBytes });
  const small = [entry(0, 100), entry(1, 100)];
  for (const e of small) await queue.append(e);

  const huge = entry(2, maxBytes - HEADER + 1);
  const drops = await queue.append(huge);
  assert.is(drops.length, 1);
  assert.is(drops[0]!.reason, 'too_big');
  assert.is(drops[0]!.entry, huge);
  assertCounters(queue, small, 'unchanged by the refused entry');

  // Exactly maxBytes as a record: the others make room for it.
  const biggest = entry(3, maxBytes - HEADER);
  const made = await queue.append(biggest);
  assert.equal(
    made.map((d) => [d.reason, d.entry.samples]),
    small.map((e) => ['queue_full', e.samples]),
  );
  assertCounters(queue, [biggest], 'alone');
  assert.ok((await bytesOfSegments(path.join(ctx.dir, 'q'))) <= maxBytes);
  assertSameEntries(await drain(queue), [biggest], 'delivered');
});

test('ack() after the peeked head was dropped by an append removes nothing', async (ctx) => {
  const maxBytes = 3200; // segment 200 bytes, room for 3000 bytes of records
  const queue = await ctx.open({ maxBytes });
  const a = entry(0, 972); // 1000-byte records: 3 fit
  const b = entry(1, 972);
  const c = entry(2, 972);
  const d = entry(3, 972);
  for (const e of [a, b, c]) await queue.append(e);
  assertSameEntries([(await queue.peek())!], [a], 'in flight');
  const drops = await queue.append(d); // a is dropped while being sent
  assert.equal(drops.map((x) => x.entry.samples), [a.samples]);
  await queue.ack(); // for a: already gone
  assertCounters(queue, [b, c, d], 'b was never sent, so it stays');
  assertSameEntries(await drain(queue), [b, c, d], 'drained');
});

test('lock: a second open of the same directory is refused; after close it opens', async (ctx) => {
  const first = await ctx.open();
  await rejects(() => ctx.open(), /already open in this process/);
  await first.append(entry(1));
  await first.close();
  await rejects(() => first.append(entry(2)), /closed/);
  await rejects(() => first.peek(), /closed/);
  await rejects(() => first.ack(), /closed/);
  await first.close(); // twice: nothing
  const again = await ctx.open();
  assert.is(again.pendingEntries, 1);
});

/** Runs a short-lived node process and resolves with its pid once it has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
}

test('lock: a lock held by a live process is refused with its pid; a dead or reused pid is taken over', async (ctx) => {
  const dir = path.join(ctx.dir, 'q');
  await fs.mkdir(dir, { recursive: true });
  const lockFile = path.join(dir, 'lock');

  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    await fs.writeFile(lockFile, `${sleeper.pid}\n\nother-host\n`);
    await rejects(() => ctx.open(), new RegExp(`in use by another agent \\(pid ${sleeper.pid} on other-host`));
    assert.is(await fs.readFile(lockFile, 'latin1'), `${sleeper.pid}\n\nother-host\n`, 'a live lock is left alone');
  } finally {
    sleeper.kill('SIGKILL');
  }

  const dead = await deadPid();
  await fs.writeFile(lockFile, `${dead}\n\nsomewhere\n`);
  const queue = await ctx.open();
  assert.equal(ctx.logs.filter((l) => l.event === 'stale_lock_taken_over').map((l) => l.fields['stale_pid']), [dead]);
  assert.ok((await fs.readFile(lockFile, 'latin1')).startsWith(`${process.pid}\n`), 'now ours');
  await queue.close();
  await rejects(() => fs.stat(lockFile), /ENOENT/, 'released at close');

  // Left by an earlier process that had our pid (a restarted container's pid 1).
  await fs.writeFile(lockFile, `${process.pid}\n\n${os.hostname()}\n`);
  await (await ctx.open()).close();
  // And an unreadable lock file.
  await fs.writeFile(lockFile, 'garbage');
  await ctx.open();
  assert.is(ctx.logs.filter((l) => l.event === 'stale_lock_taken_over').length, 3);
});

test('a directory that cannot be created fails open with a clear message', async (ctx) => {
  const file = path.join(ctx.dir, 'a-file');
  await fs.writeFile(file, 'x');
  await rejects(() => DiskRequestQueue.open({ dir: path.join(file, 'q'), maxBytes: 1e6, maxAgeMs: Infinity }), /cannot create queue directory .*a-file/);
});

test('checkpoint: a torn latest slot falls back to the previous position (one acked entry back); an unreadable one re-reads the segments', async (ctx) => {
  const entries = Array.from({ length: 10 }, (_, i) => entry(i));
  const queue = await ctx.open();
  for (const e of entries) await queue.append(e);
  for (let i = 0; i < 3; i++) {
    await queue.peek();
    await queue.ack();
  }
  await queue.close();

  const checkpointFile = path.join(ctx.dir, 'q', 'checkpoint');
  const data = await fs.readFile(checkpointFile);
  assert.is(data.length, 128);
  const seqs = [data.readBigUInt64LE(4), data.readBigUInt64LE(32 + 4)];
  const latest = seqs[0]! > seqs[1]! ? 0 : 1;
  // The slot layout as documented: magic, seq, offset, CRC-32C of the 20 bytes before it.
  assert.is(Number(data.readBigUInt64LE(latest * 32 + 12)), sum(entries.slice(0, 3).map(recordSize)));
  assert.is(data.readUInt32LE(latest * 32 + 20), crc32c(data, latest * 32, latest * 32 + 20));
  // Its tally slot: magic, the sequence's low 32 bits, the write end, samples and entries pending, CRC-32C of the 28 bytes before it.
  const tally = 64 + latest * 32;
  assert.is(data.toString('latin1', tally, tally + 4), 'JQT1');
  assert.is(data.readUInt32LE(tally + 4), Number(seqs[latest]! & 0xffffffffn));
  assert.is(Number(data.readBigUInt64LE(tally + 8)), sum(entries.map(recordSize)));
  assert.is(Number(data.readBigUInt64LE(tally + 16)), sum(entries.slice(3).map((e) => e.samples)));
  assert.is(data.readUInt32LE(tally + 24), 7);
  assert.is(data.readUInt32LE(tally + 28), crc32c(data, tally, tally + 28));
  data[latest * 32 + 14] ^= 0xff; // tear the latest slot
  await fs.writeFile(checkpointFile, data);

  const reopened = await ctx.open();
  assertCounters(reopened, entries.slice(2), 'the third ack is lost');
  await reopened.close();

  await fs.writeFile(checkpointFile, randomBytes(128));
  const fromStart = await ctx.open();
  assert.ok(ctx.logs.some((l) => l.event === 'checkpoint_invalid'));
  assertCounters(fromStart, entries, 'every record still in the segment comes back');
});

test('maxBytes lowered across a restart: the oldest go at open, reported by takeDrops()', async (ctx) => {
  const entries = Array.from({ length: 10 }, (_, i) => entry(i, 472)); // 500-byte records
  const big = await ctx.open({ maxBytes: 100_000 });
  for (const e of entries) await big.append(e);
  await big.close();
  const maxBytes = 3200; // room for 3000 bytes of records: 6
  const small = await ctx.open({ maxBytes });
  const kept = Math.floor((maxBytes - Math.floor(maxBytes / 16)) / 500);
  assert.equal(
    small.takeDrops().map((d) => [d.reason, d.entry.samples]),
    entries.slice(0, entries.length - kept).map((e) => ['queue_full', e.samples]),
  );
  assert.is(small.replayedEntries, kept);
  assertSameEntries(await drain(small), entries.slice(entries.length - kept), 'kept');
});

test('a malformed entry is refused with a RangeError and nothing is written', async (ctx) => {
  const queue = await ctx.open();
  await rejects(() => queue.append({ body: Buffer.from('x'), samples: -1, maxTimestampMs: T0 }), RangeError);
  await rejects(() => queue.append({ body: Buffer.from('x'), samples: 1, maxTimestampMs: NaN }), RangeError);
  assert.is(queue.pendingEntries, 0);
  assert.is(queue.diskBytes, 0);
  await queue.append(entry(1));
  assert.is(queue.pendingEntries, 1);
});

/** For the SIGKILL test: plain JavaScript, evaluated here and in the child process alike. */
const KILL_ENTRY_JS = `(i) => {
  const body = Buffer.alloc(3000 + (i % 5) * 1000, i & 0xff);
  body.writeUInt32LE(i, 0);
  return { body, samples: i + 1, maxTimestampMs: ${T0} + i * 1000 };
}`;
const killEntry = new Function(`return ${KILL_ENTRY_JS}`)() as (i: number) => QueueEntry;

test('a symlink under a segment\'s or the checkpoint\'s name at open is set aside, never followed: the file it points to is untouched', async (ctx) => {
  const dir = path.join(ctx.dir, 'q');
  await fs.mkdir(dir, { recursive: true });
  const victim = path.join(ctx.dir, 'victim');
  await fs.writeFile(victim, 'do not touch\n');
  await fs.symlink(victim, path.join(dir, FIRST_SEGMENT));
  await fs.symlink(victim, path.join(dir, 'checkpoint'));
  const queue = await ctx.open({ segmentBytes: 1000 });
  const entries = Array.from({ length: 12 }, (_, i) => entry(i));
  for (const e of entries) assert.equal(await queue.append(e), []);
  assert.ok((await fs.lstat(path.join(dir, FIRST_SEGMENT))).isFile(), 'the segment is a file of the queue\'s own');
  assertSameEntries(await drain(queue), entries, 'drained');
  assert.is(await fs.readFile(victim, 'utf8'), 'do not touch\n');
  const setAside = ctx.logs.filter((l) => l.event === 'foreign_entry_set_aside');
  assert.equal(setAside.map((l) => [l.fields['name'], l.fields['kind']]).sort(), [[FIRST_SEGMENT, 'symlink'], ['checkpoint', 'symlink']].sort());
});

test('a folder under the next segment\'s name does not wedge the queue: set aside at open, every entry comes back', async (ctx) => {
  const dir = path.join(ctx.dir, 'q');
  await fs.mkdir(path.join(dir, FIRST_SEGMENT), { recursive: true });
  const queue = await ctx.open({ segmentBytes: 1000 });
  const entries = Array.from({ length: 8 }, (_, i) => entry(i));
  for (const e of entries) assert.equal(await queue.append(e), []);
  assertSameEntries(await drain(queue), entries, 'drained');
  assert.ok(ctx.logs.some((l) => l.event === 'foreign_entry_set_aside' && l.fields['kind'] === 'directory'));
});

test('a symlink planted at the next segment\'s name while the queue runs is never written through; nothing appended is lost', async (ctx) => {
  const dir = path.join(ctx.dir, 'q');
  const victim = path.join(ctx.dir, 'victim');
  await fs.writeFile(victim, 'do not touch\n');
  const queue = await ctx.open({ segmentBytes: 1000 });
  const kept: QueueEntry[] = [];
  let planted = 0;
  for (let i = 0; i < 30; i++) {
    // Where a new segment would start if this append rolls: the end of the last one.
    const files = await segmentFiles(dir);
    const last = files[files.length - 1]!;
    const start = parseInt(last.slice(0, 16), 16) + (await fs.stat(path.join(dir, last))).size;
    const next = path.join(dir, `${start.toString(16).padStart(16, '0')}.seg`);
    await fs.symlink(victim, next).then(() => planted++, () => undefined);
    const e = entry(i);
    try {
      assert.equal(await queue.append(e), []);
      kept.push(e);
    } catch {
      // A refused append is the caller's to repeat (the sender keeps the entry); the queue itself must stay usable.
      assert.equal(await queue.append(e), []);
      kept.push(e);
    }
    if ((await fs.lstat(next).catch(() => undefined))?.isSymbolicLink()) await fs.unlink(next);
  }
  assert.ok(planted >= 25, `links planted: ${planted}`);
  const segments = (await segmentFiles(dir)).length;
  assertSameEntries(await drain(queue), kept, 'drained');
  assert.ok(segments > 2, `the appends rolled into new segments (${segments} files), each past a planted link`);
  assert.is(await fs.readFile(victim, 'utf8'), 'do not touch\n');
});

/** Counts fdatasync calls on every file handle (node:fs/promises FileHandle) while `body` runs. */
async function countingDatasyncs<T>(dir: string, body: (count: () => number) => Promise<T>): Promise<T> {
  await fs.mkdir(dir, { recursive: true });
  const probe = await fs.open(path.join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  await fs.unlink(path.join(dir, 'probe'));
  const original = proto.datasync;
  let calls = 0;
  proto.datasync = function (this: unknown) {
    calls++;
    return original.call(this);
  };
  try {
    return await body(() => calls);
  } finally {
    proto.datasync = original;
  }
}

test('group commit: a queue that keeps up never fdatasyncs; pending records and the checkpoint are synced at close', async (ctx) => {
  await countingDatasyncs(ctx.dir, async (datasyncs) => {
    // An interval no test run reaches: only close may sync here.
    const queue = await ctx.open({ syncIntervalMs: 3_600_000 });
    const atOpen = datasyncs();
    // Delivered at once, as with a healthy receiver: nothing needs the disk.
    for (let i = 0; i < 30; i++) {
      await queue.append(entry(i));
      await queue.peek();
      await queue.ack();
    }
    assert.is(datasyncs() - atOpen, 0, 'no fdatasync while every record was delivered');
    // An outage: the appends resolve before anything is synced.
    for (let i = 30; i < 40; i++) await queue.append(entry(i));
    assert.is(datasyncs() - atOpen, 0, 'appends resolve before the disk is synced');
    await queue.close();
    assert.is(datasyncs() - atOpen, 2, 'close syncs the segment with the pending records and the checkpoint, once each');
    const reopened = await ctx.open();
    assert.is(reopened.pendingEntries, 10);
  });
});

test('group commit: records left pending are fdatasynced by the timer, without a close', async (ctx) => {
  await countingDatasyncs(ctx.dir, async (datasyncs) => {
    const queue = await ctx.open({ syncIntervalMs: 20 });
    const atOpen = datasyncs();
    for (let i = 0; i < 10; i++) await queue.append(entry(i));
    // Waits for the event (a sync), bounded; no timing is asserted.
    for (let tries = 0; tries < 500 && datasyncs() - atOpen < 2; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(datasyncs() - atOpen >= 2, 'the pending segment and the checkpoint were synced by the timer');
    await queue.close();
    assert.is((await ctx.open()).pendingEntries, 10);
  });
});

test('SIGKILL while appending: every append that resolved survives, in order, and the dead lock is taken over', async (ctx) => {
  const dir = path.join(ctx.dir, 'q');
  const modulePath = path.resolve(__dirname, '../../src/sinks/queue/disk-request-queue.ts');
  // The child appends killEntry(i) and prints i after each append resolves.
  const script = `
    const { DiskRequestQueue } = require(${JSON.stringify(modulePath)});
    const entry = ${KILL_ENTRY_JS};
    (async () => {
      const q = await DiskRequestQueue.open({ dir: ${JSON.stringify(dir)}, maxBytes: 1e9, maxAgeMs: Infinity, segmentBytes: 50000 });
      for (let i = 0; ; i++) { await q.append(entry(i)); process.stdout.write(i + '\\n'); }
    })();`;
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.resolve(__dirname, '..', '..') });
  let confirmed = -1;
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not append in time')), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      if (lines.length > 0) confirmed = Number(lines[lines.length - 1]);
      if (confirmed >= 60) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => reject(new Error('child exited early')));
  });
  await new Promise((resolve) => child.once('exit', resolve));

  const queue = await ctx.open();
  assert.ok(queue.pendingEntries >= confirmed + 1, `${queue.pendingEntries} entries, ${confirmed + 1} confirmed`);
  assert.ok(ctx.logs.some((l) => l.event === 'stale_lock_taken_over'));
  const expected = Array.from({ length: queue.pendingEntries }, (_, i) => killEntry(i));
  assertCounters(queue, expected, 'after the kill');
  assertSameEntries(await drain(queue), expected, 'after the kill');
});

test.run();
