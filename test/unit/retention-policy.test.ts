import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DiskRequestQueue } from '../../src/sinks/queue/disk-request-queue';
import { MemoryRequestQueue } from '../../src/sinks/queue/memory-request-queue';
import type { QueueEntry, RequestQueue } from '../../src/sinks/queue/request-queue';
import { RetentionPolicy, type RetainedEntries } from '../../src/sinks/queue/retention-policy';

/** A queue of (timestamp, bytes) pairs for the policy to look at; drop() removes the head. */
function fakeQueue(items: Array<{ ts: number; bytes: number }>): RetainedEntries & { items: typeof items; drop(): void } {
  return {
    items,
    count: () => items.length,
    head: () => (items.length > 0 ? { maxTimestampMs: items[0]!.ts } : undefined),
    heldBytes: () => items.reduce((a, b) => a + b.bytes, 0),
    drop: () => void items.shift(),
  };
}

/** Runs a policy loop to its end, removing the head at each step; returns the reasons given. */
function run<R>(steps: Iterable<R>, queue: { drop(): void }): R[] {
  const reasons: R[] = [];
  for (const reason of steps) {
    reasons.push(reason);
    queue.drop();
  }
  return reasons;
}

const policy = suite('retention policy');

policy('too_old: strictly older than now - maxAgeMs; Infinity never ages and never asks the clock', () => {
  const p = new RetentionPolicy(60_000, () => 1_000_000);
  assert.is(p.isTooOld(939_999), true);
  assert.is(p.isTooOld(940_000), false, 'exactly maxAgeMs old is kept');
  assert.is(p.isTooOld(2_000_000), false, 'a timestamp in the future is kept');
  let asked = 0;
  const forever = new RetentionPolicy(Infinity, () => ++asked);
  assert.is(forever.isTooOld(-1e15), false);
  assert.is(asked, 0);
});

policy('too_big: more bytes than the bound, not equal', () => {
  const p = new RetentionPolicy(Infinity);
  assert.is(p.isTooBig(101, 100), true);
  assert.is(p.isTooBig(100, 100), false);
});

policy('refusal at append: too_old wins over too_big; an entry within both bounds is stored', () => {
  const p = new RetentionPolicy(1_000, () => 10_000);
  assert.is(p.refusal(500, 8_000, 100), 'too_old');
  assert.is(p.refusal(500, 9_500, 100), 'too_big');
  assert.is(p.refusal(100, 9_000, 100), undefined);
});

policy('tooOldHeads drops heads only: an old entry behind a newer one stays', () => {
  const q = fakeQueue([
    { ts: 10, bytes: 1 },
    { ts: 20, bytes: 1 },
    { ts: 60, bytes: 1 },
    { ts: 5, bytes: 1 },
  ]);
  const p = new RetentionPolicy(50, () => 100);
  assert.equal(run(p.tooOldHeads(q), q), ['too_old', 'too_old']);
  assert.equal(q.items.map((i) => i.ts), [60, 5]);
});

policy('tooOldHeads empties a queue that is all too old, and yields nothing on an empty one', () => {
  const q = fakeQueue([
    { ts: 1, bytes: 1 },
    { ts: 2, bytes: 1 },
  ]);
  const p = new RetentionPolicy(10, () => 1_000);
  assert.equal(run(p.tooOldHeads(q), q), ['too_old', 'too_old']);
  assert.equal(run(p.tooOldHeads(q), q), []);
});

policy('overBound drops the oldest until the incoming bytes fit; an exact fit drops nothing', () => {
  const p = new RetentionPolicy(Infinity);
  const q = fakeQueue([
    { ts: 1, bytes: 30 },
    { ts: 2, bytes: 30 },
    { ts: 3, bytes: 30 },
  ]);
  assert.equal(run(p.overBound(q, 30, 100), q), ['queue_full']);
  assert.equal(q.items.map((i) => i.ts), [2, 3]);
  assert.equal(run(p.overBound(q, 40, 100), q), [], '60 + 40 is exactly the capacity');
  assert.equal(run(p.overBound(q, 0, 59), q), ['queue_full'], 'incoming 0: what is held is brought within the capacity');
});

