import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHttpTransport } from '../../src/http/http-transport';
import { createLogger } from '../../src/log/logger';
import { SinkSet } from '../../src/sinks/sink-set';
import { DiskRequestQueue } from '../../src/sinks/queue/disk-request-queue';
import { MemoryRequestQueue } from '../../src/sinks/queue/memory-request-queue';
import { RECORD_HEADER_BYTES } from '../../src/sinks/queue/queue-record-codec';
import type { QueueDrop, QueueEntry, RequestQueue } from '../../src/sinks/queue/request-queue';
import { createRemoteWriteMetrics } from '../../src/sinks/remote-write/remote-write-metrics';
import { RemoteWriteSender } from '../../src/sinks/remote-write/remote-write-sender';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';
import { ScriptedReceiver, until } from '../helpers/scripted-receiver';
import { setUpBefore } from '../helpers/set-up-before';

/**
 * What the remote-write sender says and counts: one rule for repeated
 * conditions (a 401, an outage) with an injected clock, the first delivery,
 * an HTML answer, queue errors that never stop it, and damaged records
 * counted as dropped.
 */

function entry(name: string, samples = 10): QueueEntry {
  return { body: Buffer.from(name), samples, maxTimestampMs: 1_700_000_000_000 };
}

interface Setup {
  readonly sender: RemoteWriteSender;
  readonly registry: Registry;
  /** Log lines without the timestamp. */
  readonly lines: string[];
  readonly advance: (ms: number) => void;
  readonly metric: (name: string, labels?: Record<string, string>) => Promise<number | undefined>;
}

function makeSender(url: string, queue: RequestQueue = new MemoryRequestQueue(1024 * 1024)): Setup {
  const registry = new Registry();
  const lines: string[] = [];
  let now = 1_000_000;
  const sender = new RemoteWriteSender({
    urlSetting: '--remote-write.url',
    name: 'test',
    displayUrl: url,
    transport: createHttpTransport({ url, timeoutMs: 2000, headers: {}, tls: { insecureSkipVerify: false } }, 'jvb-prometheus-adapter/test'),
    queue,
    metrics: createRemoteWriteMetrics(registry),
    retry: { minBackoffMs: 20, maxBackoffMs: 100, retryOn429: true },
    log: createLogger({ level: 'debug', format: 'logfmt', write: (line) => lines.push(line.replace(/^ts=\S+ /, '')) }),
    now: () => now,
  });
  sender.start();
  return {
    sender,
    registry,
    lines,
    advance: (ms) => (now += ms),
    metric: async (name, labels = {}) => sampleValue(parseExposition(await registry.metrics()), name, { remote_name: 'test', ...labels }),
  };
}

const at = (lines: readonly string[], level: string, pattern: RegExp) => lines.filter((l) => l.startsWith(`level=${level} `) && pattern.test(l));

const conditions = suite('remote-write sender: repeated conditions are logged when they start, once a minute, and when they end');
const receiver = new ScriptedReceiver();
const setUp = setUpBefore(conditions, () => receiver.start());
conditions.before.each(() => {
  setUp.check();
  receiver.received.length = 0;
  receiver.answer = () => ({ status: 200 });
});
conditions.after(() => receiver.stop());

