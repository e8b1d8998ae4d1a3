// Remote-write 2.0 answers and the fallback to 1.0, against a scripted
// receiver: what a 2.0 receiver says it wrote is what counts; a 2xx without
// the written headers, or 415, is a receiver that did not read 2.0, and the
// same data goes again as 1.0 (also when it was queued on disk before a
// restart). Expected values are written here by hand.

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { createHttpTransport } from '../../src/http/http-transport';
import { MemoryRequestQueue } from '../../src/sinks/queue/memory-request-queue';
import { DiskRequestQueue } from '../../src/sinks/queue/disk-request-queue';
import type { RequestQueue } from '../../src/sinks/queue/request-queue';
import { createRemoteWriteMetrics } from '../../src/sinks/remote-write/remote-write-metrics';
import { RemoteWriteSender } from '../../src/sinks/remote-write/remote-write-sender';
import { RemoteWrite2Encoder } from '../../src/sinks/remote-write/remote-write-2-encoder';
import type { ProtobufMessage } from '../../src/sinks/remote-write/remote-write-options';
import type { MetricFamily } from '../../src/model/metric-family';
import { ScriptedReceiver, until, type ReceivedRequest, type ScriptedAnswer } from '../helpers/scripted-receiver';
import { decodeRemoteWrite2Body, decodeRemoteWriteBody, seriesId } from '../helpers/independent-remote-write-decoder';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';

const T0 = 1_700_000_000_000;
const V2_TYPE = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
const V1 = 'prometheus.WriteRequest';
const V2 = 'io.prometheus.write.v2.Request';

/** Three gauge samples of one poll, as 2.0 entries. */
function v2Entries(ts = T0, values = [1, 2, 3]) {
  const family: MetricFamily = { name: 'jvb_a', help: 'A', unit: '', type: 'gauge', series: values.map((value, i) => ({ labels: { x: String(i) }, value })) };
  return new RemoteWrite2Encoder({ maxSamplesPerRequest: 2000, externalLabels: { job: 'jvb', instance: 'b1' } }).encodePoll([{ families: [family], labels: {} }], ts);
}

const isV2 = (r: ReceivedRequest) => r.headers['content-type'] === V2_TYPE;
const written = (n: number): Record<string, string> => ({
  'X-Prometheus-Remote-Write-Samples-Written': String(n),
  'X-Prometheus-Remote-Write-Histograms-Written': '0',
  'X-Prometheus-Remote-Write-Exemplars-Written': '0',
});

function makeSender(url: string, message: ProtobufMessage, queue: RequestQueue = new MemoryRequestQueue(1 << 20)) {
  const registry = new Registry();
  const logs: string[] = [];
  const sender = new RemoteWriteSender({
    urlSetting: '--remote-write.url',
    name: 'r',
    displayUrl: url,
    transport: createHttpTransport({ url, timeoutMs: 2000, headers: {}, tls: { insecureSkipVerify: false } }, 'jvb-prometheus-adapter/test'),
    queue,
    metrics: createRemoteWriteMetrics(registry),
    retry: { minBackoffMs: 20, maxBackoffMs: 50, retryOn429: true },
    log: createLogger({ level: 'info', format: 'logfmt', write: (line) => logs.push(line) }),
    protobufMessage: message,
    protobufMessageSetting: 'remote_write[0].protobuf-message',
  });
  sender.start();
  const metric = async (name: string, labels: Record<string, string> = {}) => sampleValue(parseExposition(await registry.metrics()), name, { remote_name: 'r', ...labels });
  return { sender, logs, metric };
}

async function withReceiver(answer: (req: ReceivedRequest, index: number) => ScriptedAnswer, body: (receiver: ScriptedReceiver) => Promise<void>): Promise<void> {
  const receiver = await new ScriptedReceiver().start();
  receiver.answer = answer;
  try {
    await body(receiver);
  } finally {
    await receiver.stop();
  }
}

