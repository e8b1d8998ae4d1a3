import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DiskRequestQueue, type DiskRequestQueueOptions } from '../../src/sinks/queue/disk-request-queue';
import { crc32c } from '../../src/sinks/queue/queue-record-codec';
import type { QueueDrop, QueueEntry } from '../../src/sinks/queue/request-queue';
import { segmentFiles } from '../helpers/disk-queue';

/**
 * Every sample put into the disk queue is accounted for after damage:
 * delivered + dropped (reason corrupt) + still pending == enqueued, after
 * every operation, and delivered + dropped == enqueued once drained. The
 * expected totals come from what each test enqueued; the files are damaged
 * from outside (truncated at many offsets, records torn or flipped in the
 * middle, segments deleted or zeroed, at rest and under the running queue),
 * and read by this file's own reader of the documented format
 * (docs/queue-format.md), not by the code under test.
 */

const T0 = 1_700_000_000_000;
const HEADER = 28;
const SEGMENT_BYTES = 1500;

/** Entry i: its id in the first 4 bytes, 60..299 bytes, 90..169 samples (every 7th a metadata-only entry: 0). */
function entry(i: number): QueueEntry {
  const size = 60 + ((i * 53) % 240);
  const body = Buffer.alloc(size);
  for (let k = 0; k < size; k++) body[k] = (i * 131 + k * 7 + (k >> 8)) & 0xff;
  body.writeUInt32LE(i, 0);
  return { body, samples: i % 7 === 3 ? 0 : 90 + ((i * 29) % 80), maxTimestampMs: T0 + i * 1000 };
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

interface LogEvent {
  readonly event: string;
  readonly fields: Record<string, string | number>;
}

/** What the test put in, and what came out: delivered (once each), dropped (by reason). */
class Ledger {
  readonly byId = new Map<number, QueueEntry>();
  readonly delivered = new Set<number>();
  readonly drops: QueueDrop[] = [];

  constructor(entries: readonly QueueEntry[]) {
    for (const e of entries) this.byId.set(e.body.readUInt32LE(0), e);
  }

  get enqueuedSamples(): number {
    return sum([...this.byId.values()].map((e) => e.samples));
  }
  get deliveredSamples(): number {
    return sum([...this.delivered].map((id) => this.byId.get(id)!.samples));
  }
  get droppedSamples(): number {
    return sum(this.drops.map((d) => (d.samplesUnknown ? 1 : d.entry.samples)));
  }

  deliver(head: QueueEntry, what: string): void {
    const id = head.body.readUInt32LE(0);
    const sent = this.byId.get(id);
    assert.ok(sent !== undefined && sent.body.equals(head.body), `${what}: a delivered body is one that was enqueued (id ${id})`);
    assert.is(head.samples, sent!.samples, `${what}: samples of ${id}`);
    assert.not.ok(this.delivered.has(id), `${what}: ${id} delivered twice`);
    this.delivered.add(id);
  }

  take(queue: DiskRequestQueue): void {
    this.drops.push(...queue.takeDrops());
  }

  /** delivered + dropped + pending == enqueued: the drop counter and the pending gauge agree with what went in. */
  balances(queue: DiskRequestQueue, what: string): void {
    assert.is(
      this.deliveredSamples + this.droppedSamples + queue.pendingSamples,
      this.enqueuedSamples,
      `${what}: delivered ${this.deliveredSamples} + dropped ${this.droppedSamples} + pending ${queue.pendingSamples} == enqueued`,
    );
  }

  /** Drained: delivered + counted corrupt == enqueued, each drop exact (no sample count unknown). */
  exact(what: string): void {
    assert.equal([...new Set(this.drops.map((d) => d.reason))].filter((r) => r !== 'corrupt'), [], `${what}: only corrupt drops`);
    assert.equal(
      this.drops.filter((d) => d.samplesUnknown).length,
      0,
      `${what}: no drop with an unknown sample count (${JSON.stringify(this.drops.map((d) => [d.entry.samples, d.requests]))})`,
    );
    assert.is(
      this.deliveredSamples + this.droppedSamples,
      this.enqueuedSamples,
      `${what}: delivered ${this.deliveredSamples} + corrupt ${this.droppedSamples} == enqueued ${this.enqueuedSamples}`,
    );
  }
}

/** Peeks and acks until empty, checking the balance after each step. */
async function drainCounting(queue: DiskRequestQueue, ledger: Ledger, what: string): Promise<void> {
  ledger.take(queue);
  ledger.balances(queue, `${what}, after open`);
  for (let guard = 0; guard < 10_000; guard++) {
    const head = await queue.peek();
    ledger.take(queue);
    if (head === undefined) {
      assert.is(queue.pendingSamples, 0, `${what}: nothing pending once drained`);
      assert.is(queue.pendingEntries, 0, `${what}: no entry pending once drained`);
      ledger.balances(queue, `${what}, drained`);
      return;
    }
    ledger.balances(queue, `${what}, after a peek`);
    ledger.deliver(head, what);
    await queue.ack();
    ledger.take(queue);
    ledger.balances(queue, `${what}, after an ack`);
  }
  throw new Error(`${what}: the queue never emptied`);
}

interface Record_ {
  readonly pos: number;
  readonly size: number;
  readonly id: number;
}
interface SegmentLayout {
  readonly name: string;
  readonly file: string;
  readonly size: number;
  readonly records: Record_[];
}

/** The segments and their records, read by this file's own walk of the documented record layout (intact files only). */
async function layout(dir: string): Promise<SegmentLayout[]> {
  const out: SegmentLayout[] = [];
  for (const name of await segmentFiles(dir)) {
    const file = path.join(dir, name);
    const data = await fs.readFile(file);
    const records: Record_[] = [];
    for (let pos = 0; pos < data.length; ) {
      assert.is(data.toString('latin1', pos, pos + 4), 'JQR1', `${name}@${pos}: a record`);
      const size = HEADER + data.readUInt32LE(pos + 4);
      records.push({ pos, size, id: data.readUInt32LE(pos + HEADER) });
      pos += size;
    }
    out.push({ name, file, size: data.length, records });
  }
  return out;
}

async function overwrite(file: string, at: number, data: Buffer): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.write(data, 0, data.length, at);
  } finally {
    await handle.close();
  }
}

