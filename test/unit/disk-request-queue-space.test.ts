import { spawn } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DiskRequestQueue, type DiskRequestQueueOptions } from '../../src/sinks/queue/disk-request-queue';
import { crc32c, encodeRecordHeader, RECORD_HEADER_BYTES } from '../../src/sinks/queue/queue-record-codec';
import type { QueueDrop, QueueEntry } from '../../src/sinks/queue/request-queue';
import { tmpfsUnavailable, withTmpfs } from '../helpers/tmpfs';
import { bytesOfSegments, drain, segmentFiles } from '../helpers/disk-queue';

/**
 * The disk queue when space or files go missing: delivered space comes back,
 * a full disk is never permanent, the bound follows the free space, files
 * deleted under the queue are an error it recovers from, and damaged records
 * are reported as drops. The full-disk cases run on a real 1 MiB tmpfs.
 */

const T0 = 1_700_000_000_000;
const MiB = 1024 * 1024;

function entry(i: number, size = 4096): QueueEntry {
  const body = Buffer.alloc(size);
  for (let k = 0; k < size; k++) body[k] = (i * 131 + k * 7 + (k >> 8)) & 0xff;
  body.writeUInt32LE(i, 0);
  return { body, samples: i + 1, maxTimestampMs: T0 + i * 1000 };
}

function id(e: QueueEntry): number {
  return e.body.readUInt32LE(0);
}

interface LogEvent {
  readonly event: string;
  readonly fields: Record<string, string | number>;
}

/** Opens queues in `root`, logging into `logs`; closes them all with closeAll(). */
function opener(root: string) {
  const logs: LogEvent[] = [];
  const queues: DiskRequestQueue[] = [];
  return {
    logs,
    dir: path.join(root, 'q'),
    async open(opts: Partial<DiskRequestQueueOptions> = {}): Promise<DiskRequestQueue> {
      const queue = await DiskRequestQueue.open({
        dir: path.join(root, 'q'),
        maxBytes: 64 * MiB,
        maxAgeMs: Infinity,
        log: (event, fields) => logs.push({ event, fields }),
        ...opts,
      });
      queues.push(queue);
      return queue;
    },
    async closeAll(): Promise<void> {
      for (const queue of queues) await queue.close().catch(() => undefined);
    },
  };
}