conditions('a receiver answering 401 to every request: one error when it starts, one a minute with counts, one info line when it ends', async () => {
  let status = 401;
  receiver.answer = () => ({ status, body: status === 401 ? 'invalid credentials' : '' });
  const s = makeSender(`${receiver.url}/api/v1/write`);
  try {
    await s.sender.enqueue(['a', 'b', 'c', 'd', 'e'].map((n) => entry(n)));
    await until('5 requests', () => receiver.received.length >= 5);
    await until('all 5 counted refused', async () => (await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' })) === 50);
    assert.is(at(s.lines, 'error', /HTTP 401/).length, 1, `one line while it lasts less than a minute:\n${s.lines.join('\n')}`);
    assert.match(at(s.lines, 'error', /HTTP 401/)[0]!, /credentials are wrong.*invalid credentials/);

    s.advance(61_000);
    await s.sender.enqueue(['f', 'g', 'h'].map((n) => entry(n)));
    await until('8 requests', () => receiver.received.length >= 8);
    await until('all 8 counted refused', async () => (await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' })) === 80);
    const errors = at(s.lines, 'error', /HTTP 401/);
    assert.is(errors.length, 2, 'and once more after a minute');
    assert.match(errors[1]!, /ongoing_for=1m1s refused_requests=6 refused_samples=60$/);

    status = 204;
    s.advance(4_000);
    await s.sender.enqueue([entry('i')]);
    await until('the ninth request delivered', async () => (await s.metric('jvb_remote_write_samples_total')) === 10);
    const ended = at(s.lines, 'info', /accepts requests again/);
    assert.is(ended.length, 1);
    assert.match(ended[0]!, /refused_status=401 lasted=1m5s refused_requests=8 refused_samples=80/);
    assert.is(at(s.lines, 'error', /HTTP 401/).length, 2);
  } finally {
    await s.sender.stop(1000);
  }
});

conditions('an outage: one warning when it starts, one a minute with the failed attempts, then how long it lasted, what was queued meanwhile, and when the backlog is delivered', async () => {
  let down = true;
  receiver.answer = () => (down ? { status: 503, body: 'unavailable' } : { status: 204 });
  const s = makeSender(`${receiver.url}/api/v1/write`);
  try {
    await s.sender.enqueue(['a', 'b', 'c'].map((n) => entry(n)));
    await until('3 failed attempts', () => receiver.received.length >= 3);
    assert.is(at(s.lines, 'warn', /request failed, will retry/).length, 1, s.lines.join('\n'));
    const debugBefore = at(s.lines, 'debug', /request failed, will retry/).length;
    assert.ok(debugBefore >= 1, 'the attempts in between are at debug');

    s.advance(61_000);
    const seen = receiver.received.length;
    await until('2 more failed attempts', () => receiver.received.length >= seen + 2);
    const warnings = at(s.lines, 'warn', /request failed, will retry/);
    assert.is(warnings.length, 2);
    assert.match(warnings[1]!, /reason=http_503 .*ongoing_for=1m1s failed_attempts=\d+$/);

    s.advance(59_000);
    await s.sender.enqueue([entry('d')]);
    down = false;
    await until('all 4 delivered', async () => (await s.metric('jvb_remote_write_samples_total')) === 40);
    await until('the caught-up line', () => at(s.lines, 'info', /caught up/).length === 1);
    const back = at(s.lines, 'info', /the receiver answers again/);
    assert.is(back.length, 1);
    assert.match(back[0]!, /queued_requests=4 queued_samples=40 lasted=2m failed_attempts=\d+/);
    assert.match(at(s.lines, 'info', /caught up/)[0]!, /delivered_requests=4 delivered_samples=40 took=0ms/);
    assert.equal(
      receiver.received.filter((r) => r.headers['retry-attempt'] === undefined).map((r) => r.body.toString()),
      ['a', 'b', 'c', 'd'],
      'in order',
    );
  } finally {
    await s.sender.stop(1000);
  }
});

conditions('log lines count what they claim: a refused metadata-only request is no "refused_samples=0", and stopping says what the refusal cost in all', async () => {
  receiver.answer = () => ({ status: 401, body: 'invalid credentials' });
  const s = makeSender(`${receiver.url}/api/v1/write`);
  await s.sender.enqueue([entry('metadata', 0), entry('a', 200), entry('b', 187), entry('c', 200)]);
  await until('all refused', async () => (await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' })) === 587);
  const started = at(s.lines, 'error', /HTTP 401/);
  assert.is(started.length, 1, s.lines.join('\n'));
  assert.not.match(started[0]!, /refused_samples=0/);
  assert.match(started[0]!, /refused_requests=1 refused_metadata_requests=1$/);
  await s.sender.stop(1000);
  const stopped = at(s.lines, 'info', /stopped while the receiver refused requests/);
  assert.is(stopped.length, 1, s.lines.join('\n'));
  assert.match(stopped[0]!, /refused_status=401 lasted=0ms refused_requests=4 refused_metadata_requests=1 refused_samples=587$/);
});

conditions('the first delivery logged is the first request carrying samples, not a metadata-only one', async () => {
  const s = makeSender(`${receiver.url}/api/v1/write`);
  try {
    await s.sender.enqueue([entry('metadata', 0), entry('a', 7)]);
    await until('delivered', async () => (await s.metric('jvb_remote_write_samples_total')) === 7);
    const first = at(s.lines, 'info', /first request delivered/);
    assert.is(first.length, 1, s.lines.join('\n'));
    assert.match(first[0]!, /samples=7 status=200/);
  } finally {
    await s.sender.stop(1000);
  }
});

conditions('the first delivery is logged at info, once', async () => {
  const s = makeSender(`${receiver.url}/api/v1/write`);
  try {
    await s.sender.enqueue(['a', 'b', 'c'].map((n) => entry(n, 7)));
    await until('3 delivered', async () => (await s.metric('jvb_remote_write_samples_total')) === 21);
    const first = at(s.lines, 'info', /first request delivered/);
    assert.is(first.length, 1);
    assert.match(first[0]!, /samples=7 status=200/);
    assert.is(at(s.lines, 'warn', /HTML/).length, 0, 'an empty 200 is no HTML page');
  } finally {
    await s.sender.stop(1000);
  }
});

for (const [name, answer] of [
  ['Content-Type text/html', { status: 200, headers: { 'Content-Type': 'text/html; charset=UTF-8' }, body: '<!-- a UI -->' }],
  ['a body starting with <!DOCTYPE', { status: 200, headers: { 'Content-Type': 'text/plain' }, body: '\n<!DOCTYPE html><html><title>Grafana</title>' }],
  ['a body starting with <html', { status: 200, body: '<html lang="en"><head><title>Prometheus Time Series Collection and Processing Server</title>' }],
] as const) {
  conditions(`a 2xx with an HTML page (${name}) is warned about once, naming --remote-write.url`, async () => {
    receiver.answer = () => answer;
    const s = makeSender(`${receiver.url}/graph`);
    try {
      await s.sender.enqueue(['a', 'b', 'c'].map((n) => entry(n)));
      await until('3 delivered', async () => (await s.metric('jvb_remote_write_samples_total')) === 30);
      const warnings = at(s.lines, 'warn', /HTML page/);
      assert.is(warnings.length, 1, s.lines.join('\n'));
      assert.match(warnings[0]!, /check --remote-write\.url/);
    } finally {
      await s.sender.stop(1000);
    }
  });
}

conditions.run();

// ---------------------------------------------------------------------------

/** A memory queue whose operations fail on demand, as a disk queue whose files go away would. */
class FailingQueue implements RequestQueue {
  readonly inner = new MemoryRequestQueue(1024 * 1024);
  /** Errors to throw, by operation, one per call, in order. */
  readonly failures: Record<'append' | 'peek' | 'ack' | 'takeDrops', Error[]> = { append: [], peek: [], ack: [], takeDrops: [] };

  private fail(op: keyof FailingQueue['failures']): void {
    const err = this.failures[op].shift();
    if (err) throw err;
  }
  async append(e: QueueEntry): Promise<QueueDrop[]> {
    this.fail('append');
    return this.inner.append(e);
  }
  async peek(): Promise<QueueEntry | undefined> {
    this.fail('peek');
    return this.inner.peek();
  }
  async ack(): Promise<void> {
    this.fail('ack');
    return this.inner.ack();
  }
  takeDrops(): QueueDrop[] {
    this.fail('takeDrops');
    return this.inner.takeDrops();
  }
  get pendingEntries() {
    return this.inner.pendingEntries;
  }
  get pendingSamples() {
    return this.inner.pendingSamples;
  }
  get pendingBytes() {
    return this.inner.pendingBytes;
  }
  get oldestTimestampMs() {
    return this.inner.oldestTimestampMs;
  }
  readonly replayedSamples = 0;
  async close(): Promise<void> {}
}

function ioError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

const faults = suite('remote-write sender: queue errors are logged and counted, never an unhandled rejection');
const faultReceiver = new ScriptedReceiver();
let faultSetupError: unknown;
faults.before(async () => {
  try {
    await faultReceiver.start();
  } catch (err) {
    faultSetupError = err;
  }
});
faults.after(() => faultReceiver.stop());

faults('peek, ack, takeDrops and append failing (ENOENT, EIO, ENOSPC): the sender goes on, counts each by operation, drops only what could not be queued', async () => {
  if (faultSetupError) throw faultSetupError;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const queue = new FailingQueue();
  const s = makeSender(`${faultReceiver.url}/api/v1/write`, queue);
  try {
    // The first peek (at start, queue empty) fails: the sender retries it after a backoff.
    queue.failures.peek.push(ioError('ENOENT', "no such file or directory, open '/var/lib/jvb-adapter/remote-write/x/00000000000004d2.seg'"));
    // The first append fails with EIO and is tried again (stored); "full" gets ENOSPC (the disk queue tried twice already) and is dropped.
    queue.failures.append.push(ioError('EIO', 'i/o error, write'));
    await s.sender.enqueue([entry('a')]);
    queue.failures.append.push(ioError('ENOSPC', 'no space left on device, write'));
    await s.sender.enqueue([entry('full', 3)]);
    queue.failures.ack.push(ioError('EIO', 'i/o error, fdatasync'));
    queue.failures.takeDrops.push(new Error('takeDrops blew up'));
    await s.sender.enqueue([entry('b'), entry('c')]);
    await until('a, b and c delivered', () => ['a', 'b', 'c'].every((n) => faultReceiver.received.some((r) => r.body.toString() === n))).catch((err: Error) => {
      throw new Error(`${err.message}\n${s.lines.join('\n')}`);
    });
    await until('the queue drained', () => queue.pendingEntries === 0);

    assert.equal(unhandled, []);
    const bodies = [...new Set(faultReceiver.received.map((r) => r.body.toString()))];
    assert.equal(bodies, ['a', 'b', 'c'], 'in order; "full" was never queued');
    for (const operation of ['peek', 'ack', 'take_drops']) assert.is(await s.metric('jvb_remote_write_queue_errors_total', { operation }), 1, operation);
    assert.is(await s.metric('jvb_remote_write_queue_errors_total', { operation: 'append' }), 2);
    assert.is(await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'storage_error' }), 3, 'only "full" is lost');

    // One condition for the disk full (start, end at the next stored append), one for the other errors.
    const full = at(s.lines, 'error', /disk of the queue is full/);
    assert.is(full.length, 1, s.lines.join('\n'));
    assert.match(full[0]!, /operation=append .*code=ENOSPC errors=1 dropped_requests=1 dropped_samples=3/);
    assert.is(at(s.lines, 'info', /disk of the queue has room again/).length, 1);
    const failed = at(s.lines, 'error', /queue on disk failed/);
    assert.ok(failed.some((l) => /operation=peek .*code=ENOENT/.test(l)), s.lines.join('\n'));
    assert.ok(failed.some((l) => /operation=append .*code=EIO/.test(l)), s.lines.join('\n'));
    assert.ok(at(s.lines, 'info', /queue on disk works again/).length >= 1);

    // Still working afterwards.
    await s.sender.enqueue([entry('d')]);
    await until('d delivered', () => faultReceiver.received.some((r) => r.body.toString() === 'd'));
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await s.sender.stop(1000);
  }
});

faults.run();

// ---------------------------------------------------------------------------

const counted = suite('remote-write sender: damaged records and every drop reason are counted');
const countReceiver = new ScriptedReceiver();
let countSetupError: unknown;
counted.before(async () => {
  try {
    await countReceiver.start();
  } catch (err) {
    countSetupError = err;
  }
});
counted.after(() => countReceiver.stop());

counted('a record with a damaged header (its samples, by the checkpoint\'s tally) and one with a damaged payload (its samples) count as reason="corrupt"; every reason exists at 0 from the start', async () => {
  if (countSetupError) throw countSetupError;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'rw-corrupt-'));
  const dir = path.join(root, 'q');
  let queue: DiskRequestQueue | undefined;
  let s: Setup | undefined;
  try {
    const bodies = Array.from({ length: 6 }, (_, i) => ({ body: Buffer.alloc(100, i + 1), samples: 10 * (i + 1), maxTimestampMs: 1_700_000_000_000 + i }));
    const first = await DiskRequestQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: Infinity, availableBytes: async () => undefined });
    for (const e of bodies) await first.append(e);
    await first.close();
    const segment = path.join(dir, (await fs.readdir(dir)).find((n) => n.endsWith('.seg'))!);
    const data = await fs.readFile(segment);
    const record = RECORD_HEADER_BYTES + 100;
    data[1 * record + 5] ^= 0x40; // header of record 1: its 20 samples are known from the checkpoint's tally
    data[3 * record + RECORD_HEADER_BYTES + 7] ^= 0x01; // payload of record 3: 40 samples
    await fs.writeFile(segment, data);

    queue = await DiskRequestQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: Infinity, availableBytes: async () => undefined });
    const clean = makeSender(`${countReceiver.url}/api/v1/write`, new MemoryRequestQueue(1000));
    for (const reason of ['refused', 'queue_full', 'too_old', 'too_big', 'storage_error', 'corrupt']) {
      assert.is(await clean.metric('jvb_remote_write_samples_dropped_total', { reason }), 0, `reason ${reason} at 0`);
    }
    for (const operation of ['append', 'peek', 'ack', 'take_drops']) {
      assert.is(await clean.metric('jvb_remote_write_queue_errors_total', { operation }), 0, `operation ${operation} at 0`);
    }
    await clean.sender.stop(100);

    s = makeSender(`${countReceiver.url}/api/v1/write`, queue);
    await until('the 4 intact records delivered', async () => (await s!.metric('jvb_remote_write_samples_total')) === 10 + 30 + 50 + 60);
    assert.is(await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'corrupt' }), 20 + 40);
    assert.ok(at(s.lines, 'warn', /damaged/).length === 1, s.lines.join('\n'));
  } finally {
    await s?.sender.stop(1000);
    await queue?.close().catch(() => undefined);
    await fs.rm(root, { recursive: true, force: true });
  }
});