interface Ctx {
  root: string;
  logs: LogEvent[];
  queues: DiskRequestQueue[];
  open: (dir: string, opts?: Partial<DiskRequestQueueOptions>) => Promise<DiskRequestQueue>;
}

function setUp(test: ReturnType<typeof suite<Ctx>>): void {
  test.before.each(async (ctx) => {
    ctx.root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-loss-'));
    ctx.logs = [];
    ctx.queues = [];
    ctx.open = async (dir, opts = {}) => {
      const queue = await DiskRequestQueue.open({
        dir,
        maxBytes: 64 * 1024 * 1024,
        maxAgeMs: Infinity,
        segmentBytes: SEGMENT_BYTES,
        availableBytes: async () => undefined,
        log: (event, fields) => ctx.logs.push({ event, fields }),
        ...opts,
      });
      ctx.queues.push(queue);
      return queue;
    };
  });
  test.after.each(async (ctx) => {
    for (const queue of ctx.queues) await queue.close().catch(() => undefined);
    await fs.rm(ctx.root, { recursive: true, force: true });
  });
}

/** A closed queue in `dir` holding `entries`, the first `acked` of them delivered. */
async function writeQueue(ctx: Ctx, dir: string, entries: readonly QueueEntry[], acked: number, ledger?: Ledger): Promise<void> {
  const queue = await ctx.open(dir);
  for (const e of entries) await queue.append(e);
  for (let i = 0; i < acked; i++) {
    const head = (await queue.peek())!;
    ledger?.deliver(head, 'before the damage');
    await queue.ack();
  }
  await queue.close();
}

// ---------------------------------------------------------------------------

const atRest = suite<Ctx>('disk queue loss: damage while the agent is down is counted exactly');
setUp(atRest);

const ENTRIES = Array.from({ length: 40 }, (_, i) => entry(i));

/** The truncation offsets tried in a segment: every record's start, inside its header and payload, and around each. */
function cutOffsets(seg: SegmentLayout): number[] {
  const at = new Set<number>();
  for (const r of seg.records) {
    for (const d of [0, 1, 3, 4, 11, 24, 27, 28, 29, Math.floor(r.size / 2), r.size - 1]) if (d < r.size) at.add(r.pos + d);
  }
  return [...at].sort((a, b) => a - b);
}