/** Fills the file system of `dir` to the last byte with one file; returns its path. */
let fillers = 0;
function fillDisk(dir: string): string {
  const file = path.join(dir, `filler-${fillers++}`);
  const fd = openSync(file, 'w');
  try {
    for (const chunk of [64 * 1024, 4096, 512, 1]) {
      const buf = Buffer.alloc(chunk, 0xab);
      for (let guard = 0; guard < 1_000_000; guard++) {
        try {
          writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

function reasons(drops: readonly QueueDrop[]): string[] {
  return [...new Set(drops.map((d) => d.reason))];
}

// ---------------------------------------------------------------------------

const space = suite('disk queue: delivered space comes back');

space('once everything is acked at most 1 MiB of delivered records stays on disk, at every delivery, and none after a restart', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-space-'));
  const q = opener(root);
  try {
    // The default segment size (a sixteenth of 64 MiB = 4 MiB) is above what these records add up to: only the 1 MiB reclaim starts new segments.
    const queue = await q.open({ availableBytes: async () => undefined });
    let rolled = 0;
    for (let i = 0; i < 50; i++) {
      const before = queue.diskBytes;
      await queue.append(entry(i, 30_000));
      assert.is(id((await queue.peek())!), i);
      await queue.ack();
      assert.is(queue.pendingEntries, 0);
      if (queue.diskBytes < before) rolled++;
      assert.ok(queue.diskBytes < MiB, `delivered bytes kept on disk after delivery ${i}: ${queue.diskBytes}`);
      assert.is(await bytesOfSegments(q.dir), queue.diskBytes, `segment files after delivery ${i}`);
    }
    assert.ok(rolled >= 1, 'the delivered segment was given back once it reached 1 MiB');
    // Some pending, then all delivered, then a restart: nothing delivered comes back nor stays on disk.
    for (let i = 50; i < 60; i++) await queue.append(entry(i, 3000));
    await drain(queue);
    await queue.close();
    const reopened = await q.open({ availableBytes: async () => undefined });
    assert.is(reopened.pendingEntries, 0);
    assert.is(await bytesOfSegments(q.dir), 0);
  } finally {
    await q.closeAll();
    await fs.rm(root, { recursive: true, force: true });
  }
});

space('a folder left with delivered records on disk (as earlier versions left it) gives the space back at open', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-space-'));
  const q = opener(root);
  try {
    const first = await q.open({ availableBytes: async () => undefined });
    const records = Array.from({ length: 5 }, (_, i) => entry(i, 3000));
    for (const e of records) await first.append(e);
    await first.close();
    // Everything delivered: a checkpoint at the end of the segment, the segment still there.
    const end = records.reduce((sum, e) => sum + RECORD_HEADER_BYTES + e.body.length, 0);
    const slot = Buffer.alloc(64);
    slot.write('JQC1', 0, 'latin1');
    slot.writeBigUInt64LE(1000n, 4);
    slot.writeBigUInt64LE(BigInt(end), 12);
    slot.writeUInt32LE(crc32c(slot, 0, 20), 20);
    await fs.writeFile(path.join(q.dir, 'checkpoint'), slot);
    assert.is(await bytesOfSegments(q.dir), end);

    const reopened = await q.open({ availableBytes: async () => undefined });
    assert.is(reopened.pendingEntries, 0);
    assert.is(await bytesOfSegments(q.dir), 0, 'the delivered records are gone from the disk');
    await reopened.append(entry(9, 100));
    assert.equal((await drain(reopened)).map(id), [9]);
  } finally {
    await q.closeAll();
    await fs.rm(root, { recursive: true, force: true });
  }
});

space.run();

// ---------------------------------------------------------------------------

const tmpfs = suite('disk queue on a real 1 MiB tmpfs (full disk)');
const onTmpfs = tmpfsUnavailable === undefined ? tmpfs : tmpfs.skip;
if (tmpfsUnavailable !== undefined) console.log(`SKIPPED disk queue tmpfs tests: ${tmpfsUnavailable}`);

onTmpfs('the bound adapts to the free space found (logged once with the numbers); delivering 3 MiB through 1 MiB never fails', async () => {
  await withTmpfs(MiB, async (root) => {
    const q = opener(root);
    try {
      const queue = await q.open({ maxBytes: 512 * MiB });
      const { bytes, availableBytes, adapted, maxBytes } = queue.bounds;
      assert.ok(adapted, 'the bound was lowered');
      assert.is(maxBytes, 512 * MiB);
      assert.ok(availableBytes !== undefined && availableBytes <= MiB && availableBytes > MiB / 2, `available ${availableBytes}`);
      assert.ok(bytes <= MiB / 2 + 1 && bytes >= 64 * 1024, `bound ${bytes}`);
      const adaptedLogs = q.logs.filter((l) => l.event === 'bound_adapted');
      assert.is(adaptedLogs.length, 1);
      assert.equal(Object.keys(adaptedLogs[0]!.fields).sort(), ['available_bytes', 'bound_bytes', 'free_space_share', 'max_bytes', 'queue_bytes']);
      assert.is(adaptedLogs[0]!.fields['bound_bytes'], bytes);

      // A healthy receiver: every append is delivered at once. 800 records of 4 KiB: over 3 MiB written.
      let written = 0;
      for (let i = 0; i < 800; i++) {
        const e = entry(i);
        assert.equal(await queue.append(e), [], `append ${i}`);
        written += e.body.length + RECORD_HEADER_BYTES;
        assert.is(id((await queue.peek())!), i);
        await queue.ack();
      }
      assert.ok(written > 3 * MiB, `${written} bytes went through`);
      // An empty queue gives its segment back once it holds a segment's worth of delivered records (a sixteenth of the bound).
      assert.ok((await bytesOfSegments(q.dir)) <= bytes / 16, `delivered bytes left: ${await bytesOfSegments(q.dir)}`);
      assert.is(q.logs.filter((l) => l.event === 'append_failed').length, 0);
    } finally {
      await q.closeAll();
    }
  });
});

onTmpfs('an outage on a 1 MiB tmpfs: the oldest are dropped within the adapted bound, never ENOSPC; the newest are all delivered', async () => {
  await withTmpfs(MiB, async (root) => {
    const q = opener(root);
    try {
      const queue = await q.open({ maxBytes: 512 * MiB });
      const drops: QueueDrop[] = [];
      for (let i = 0; i < 500; i++) {
        drops.push(...(await queue.append(entry(i))));
        assert.ok((await bytesOfSegments(q.dir)) <= queue.bounds.bytes, `files within the bound after append ${i}`);
      }
      assert.equal(reasons(drops), ['queue_full']);
      assert.is(q.logs.filter((l) => l.event === 'append_failed').length, 0, 'no append failed');
      const out = await drain(queue);
      assert.is(out.length + drops.length, 500);
      // What is left is an unbroken run of the newest.
      assert.equal(
        out.map(id),
        Array.from({ length: out.length }, (_, k) => 500 - out.length + k),
      );
    } finally {
      await q.closeAll();
    }
  });
});

onTmpfs('a disk filled by something else: with a backlog the oldest make room; empty, the append fails; when space comes back appends work and the bound is raised again', async () => {
  await withTmpfs(MiB, async (root) => {
    const q = opener(root);
    try {
      const queue = await q.open({ maxBytes: 512 * MiB });
      const openBound = queue.bounds.bytes;
      for (let i = 0; i < 40; i++) await queue.append(entry(i));
      const filler = fillDisk(root);

      // With a backlog: the oldest go (queue_full) and the new one is stored.
      const drops = await queue.append(entry(40));
      assert.ok(drops.length > 0, 'the oldest were dropped to make room');
      assert.equal(reasons(drops), ['queue_full']);
      assert.ok(queue.bounds.bytes < openBound, `bound lowered from ${openBound} to ${queue.bounds.bytes}`);
      assert.ok(q.logs.some((l) => l.event === 'disk_full'));
      for (let i = 41; i < 60; i++) await queue.append(entry(i));
      const pending = queue.pendingEntries;
      assert.ok(pending > 0);

      // Empty and still full: the append fails, and nothing is left half-written.
      await drain(queue);
      assert.is(await bytesOfSegments(q.dir), 0);
      const more = fillDisk(root);
      let failed: unknown;
      try {
        await queue.append(entry(100));
      } catch (err) {
        failed = err;
      }
      assert.is((failed as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC', `append on a full disk: ${String(failed)}`);
      assert.is(queue.pendingEntries, 0);

      // Space back: appends work again and the bound comes back up.
      await fs.rm(filler);
      await fs.rm(more);
      for (let i = 101; i < 120; i++) assert.equal(await queue.append(entry(i)), [], `append ${i} after the space came back`);
      assert.is(queue.bounds.bytes, openBound, 'the bound is raised back');
      assert.equal((await drain(queue)).map(id), Array.from({ length: 19 }, (_, k) => 101 + k));
      await queue.close();
      // And after a restart.
      const reopened = await q.open({ maxBytes: 512 * MiB });
      await reopened.append(entry(200));
      assert.equal((await drain(reopened)).map(id), [200]);
    } finally {
      await q.closeAll();
    }
  });
});

onTmpfs('a tmpfs left full of delivered records (as earlier versions left it) by an agent that died: the queue opens, gives the space back, and works', async () => {
  await withTmpfs(MiB, async (root) => {
    const q = opener(root);
    try {
      await fs.mkdir(q.dir);
      const checkpoint = path.join(q.dir, 'checkpoint');
      const writeCheckpoint = (offset: number) => {
        const slot = Buffer.alloc(64);
        slot.write('JQC1', 0, 'latin1');
        slot.writeBigUInt64LE(7n, 4);
        slot.writeBigUInt64LE(BigInt(offset), 12);
        slot.writeUInt32LE(crc32c(slot, 0, 20), 20);
        return fs.writeFile(checkpoint, slot);
      };
      await writeCheckpoint(0);
      const dead = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
        child.on('error', reject);
        child.on('exit', () => resolve(child.pid!));
      });
      await fs.writeFile(path.join(q.dir, 'lock'), `${dead}\n\n${os.hostname()}\n`);
      // Records until the disk is full, all delivered.
      const segment = openSync(path.join(q.dir, '0000000000000000.seg'), 'w');
      let end = 0;
      try {
        for (let i = 0; ; i++) {
          const e = entry(i);
          const record = Buffer.concat([encodeRecordHeader(e.body, e.samples, e.maxTimestampMs), e.body]);
          try {
            writeSync(segment, record, 0, record.length, end);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
          end += record.length;
        }
        ftruncateSync(segment, end);
      } finally {
        closeSync(segment);
      }
      await writeCheckpoint(end);
      assert.ok(end > MiB / 2, `${end} bytes of delivered records`);

      const queue = await q.open({ maxBytes: 512 * MiB });
      assert.is(queue.pendingEntries, 0);
      assert.is(await bytesOfSegments(q.dir), 0, 'the delivered records are gone');
      assert.ok(q.logs.some((l) => l.event === 'delivered_space_reclaimed'));
      for (let i = 0; i < 100; i++) await queue.append(entry(1000 + i));
      assert.is((await drain(queue)).length, 100);
    } finally {
      await q.closeAll();
    }
  });
});

tmpfs.run();

// ---------------------------------------------------------------------------

const gone = suite('disk queue: files deleted under it');

gone('segments deleted while a backlog is read: the op fails once, the next rebuilds, the loss is one storage_error drop with its samples', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-gone-'));
  const q = opener(root);
  try {
    const queue = await q.open({ segmentBytes: 1000, availableBytes: async () => undefined });
    const all = Array.from({ length: 20 }, (_, i) => entry(i, 272)); // 300-byte records: 3 per segment
    for (const e of all) await queue.append(e);
    const delivered: QueueEntry[] = [];
    for (let i = 0; i < 2; i++) {
      delivered.push((await queue.peek())!);
      await queue.ack();
    }
    for (const name of await segmentFiles(q.dir)) await fs.unlink(path.join(q.dir, name));

    const errors: unknown[] = [];
    const drops: QueueDrop[] = [];
    for (let guard = 0; guard < 100; guard++) {
      try {
        const head = await queue.peek();
        drops.push(...queue.takeDrops());
        if (head === undefined) break;
        delivered.push(head);
        await queue.ack();
      } catch (err) {
        errors.push(err);
        assert.ok(errors.length < 5, `the queue keeps failing: ${errors.map(String).join('; ')}`);
      }
    }
    assert.ok(errors.length >= 1, 'reading a deleted segment is an error');
    assert.is((errors[0] as NodeJS.ErrnoException).code, 'ENOENT');
    const lost = drops.filter((d) => d.reason === 'storage_error');
    assert.is(lost.length, 1);
    // Nothing counted twice, nothing unaccounted: what came out (a head may come out twice) plus what was lost is everything.
    const distinct = new Set(delivered.map(id));
    assert.is(distinct.size + (lost[0]!.requests ?? 1), all.length);
    const lostSamples = all.filter((e) => !distinct.has(id(e))).reduce((s, e) => s + e.samples, 0);
    assert.is(lost[0]!.entry.samples, lostSamples);
    assert.ok(q.logs.some((l) => l.event === 'rebuilt' && l.fields['lost_entries'] === lost[0]!.requests));

    // And it works on: new appends are stored in new files, and survive a restart.
    for (let i = 100; i < 103; i++) await queue.append(entry(i, 272));
    assert.ok((await segmentFiles(q.dir)).length >= 1);
    await queue.close();
    const reopened = await q.open({ segmentBytes: 1000, availableBytes: async () => undefined });
    assert.equal((await drain(reopened)).map(id), [100, 101, 102]);
  } finally {
    await q.closeAll();
    await fs.rm(root, { recursive: true, force: true });
  }
});

gone('the segment being written deleted: the next append fails instead of writing into a deleted file; the one after is stored for real', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-gone-'));
  const q = opener(root);
  try {
    const queue = await q.open({ availableBytes: async () => undefined });
    await queue.append(entry(1, 500));
    await drain(queue);
    for (const name of await segmentFiles(q.dir)) await fs.unlink(path.join(q.dir, name));
    let failures = 0;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await queue.append(entry(2, 500));
        break;
      } catch (err) {
        failures++;
        assert.is((err as NodeJS.ErrnoException).code, 'ENOENT');
      }
    }
    assert.is(failures, 1, 'one failure, then the queue is rebuilt');
    await queue.close();
    const reopened = await q.open({ availableBytes: async () => undefined });
    assert.equal((await drain(reopened)).map(id), [2], 'the append that resolved is on disk');
  } finally {
    await q.closeAll();
    await fs.rm(root, { recursive: true, force: true });
  }
});