for (const [what, ignore] of [
  ['204 without the written headers (Prometheus 2.x, VictoriaMetrics)', { status: 204 }],
  ['415 Unsupported Media Type', { status: 415, body: 'unsupported' }],
] as const) {
  test(`2.0 answered ${what}: never counted, sent again as 1.0, the destination stays on 1.0, logged once`, async () => {
    await withReceiver(
      (req) => (isV2(req) ? ignore : { status: 204 }),
      async (receiver) => {
        const { sender, logs, metric } = makeSender(receiver.url, V2);
        try {
          assert.is(await metric('jvb_remote_write_protobuf_message', { message: V2 }), 1);
          await sender.enqueue(v2Entries(T0));
          await until('the 1.0 copy counted', async () => (await metric('jvb_remote_write_samples_total')) === 3);
          await sender.enqueue(v2Entries(T0 + 1000, [4, 5, 6]));
          await until('the second poll counted', async () => (await metric('jvb_remote_write_samples_total')) === 6);
          // One 2.0 attempt, then everything as 1.0.
          assert.equal(receiver.received.map(isV2), [true, false, false]);
          const [first, resent, second] = receiver.received;
          assert.is(resent!.headers['content-type'], 'application/x-protobuf');
          assert.is(resent!.headers['x-prometheus-remote-write-version'], '0.1.0');
          assert.is(first!.headers['x-prometheus-remote-write-version'], '2.0.0');
          const expected = ['0', '1', '2'].map((x) => `__name__="jvb_a",instance="b1",job="jvb",x="${x}"`);
          assert.equal(decodeRemoteWrite2Body(first!.body).timeseries.map((ts) => seriesId(ts.labels)), expected);
          const v1 = decodeRemoteWriteBody(resent!.body);
          assert.equal(v1.timeseries.map((ts) => [seriesId(ts.labels), ts.samples[0]!.value, ts.samples[0]!.timestamp]), expected.map((id, i) => [id, i + 1, T0]));
          assert.equal(decodeRemoteWriteBody(second!.body).timeseries.map((ts) => ts.samples[0]!.value), [4, 5, 6]);
          assert.is(await metric('jvb_remote_write_protobuf_message', { message: V1 }), 1);
          assert.is(await metric('jvb_remote_write_protobuf_message', { message: V2 }), 0);
          assert.is(await metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' }), 0);
          const warned = logs.filter((l) => l.includes('does not read remote-write 2.0'));
          assert.is(warned.length, 1, logs.join('\n'));
          assert.match(warned[0]!, /remote_write\[0\]\.protobuf-message/);
          assert.match(warned[0]!, new RegExp(`receiver ${receiver.url.replace(/[.]/g, '\\.')}`));
          assert.is(sender.protobufMessage, V1);
        } finally {
          await sender.stop(1000);
        }
      },
    );
  });
}

test('a 2.0 receiver: what it says it wrote counts; a 2xx that wrote fewer, and a 400 with partial writes, count the rest as refused', async () => {
  const answers: ScriptedAnswer[] = [
    { status: 204, headers: written(3) },
    { status: 204, headers: written(2) },
    { status: 400, headers: written(1), body: 'out of order sample' },
  ];
  await withReceiver(
    (_req, i) => answers[i] ?? { status: 500 },
    async (receiver) => {
      const { sender, metric } = makeSender(receiver.url, V2);
      try {
        await sender.enqueue([...v2Entries(T0), ...v2Entries(T0 + 1000), ...v2Entries(T0 + 2000)]);
        await until('three answers counted', async () => (await metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' })) === 3);
        assert.is(await metric('jvb_remote_write_samples_total'), 3 + 2 + 1);
        assert.ok(receiver.received.every(isV2));
        assert.is(receiver.received.length, 3);
        assert.is(await metric('jvb_remote_write_protobuf_message', { message: V2 }), 1);
      } finally {
        await sender.stop(1000);
      }
    },
  );
});

test('2.0 requests queued on disk before a restart reach a 1.0-only receiver after it, as 1.0, none lost', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rw2-restart-'));
  const open = () => DiskRequestQueue.open({ dir, maxBytes: 1 << 20, maxAgeMs: Infinity, availableBytes: async () => undefined });
  try {
    // The run before: two polls queued as 2.0, the receiver unreachable, then the agent stopped.
    const before = await open();
    for (const entry of [...v2Entries(T0), ...v2Entries(T0 + 1000, [7, 8, 9])]) await before.append(entry);
    await before.close();
    await withReceiver(
      () => ({ status: 204 }),
      async (receiver) => {
        const { sender, metric } = makeSender(receiver.url, V2, await open());
        try {
          await until('the backlog counted', async () => (await metric('jvb_remote_write_samples_total')) === 6);
          const v1 = receiver.received.filter((r) => !isV2(r)).flatMap((r) => decodeRemoteWriteBody(r.body).timeseries);
          assert.equal(v1.map((ts) => [ts.samples[0]!.value, ts.samples[0]!.timestamp]), [[1, T0], [2, T0], [3, T0], [7, T0 + 1000], [8, T0 + 1000], [9, T0 + 1000]]);
          assert.is(receiver.received.filter(isV2).length, 1);
        } finally {
          await sender.stop(1000);
        }
      },
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a destination configured for 1.0 sends queued 2.0 bodies as 1.0 without trying 2.0', async () => {
  await withReceiver(
    () => ({ status: 204 }),
    async (receiver) => {
      const { sender, metric, logs } = makeSender(receiver.url, V1);
      try {
        await sender.enqueue(v2Entries(T0));
        await until('counted', async () => (await metric('jvb_remote_write_samples_total')) === 3);
        assert.equal(receiver.received.map(isV2), [false]);
        assert.is(decodeRemoteWriteBody(receiver.received[0]!.body).timeseries.length, 3);
        assert.not.ok(logs.some((l) => l.includes('does not read remote-write 2.0')));
      } finally {
        await sender.stop(1000);
      }
    },
  );
});

test.run();