atRest('the last segment truncated at any record boundary or inside any header or payload: delivered + corrupt == enqueued', async (ctx) => {
  const entries = ENTRIES.slice(0, 24);
  const template = path.join(ctx.root, 'template');
  await writeQueue(ctx, template, entries, 0);
  const segments = await layout(template);
  assert.ok(segments.length >= 3, `the backlog spans ${segments.length} segments`);
  const last = segments[segments.length - 1]!;
  const offsets = cutOffsets(last);
  assert.ok(offsets.length > 30, `${offsets.length} offsets`);
  for (const cut of offsets) {
    const dir = path.join(ctx.root, `cut-${cut}`);
    await fs.cp(template, dir, { recursive: true });
    await fs.truncate(path.join(dir, last.name), cut);
    const ledger = new Ledger(entries);
    await drainCounting(await ctx.open(dir), ledger, `cut at ${cut} of ${last.size}`);
    ledger.exact(`cut at ${cut} of ${last.size}`);
    await fs.rm(dir, { recursive: true });
  }
});

const damages: Array<{ name: string; acked?: number; damage: (segments: SegmentLayout[], dir: string) => Promise<void> }> = [
  {
    name: 'a torn record in the middle of a segment (its second half and the next header zeroed)',
    damage: async ([, seg]) => {
      const r = seg!.records[2]!;
      await overwrite(seg!.file, r.pos + r.size - 40, Buffer.alloc(40 + 20));
    },
  },
  {
    name: 'a record\'s header damaged in the middle',
    damage: async ([, , seg]) => {
      const data = await fs.readFile(seg!.file);
      data[seg!.records[1]!.pos + 9] ^= 0x10;
      await fs.writeFile(seg!.file, data);
    },
  },
  {
    name: 'garbage over three records in the middle',
    damage: async ([seg]) => {
      const from = seg!.records[1]!.pos + 10;
      const to = seg!.records[4]!.pos + 10;
      await overwrite(seg!.file, from, Buffer.alloc(to - from, 0x5a));
    },
  },
  { name: 'a middle segment deleted', damage: async ([, seg]) => fs.unlink(seg!.file) },
  { name: 'the first segment (the head\'s) deleted', acked: 2, damage: async ([seg]) => fs.unlink(seg!.file) },
  { name: 'the last segment deleted', damage: async (segs) => fs.unlink(segs[segs.length - 1]!.file) },
  { name: 'every segment deleted', damage: async (segs) => void (await Promise.all(segs.map((s) => fs.unlink(s.file)))) },
  { name: 'a middle segment zeroed', damage: async ([, , seg]) => fs.writeFile(seg!.file, Buffer.alloc(seg!.size)) },
  { name: 'the last segment zeroed', damage: async (segs) => fs.writeFile(segs[segs.length - 1]!.file, Buffer.alloc(segs[segs.length - 1]!.size)) },
  { name: 'a middle segment truncated inside a record', damage: async ([, seg]) => fs.truncate(seg!.file, seg!.records[1]!.pos + 40) },
  { name: 'a middle segment truncated at a record boundary', damage: async ([, seg]) => fs.truncate(seg!.file, seg!.records[2]!.pos) },
  {
    name: 'a middle segment deleted and the last one truncated, after 5 deliveries',
    acked: 5,
    damage: async (segs) => {
      await fs.unlink(segs[2]!.file);
      const last = segs[segs.length - 1]!;
      await fs.truncate(last.file, last.records[1]!.pos + 5);
    },
  },
  {
    name: 'a flipped bit in a middle payload (found at peek) and the tail cut at a boundary',
    damage: async (segs) => {
      const data = await fs.readFile(segs[1]!.file);
      data[segs[1]!.records[1]!.pos + HEADER + 30] ^= 0x01;
      await fs.writeFile(segs[1]!.file, data);
      const last = segs[segs.length - 1]!;
      await fs.truncate(last.file, last.records[1]!.pos);
    },
  },
];

for (const { name, acked = 0, damage } of damages) {
  atRest(`${name}: delivered + corrupt == enqueued, the pending gauge agrees at every step`, async (ctx) => {
    const dir = path.join(ctx.root, 'q');
    const ledger = new Ledger(ENTRIES);
    await writeQueue(ctx, dir, ENTRIES, acked, ledger);
    await damage(await layout(dir), dir);
    await drainCounting(await ctx.open(dir), ledger, name);
    ledger.exact(name);
  });
}