gone('the whole folder removed (lock and checkpoint too): rebuilt, the lock file put back', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-gone-'));
  const q = opener(root);
  try {
    const queue = await q.open({ availableBytes: async () => undefined });
    await queue.append(entry(1, 500));
    await fs.rm(q.dir, { recursive: true, force: true });
    let stored = false;
    for (let attempt = 0; attempt < 2 && !stored; attempt++) {
      try {
        await queue.append(entry(2, 500));
        stored = true;
      } catch {
        // the first one finds the files gone
      }
    }
    assert.ok(stored);
    assert.ok((await fs.readFile(path.join(q.dir, 'lock'), 'latin1')).startsWith(`${process.pid}\n`), 'the lock is ours again');
    const lost = queue.takeDrops().filter((d) => d.reason === 'storage_error');
    assert.is(lost.length, 1);
    assert.is(lost[0]!.entry.samples, entry(1).samples);
    assert.equal((await drain(queue)).map(id), [2]);
  } finally {
    await q.closeAll();
    await fs.rm(root, { recursive: true, force: true });
  }
});

gone('an entry peeked before a rebuild: its ack removes nothing (the new head was never sent)', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-gone-'));
  const q = opener(root);
  try {
    const queue = await q.open({ availableBytes: async () => undefined });
    await queue.append(entry(1, 500));
    assert.is(id((await queue.peek())!), 1); // in flight
    for (const name of await segmentFiles(q.dir)) await fs.unlink(path.join(q.dir, name));
    await queue.append(entry(2, 500)).catch(() => undefined); // finds the files gone
    await queue.append(entry(3, 500)); // rebuilt, stored
    await queue.ack(); // for entry 1
    assert.equal((await drain(queue)).map(id), [3]);
  } finally {
    await q.closeAll();
    await fs.rm(root, { recursive: true, force: true });
  }
});

