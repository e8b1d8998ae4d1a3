import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { createHttpTransport } from '../../src/http/http-transport';
import { MemoryRequestQueue } from '../../src/sinks/queue/memory-request-queue';
import type { QueueEntry } from '../../src/sinks/queue/request-queue';
import { createRemoteWriteMetrics } from '../../src/sinks/remote-write/remote-write-metrics';
import { RemoteWriteSender } from '../../src/sinks/remote-write/remote-write-sender';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';
import { closeServer } from '../helpers/close-server';

interface Received {
  readonly body: string;
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
}

type Script = (req: Received, res: http.ServerResponse) => void;

/** A receiver on loopback that answers each request as `script` says, and records what it got. */
async function scriptedReceiver(script: Script) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { body: Buffer.concat(chunks).toString(), at: Date.now(), headers: req.headers };
      received.push(entry);
      script(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  return {
    url,
    received,
    close: () => closeServer(server),
  };
}

function entry(name: string, samples = 10): QueueEntry {
  return { body: Buffer.from(name), samples, maxTimestampMs: 1_700_000_000_000 };
}

function makeSender(url: string, opts: { timeoutMs?: number; retryOn429?: boolean } = {}) {
  const registry = new Registry();
  const logs: string[] = [];
  const sender = new RemoteWriteSender({
    urlSetting: '--remote-write.url',
    name: 'test',
    displayUrl: url,
    transport: createHttpTransport({ url, timeoutMs: opts.timeoutMs ?? 2000, headers: {}, tls: { insecureSkipVerify: false } }, 'jvb-prometheus-adapter/test'),
    queue: new MemoryRequestQueue(1024 * 1024),
    metrics: createRemoteWriteMetrics(registry),
    retry: { minBackoffMs: 50, maxBackoffMs: 200, retryOn429: opts.retryOn429 ?? true },
    log: createLogger({ level: 'debug', format: 'logfmt', write: (line) => logs.push(line) }),
  });
  sender.start();
  return { sender, registry, logs };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const retries = suite('remote-write sender: which requests are repeated, when, and in what order');

retries('500, 503 with Retry-After, 429, 400 and 401 in turn: retried or dropped per the spec, never out of order', async () => {
  // Per body, the statuses it gets on each attempt; a body past its list gets 200.
  const plan: Record<string, Array<[number, Record<string, string>?]>> = {
    A: [[500], [503, { 'Retry-After': '1' }]],
    B: [[429]],
    C: [[400]],
    D: [[401]],
  };
  const attempts: Record<string, number> = {};
  const receiver = await scriptedReceiver((req, res) => {
    const n = (attempts[req.body] = (attempts[req.body] ?? 0) + 1);
    const [status, headers] = plan[req.body]?.[n - 1] ?? [200];
    res.writeHead(status, headers ?? {}).end(status === 400 ? 'out of order sample' : status === 401 ? 'unauthorized' : '');
  });
  const { sender, registry, logs } = makeSender(receiver.url);
  try {
    await sender.enqueue(['A', 'B', 'C', 'D', 'E'].map((name) => entry(name)));
    await until(() => receiver.received.some((r) => r.body === 'E'));
    // The receiver has E; wait until the sender has its answer too (E's samples counted as sent).
    await until(async () => sampleValue(parseExposition(await registry.metrics()), 'jvb_remote_write_samples_total', { remote_name: 'test' }) === 30);
    assert.equal(
      receiver.received.map((r) => r.body),
      ['A', 'A', 'A', 'B', 'B', 'C', 'D', 'E'],
    );
    // Retry-After: 1 on the second answer held the third attempt back a full second.
    const a = receiver.received.filter((r) => r.body === 'A');
    assert.ok(a[2]!.at - a[1]!.at >= 950, `Retry-After not honoured: ${a[2]!.at - a[1]!.at}ms`);
    // Retries carry the attempt number; the first attempt does not.
    assert.is(a[0]!.headers['retry-attempt'], undefined);
    assert.is(a[1]!.headers['retry-attempt'], '1');
    assert.is(a[2]!.headers['retry-attempt'], '2');
    for (const r of receiver.received) {
      assert.is(r.headers['content-encoding'], 'snappy');
      assert.is(r.headers['content-type'], 'application/x-protobuf');
      assert.is(r.headers['x-prometheus-remote-write-version'], '0.1.0');
      assert.match(String(r.headers['user-agent']), /^jvb-prometheus-adapter\//);
    }
    const out = parseExposition(await registry.metrics());
    const labels = { remote_name: 'test' };
    assert.is(sampleValue(out, 'jvb_remote_write_samples_total', labels), 30); // A, B, E
    assert.is(sampleValue(out, 'jvb_remote_write_samples_dropped_total', { ...labels, reason: 'refused' }), 20); // C, D
    assert.is(sampleValue(out, 'jvb_remote_write_samples_retried_total', labels), 30); // A twice, B once
    assert.is(sampleValue(out, 'jvb_remote_write_samples_failed_total', labels), 50); // A twice, B, C, D
    assert.is(sampleValue(out, 'jvb_remote_write_samples_pending', labels), 0);
    assert.is(sampleValue(out, 'jvb_remote_write_requests_total', { ...labels, code: '500' }), 1);
    assert.is(sampleValue(out, 'jvb_remote_write_requests_total', { ...labels, code: '200' }), 3);
    // Each refusal is logged once, with the status and the receiver's explanation; 401 says the credentials are wrong.
    const refusals = logs.filter((l) => l.includes('level=error'));
    assert.is(refusals.length, 2);
    assert.match(refusals[0]!, /HTTP 400.*out of order sample/);
    assert.match(refusals[1]!, /HTTP 401.*credentials are wrong/);
  } finally {
    await sender.stop(1000);
    await receiver.close();
  }
});

retries('429 is dropped, not retried, when retrying on 429 is disabled', async () => {
  const receiver = await scriptedReceiver((req, res) => res.writeHead(req.body === 'A' ? 429 : 204).end());
  const { sender } = makeSender(receiver.url, { retryOn429: false });
  try {
    await sender.enqueue([entry('A'), entry('B')]);
    await until(() => receiver.received.some((r) => r.body === 'B'));
    assert.equal(receiver.received.map((r) => r.body), ['A', 'B']);
  } finally {
    await sender.stop(1000);
    await receiver.close();
  }
});

retries('a receiver that never answers: the request is cut off at the timeout and retried, identical, and nothing newer overtakes it', async () => {
  let answer = false;
  const receiver = await scriptedReceiver((_req, res) => {
    if (answer) res.writeHead(200).end();
    // else: never answer; the sender's timeout must cut it off.
  });
  const { sender } = makeSender(receiver.url, { timeoutMs: 200 });
  try {
    await sender.enqueue([entry('first'), entry('second')]);
    await until(() => receiver.received.length >= 3);
    assert.ok(receiver.received.every((r) => r.body === 'first'), 'only the head is tried while it is undelivered');
    answer = true;
    await until(() => receiver.received.some((r) => r.body === 'second'));
    const bodies = receiver.received.map((r) => r.body);
    assert.is(bodies.indexOf('second'), bodies.length - 1);
    assert.ok(bodies.filter((b) => b === 'first').length >= 4);
  } finally {
    await sender.stop(1000);
    await receiver.close();
  }
});

retries('stop() gives up at the deadline and leaves undelivered requests queued', async () => {
  const receiver = await scriptedReceiver((_req, res) => res.writeHead(503).end());
  const { sender, logs } = makeSender(receiver.url);
  try {
    await sender.enqueue([entry('A'), entry('B')]);
    await until(() => receiver.received.length >= 1);
    const started = Date.now();
    await sender.stop(300);
    assert.ok(Date.now() - started < 5000, 'stop() returned');
    assert.ok(logs.some((l) => /stopped with requests not delivered" pending_requests=2/.test(l)));
  } finally {
    await receiver.close();
  }
});

retries.run();

const queue = suite('memory queue');
queue('past its bound it drops the oldest, never the newest, and counts them', async () => {
  const q = new MemoryRequestQueue(30);
  assert.equal(await q.append(entry('0123456789')), []);
  assert.equal(await q.append(entry('abcdefghij')), []);
  assert.equal(await q.append(entry('ABCDEFGHIJ')), []);
  const dropped = await q.append(entry('klmnopqrst'));
  assert.equal(dropped.map((d) => [d.entry.body.toString(), d.reason]), [['0123456789', 'queue_full']]);
  assert.is((await q.peek())!.body.toString(), 'abcdefghij');
  assert.is(q.pendingEntries, 3);
  assert.is(q.pendingBytes, 30);
  assert.is(q.pendingSamples, 30);
  await q.ack();
  assert.is((await q.peek())!.body.toString(), 'ABCDEFGHIJ');
});
queue('a thousand appends and acks keep FIFO order', async () => {
  const q = new MemoryRequestQueue(1 << 20);
  for (let i = 0; i < 3000; i++) await q.append(entry(String(i)));
  for (let i = 0; i < 3000; i++) {
    assert.is((await q.peek())!.body.toString(), String(i));
    await q.ack();
  }
  assert.is(await q.peek(), undefined);
  assert.is(q.pendingBytes, 0);
});
queue.run();