atRest('damage counted at open is not counted again after another restart', async (ctx) => {
  const dir = path.join(ctx.root, 'q');
  const ledger = new Ledger(ENTRIES);
  await writeQueue(ctx, dir, ENTRIES, 0);
  const segs = await layout(dir);
  const data = await fs.readFile(segs[1]!.file);
  data[segs[1]!.records[2]!.pos + 5] ^= 0x40; // a header in the middle: stays on disk until the head passes it
  await fs.writeFile(segs[1]!.file, data);
  const last = segs[segs.length - 1]!;
  await fs.truncate(last.file, last.records[2]!.pos + 3);
  for (let restart = 0; restart < 3; restart++) {
    const queue = await ctx.open(dir);
    ledger.take(queue);
    ledger.balances(queue, `restart ${restart}`);
    await queue.close();
  }
  await drainCounting(await ctx.open(dir), ledger, 'after the restarts');
  ledger.exact('after the restarts');
});

atRest('a crash between an append and its checkpoint: the record is delivered, nothing counted lost; torn there, its header counts it', async (ctx) => {
  for (const torn of [false, true]) {
    const dir = path.join(ctx.root, `q-${torn}`);
    const entries = ENTRIES.slice(0, 12);
    const ledger = new Ledger(entries);
    await writeQueue(ctx, dir, entries.slice(0, 11), 0);
    const checkpoint = await fs.readFile(path.join(dir, 'checkpoint'));
    await writeQueue(ctx, dir, entries.slice(11), 0);
    // The checkpoint as it was before the last append: the agent died after the record's fdatasync, before the checkpoint's.
    await fs.writeFile(path.join(dir, 'checkpoint'), checkpoint);
    if (torn) {
      const segs = await layout(dir);
      const last = segs[segs.length - 1]!;
      const r = last.records[last.records.length - 1]!;
      await fs.truncate(last.file, r.pos + HEADER + 10);
    }
    await drainCounting(await ctx.open(dir), ledger, torn ? 'torn after the checkpoint' : 'whole after the checkpoint');
    ledger.exact(torn ? 'torn after the checkpoint' : 'whole after the checkpoint');
  }
});

atRest.run();

// ---------------------------------------------------------------------------

const running = suite<Ctx>('disk queue loss: files damaged under the running queue are counted exactly');
setUp(running);

const runningDamages: Array<{ name: string; damage: (segments: SegmentLayout[]) => Promise<void> }> = [
  { name: 'a later segment truncated inside a record (the counter-drift case)', damage: async ([, seg]) => fs.truncate(seg!.file, 100) },
  { name: 'a later segment truncated at a record boundary', damage: async ([, , seg]) => fs.truncate(seg!.file, seg!.records[1]!.pos) },
  { name: 'a later segment zeroed', damage: async ([, , seg]) => fs.writeFile(seg!.file, Buffer.alloc(seg!.size)) },
  { name: 'the last segment truncated', damage: async (segs) => fs.truncate(segs[segs.length - 1]!.file, segs[segs.length - 1]!.records[1]!.pos + 50) },
  {
    name: 'a later segment\'s middle overwritten with garbage',
    damage: async ([, seg]) => overwrite(seg!.file, seg!.records[1]!.pos + 3, Buffer.alloc(seg!.records[3]!.pos - seg!.records[1]!.pos, 0xee)),
  },
];

for (const { name, damage } of runningDamages) {
  running(`${name}: delivered + corrupt == enqueued, the pending gauge agrees at every step`, async (ctx) => {
    const dir = path.join(ctx.root, 'q');
    const ledger = new Ledger(ENTRIES);
    const queue = await ctx.open(dir);
    for (const e of ENTRIES) await queue.append(e);
    for (let i = 0; i < 2; i++) {
      ledger.deliver((await queue.peek())!, name);
      await queue.ack();
    }
    const segments = await layout(dir);
    assert.ok(segments.length >= 4, `${segments.length} segments`);
    await damage(segments);
    await drainCounting(queue, ledger, name);
    ledger.exact(name);
    assert.not.ok(
      ctx.logs.some((l) => l.event === 'counter_drift'),
      `no counter drift: ${JSON.stringify(ctx.logs.filter((l) => l.event === 'counter_drift'))}`,
    );
  });
}

running.run();

// ---------------------------------------------------------------------------

const older = suite<Ctx>('disk queue loss: a queue written by an earlier version (no tally in its checkpoint)');
setUp(older);

/** A record as docs/queue-format.md lays it out. */
function oldRecord(e: QueueEntry): Buffer {
  const header = Buffer.alloc(HEADER);
  header.write('JQR1', 0, 'latin1');
  header.writeUInt32LE(e.body.length, 4);
  header.writeUInt32LE(e.samples, 8);
  header.writeDoubleLE(e.maxTimestampMs, 12);
  header.writeUInt32LE(crc32c(e.body), 20);
  header.writeUInt32LE(crc32c(header, 0, 24), 24);
  return Buffer.concat([header, e.body]);
}