gone.run();

// ---------------------------------------------------------------------------

const damage = suite('disk queue: damaged records are reported as corrupt drops');

async function writeAndClose(q: ReturnType<typeof opener>, entries: readonly QueueEntry[]): Promise<{ file: string; offsets: number[] }> {
  const queue = await q.open({ availableBytes: async () => undefined });
  for (const e of entries) await queue.append(e);
  await queue.close();
  const offsets: number[] = [];
  let at = 0;
  for (const e of entries) {
    offsets.push(at);
    at += RECORD_HEADER_BYTES + e.body.length;
  }
  return { file: path.join(q.dir, (await segmentFiles(q.dir))[0]!), offsets };
}

damage('torn payload at the tail, a damaged header, a bad payload read later: each with its samples (the header\'s, or the checkpoint\'s tally); trailing zeros are no loss', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-damage-'));
  const q = opener(root);
  try {
    const entries = Array.from({ length: 10 }, (_, i) => entry(i, 200));
    const { file, offsets } = await writeAndClose(q, entries);
    const data = await fs.readFile(file);
    data[offsets[3]! + 9] ^= 0x10; // header of record 3
    data[offsets[6]! + RECORD_HEADER_BYTES + 50] ^= 0x01; // payload of record 6
    data.fill(0, offsets[9]! + RECORD_HEADER_BYTES + 10); // payload of the last record, as a power loss leaves it
    await fs.writeFile(file, data);

    const queue = await q.open({ availableBytes: async () => undefined });
    const out = await drain(queue);
    assert.equal(out.map(id), [0, 1, 2, 4, 5, 7, 8]);
    const drops = queue.takeDrops();
    assert.ok(drops.every((d) => d.reason === 'corrupt'), JSON.stringify(drops.map((d) => d.reason)));
    const described = drops.map((d) => (d.samplesUnknown ? 'unknown' : d.entry.samples)).sort();
    assert.equal(described, [entries[3]!.samples, entries[6]!.samples, entries[9]!.samples].sort());
    await queue.close();

    // Zeros after the last record: nothing was written there, nothing was lost.
    await fs.appendFile(file, Buffer.alloc(4096));
    const again = await q.open({ availableBytes: async () => undefined });
    assert.ok(q.logs.some((l) => l.event === 'torn_record'));
    assert.equal(again.takeDrops(), []);
  } finally {
    await q.closeAll();
    await fs.rm(root, { recursive: true, force: true });
  }
});