policy('overBound stops once the queue is empty, even when the incoming entry alone is over the capacity', () => {
  const p = new RetentionPolicy(Infinity);
  const q = fakeQueue([
    { ts: 1, bytes: 10 },
    { ts: 2, bytes: 10 },
  ]);
  assert.equal(run(p.overBound(q, 500, 100), q), ['queue_full', 'queue_full']);
  assert.is(q.count(), 0);
});

policy('overBound with alsoWhile keeps dropping while it holds, though the bytes fit', () => {
  const p = new RetentionPolicy(Infinity);
  const q = fakeQueue([
    { ts: 1, bytes: 10 },
    { ts: 2, bytes: 10 },
    { ts: 3, bytes: 10 },
  ]);
  assert.equal(run(p.overBound(q, 0, 1_000, () => q.items[0]!.ts < 3), q), ['queue_full', 'queue_full']);
  assert.equal(q.items.map((i) => i.ts), [3]);
});

policy.run();

const T0 = 1_700_000_000_000;
const MAX_AGE = 60_000;

function entry(i: number, ts: number): QueueEntry {
  const body = Buffer.alloc(64, i);
  return { body, samples: i + 1, maxTimestampMs: ts };
}

/** The same age scenario on both queues: the heads over the age go at peek(), in order, reported by takeDrops(). */
async function ageScenario(queue: RequestQueue, clock: { now: number }): Promise<void> {
  await queue.append(entry(0, T0));
  await queue.append(entry(1, T0 + 10_000));
  await queue.append(entry(2, T0 + 30_000));
  // Entries 0 and 1 are now older than MAX_AGE; entry 2 is 30 s old.
  clock.now = T0 + 60_000 + 20_000;
  const head = await queue.peek();
  assert.is(head?.maxTimestampMs, T0 + 30_000, 'the head is the first entry within the age');
  const drops = queue.takeDrops();
  assert.equal(drops.map((d) => [d.reason, d.entry.samples, d.entry.maxTimestampMs]), [['too_old', 1, T0], ['too_old', 2, T0 + 10_000]]);
  assert.is(queue.pendingEntries, 1);
  assert.is(queue.pendingSamples, 3);
}

const both = suite('retention policy in both queues');

both('memory queue: heads over the age are dropped at peek as too_old', async () => {
  const clock = { now: T0 };
  await ageScenario(new MemoryRequestQueue(1 << 20, MAX_AGE, () => clock.now), clock);
});

both('disk queue: heads over the age are dropped at peek as too_old', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'retention-policy-test-'));
  const clock = { now: T0 };
  const queue = await DiskRequestQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE, now: () => clock.now, availableBytes: async () => undefined });
  try {
    await ageScenario(queue, clock);
  } finally {
    await queue.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

both('memory queue: over the bound the oldest go as queue_full; a body over the bound is too_big', async () => {
  const q = new MemoryRequestQueue(200);
  await q.append(entry(0, T0));
  await q.append(entry(1, T0));
  await q.append(entry(2, T0));
  const dropped = await q.append(entry(3, T0));
  assert.equal(dropped.map((d) => [d.reason, d.entry.samples]), [['queue_full', 1]]);
  const big = await q.append({ body: Buffer.alloc(201), samples: 7, maxTimestampMs: T0 });
  assert.equal(big.map((d) => [d.reason, d.entry.samples]), [['too_big', 7]]);
  assert.is(q.pendingEntries, 3);
});

both('disk queue: an entry already too old is refused at append as too_old, a record over the bound as too_big', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'retention-policy-test-'));
  const queue = await DiskRequestQueue.open({ dir, maxBytes: 4096, maxAgeMs: MAX_AGE, now: () => T0, availableBytes: async () => undefined });
  try {
    const old = await queue.append(entry(0, T0 - MAX_AGE - 1));
    assert.equal(old.map((d) => [d.reason, d.entry.samples]), [['too_old', 1]]);
    // 28-byte header + 4069 bytes = 4097 > 4096
    const big = await queue.append({ body: Buffer.alloc(4069), samples: 5, maxTimestampMs: T0 });
    assert.equal(big.map((d) => [d.reason, d.entry.samples]), [['too_big', 5]]);
    assert.is(queue.pendingEntries, 0);
  } finally {
    await queue.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

both.run();