counted('without the checkpoint\'s tally (an earlier version\'s checkpoint) a damaged header counts as 1 sample, and the line says dropped_samples is a lower bound', async () => {
  if (countSetupError) throw countSetupError;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'rw-corrupt-'));
  const dir = path.join(root, 'q');
  let queue: DiskRequestQueue | undefined;
  let s: Setup | undefined;
  try {
    const bodies = Array.from({ length: 4 }, (_, i) => ({ body: Buffer.alloc(100, i + 1), samples: 10 * (i + 1), maxTimestampMs: 1_700_000_000_000 + i }));
    const first = await DiskRequestQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: Infinity, availableBytes: async () => undefined });
    for (const e of bodies) await first.append(e);
    await first.close();
    await fs.truncate(path.join(dir, 'checkpoint'), 64); // the position slots only, as earlier versions wrote it
    const segment = path.join(dir, (await fs.readdir(dir)).find((n) => n.endsWith('.seg'))!);
    const data = await fs.readFile(segment);
    data[1 * (RECORD_HEADER_BYTES + 100) + 5] ^= 0x40; // header of record 1 (20 samples, not known without the tally)
    await fs.writeFile(segment, data);

    queue = await DiskRequestQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: Infinity, availableBytes: async () => undefined });
    s = makeSender(`${countReceiver.url}/api/v1/write`, queue);
    await until('the 3 intact records delivered', async () => (await s!.metric('jvb_remote_write_samples_total')) === 10 + 30 + 40);
    assert.is(await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'corrupt' }), 1);
    const lines = at(s.lines, 'warn', /damaged/);
    assert.is(lines.length, 1, s.lines.join('\n'));
    assert.match(lines[0]!, /dropped_samples is a lower bound/);
    assert.match(lines[0]!, /samples_unknown_records=1/);
  } finally {
    await s?.sender.stop(1000);
    await queue?.close().catch(() => undefined);
    await fs.rm(root, { recursive: true, force: true });
  }
});