damage('a tail cut by a crash: counted by the checkpoint\'s tally; without one (an earlier version\'s checkpoint), by the header, or as unknown (1) inside it', async () => {
  for (const [cutAt, tally, expected] of [
    [RECORD_HEADER_BYTES + 100, true, { samples: 5, unknown: false }],
    [11, true, { samples: 5, unknown: false }],
    [RECORD_HEADER_BYTES + 100, false, { samples: 5, unknown: false }],
    [11, false, { samples: 0, unknown: true }],
  ] as const) {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'disk-queue-damage-'));
    const q = opener(root);
    try {
      const entries = Array.from({ length: 5 }, (_, i) => entry(i, 200));
      const { file, offsets } = await writeAndClose(q, entries);
      await fs.truncate(file, offsets[4]! + cutAt);
      // The first 64 bytes are the checkpoint as earlier versions wrote it: no tally.
      if (!tally) await fs.truncate(path.join(q.dir, 'checkpoint'), 64);
      const queue = await q.open({ availableBytes: async () => undefined });
      assert.equal(
        queue.takeDrops().map((d) => [d.reason, d.entry.samples, d.samplesUnknown === true]),
        [['corrupt', expected.samples, expected.unknown]],
        `cut at ${cutAt}, ${tally ? 'with' : 'without'} a tally`,
      );
      const lost = q.logs.filter((l) => l.event === 'records_lost');
      assert.is(lost[lost.length - 1]!.fields['counted'], tally ? 'exact' : 'lower_bound');
      assert.equal((await drain(queue)).map(id), [0, 1, 2, 3]);
    } finally {
      await q.closeAll();
      await fs.rm(root, { recursive: true, force: true });
    }
  }
});

damage.run();