/** The 64-byte checkpoint of the earlier versions: one JQC1 slot (sequence `seq`, at slot seq % 2) holding `offset`. */
function oldCheckpoint(seq: number, offset: number): Buffer {
  const file = Buffer.alloc(64);
  const slot = Buffer.alloc(32);
  slot.write('JQC1', 0, 'latin1');
  slot.writeBigUInt64LE(BigInt(seq), 4);
  slot.writeBigUInt64LE(BigInt(offset), 12);
  slot.writeUInt32LE(crc32c(slot, 0, 20), 20);
  slot.copy(file, (seq % 2) * 32);
  return file;
}

/** A folder as an earlier version leaves it: segments of at most SEGMENT_BYTES, a 64-byte checkpoint at record `readFrom`. */
async function writeOldQueue(dir: string, entries: readonly QueueEntry[], readFrom: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  let start = 0;
  let current: Buffer[] = [];
  let size = 0;
  let at = 0;
  let checkpointAt = 0;
  const flush = async () => {
    await fs.writeFile(path.join(dir, `${start.toString(16).padStart(16, '0')}.seg`), Buffer.concat(current));
    start += size;
    current = [];
    size = 0;
  };
  for (const [i, e] of entries.entries()) {
    const record = oldRecord(e);
    if (size > 0 && size + record.length > SEGMENT_BYTES) await flush();
    if (i === readFrom) checkpointAt = at;
    current.push(record);
    size += record.length;
    at += record.length;
  }
  await flush();
  await fs.writeFile(path.join(dir, 'checkpoint'), oldCheckpoint(7, checkpointAt));
}

older('an earlier version\'s queue opens with every entry, in order; once opened, damage after it is counted exactly', async (ctx) => {
  const dir = path.join(ctx.root, 'q');
  await writeOldQueue(dir, ENTRIES, 3);
  const ledger = new Ledger(ENTRIES.slice(3));
  const queue = await ctx.open(dir);
  assert.is(queue.pendingEntries, ENTRIES.length - 3);
  assert.is(queue.pendingSamples, ledger.enqueuedSamples);
  assert.equal(queue.takeDrops(), []);
  for (let i = 0; i < 4; i++) {
    ledger.deliver((await queue.peek())!, 'earlier version');
    await queue.ack();
  }
  await queue.close();

  const segs = await layout(dir);
  const last = segs[segs.length - 1]!;
  await fs.truncate(last.file, last.records[1]!.pos + 7);
  await drainCounting(await ctx.open(dir), ledger, 'earlier version, then truncated');
  ledger.exact('earlier version, then truncated');
});

older('an earlier version\'s queue damaged before its first open: a lower bound, and the log says so', async (ctx) => {
  const dir = path.join(ctx.root, 'q');
  await writeOldQueue(dir, ENTRIES, 0);
  const segs = await layout(dir);
  const last = segs[segs.length - 1]!;
  await fs.truncate(last.file, last.records[1]!.pos + 7);
  const ledger = new Ledger(ENTRIES);
  const queue = await ctx.open(dir);
  ledger.take(queue);
  const lost = ctx.logs.filter((l) => l.event === 'records_lost');
  assert.is(lost.length, 1, JSON.stringify(ctx.logs));
  assert.is(lost[0]!.fields['counted'], 'lower_bound');
  for (let guard = 0; guard < 1000; guard++) {
    const head = await queue.peek();
    ledger.take(queue);
    if (head === undefined) break;
    ledger.deliver(head, 'lower bound');
    await queue.ack();
  }
  assert.ok(ledger.deliveredSamples + ledger.droppedSamples <= ledger.enqueuedSamples, 'a lower bound');
  assert.ok(ledger.droppedSamples >= 1, 'something counted');
});

older('the checkpoint deleted: a lower bound, and the log says so', async (ctx) => {
  const dir = path.join(ctx.root, 'q');
  await writeQueue(ctx, dir, ENTRIES, 0);
  await fs.unlink(path.join(dir, 'checkpoint'));
  const segs = await layout(dir);
  await fs.unlink(segs[1]!.file);
  await ctx.open(dir);
  const lost = ctx.logs.filter((l) => l.event === 'records_lost');
  assert.is(lost.length, 1, JSON.stringify(ctx.logs));
  assert.is(lost[0]!.fields['counted'], 'lower_bound');
});

older.run();