counted('start-up names every destination: kind, URL without credentials, queue folder and bound', async () => {
  if (countSetupError) throw countSetupError;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'rw-destinations-'));
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'logfmt', write: (line) => lines.push(line) });
  const http = (url: string) => ({ url, timeoutMs: 1000, headers: {}, tls: { insecureSkipVerify: false } });
  const registry = new Registry();
  const sinks = new SinkSet(registry, { path: root, maxBytes: 1 << 20, maxAgeMs: 3600_000, flushDeadlineMs: 1000 }, log, { path: '--storage.path', maxBytes: '--storage.max-bytes', inMemory: '--storage.in-memory' });
  await sinks.update({
    remoteWrite: [
      { name: 'mimir', urlSetting: '--remote-write.url', http: http(`http://user:s3cret@127.0.0.1:1/api/v1/push`), maxSamplesPerRequest: 2000, retryOn429: true, minBackoffMs: 50, maxBackoffMs: 100, protobufMessage: 'prometheus.WriteRequest', protobufMessageSetting: '--remote-write.protobuf-message', onAuthError: 'hold', credentialSettings: [] },
    ],
    pushgateway: [{ http: http('http://127.0.0.1:1/'), grouping: [], deleteOnShutdown: false }],
  });
  try {
    const named = lines.filter((l) => l.includes('msg="push destination"'));
    assert.is(named.length, 2, lines.join('\n'));
    assert.match(named[0]!, /kind=remote_write remote_name=mimir url=http:\/\/127\.0\.0\.1:1\/api\/v1\/push queue=\S+remote-write\/mimir queue_max_bytes=1048576/);
    assert.match(named[1]!, /kind=pushgateway url=http:\/\/127\.0\.0\.1:1\//);
    assert.not.match(lines.join('\n'), /s3cret/);
    // The queue's bounds are exported, for alerts that follow the settings (issue 17): 1 MiB, 1 h.
    const text = await registry.metrics();
    assert.match(text, /^jvb_remote_write_queue_max_bytes\{remote_name="mimir",url="http:\/\/127\.0\.0\.1:1\/api\/v1\/push"\} 1048576$/m);
    assert.match(text, /^jvb_remote_write_queue_max_age_seconds\{remote_name="mimir",url="http:\/\/127\.0\.0\.1:1\/api\/v1\/push"\} 3600$/m);
  } finally {
    await sinks.stop(0);
    await fs.rm(root, { recursive: true, force: true });
  }
});

counted.run();
