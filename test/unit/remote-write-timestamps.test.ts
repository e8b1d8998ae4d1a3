// Sample timestamps in remote write (issue 17, 5.6), for both encoders: a
// sample that carries its own timestamp is sent with it, and only when a
// Prometheus 2.42 scrape would store it (scrape.go and tsdb/head_append.go of
// v2.42, default settings): not more than 10 minutes ahead of the poll, not
// older than one hour before the newest sample sent (the head's appendable
// window), never at or before the series' last sample unless it is that very
// sample again (then it is not sent twice), and without stale markers for the
// series that carry timestamps. The bytes are read with the independent
// decoder; the expected samples are worked out here from those rules.

import { Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import type { LabelledFamilies, MetricFamily } from '../../src/model/metric-family';
import { MemoryRequestQueue } from '../../src/sinks/queue/memory-request-queue';
import { createRemoteWriteMetrics } from '../../src/sinks/remote-write/remote-write-metrics';
import { RemoteWriteSink } from '../../src/sinks/remote-write/remote-write-sink';
import type { EncodedWriteRequest, RemoteWriteEncoder } from '../../src/sinks/remote-write/remote-write-encoder';
import { RemoteWrite1Encoder } from '../../src/sinks/remote-write/remote-write-encoder';
import { RemoteWrite2Encoder } from '../../src/sinks/remote-write/remote-write-2-encoder';
import { v2RequestToV1 } from '../../src/sinks/remote-write/v2-to-v1';
import { parseExposition } from '../../src/sources/native/parse-exposition';
import { decodeRemoteWrite2Body, decodeRemoteWriteBody, type DecodedLabel, type DecodedSample } from '../helpers/independent-remote-write-decoder';
import { parseExposition as parseText, sampleValue } from '../helpers/parse-exposition';
import { ScriptedReceiver, until } from '../helpers/scripted-receiver';

const P0 = 1_700_000_000_000;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const STALE = 'stale';
const STALE_HEX = '020000000000f07f';

type Refusal = { family: string; reason: string; samples: number };
type Encoder = RemoteWriteEncoder & { readonly refusals?: readonly Refusal[] };

const ENCODERS: ReadonlyArray<[string, () => Encoder]> = [
  ['1.0', () => new RemoteWrite1Encoder({ maxSamplesPerRequest: 2000, externalLabels: { job: 'j', instance: 'i' } })],
  ['2.0', () => new RemoteWrite2Encoder({ maxSamplesPerRequest: 2000, externalLabels: { job: 'j', instance: 'i' } })],
];

/** `name{a="1"}` (job and instance left out) of decoded labels. */
function seriesName(labels: readonly DecodedLabel[]): string {
  const name = labels.find((l) => l.name === '__name__')?.value ?? '';
  const rest = labels
    .filter((l) => l.name !== '__name__' && l.name !== 'job' && l.name !== 'instance')
    .map((l) => `${l.name}=${JSON.stringify(l.value)}`)
    .sort();
  return `${name}{${rest.join(',')}}`;
}

/** Every sample sent, in order: `name{labels} value@timestamp` (value `stale` for a stale marker). */
function sent(reqs: readonly EncodedWriteRequest[], version = '1.0'): string[] {
  const out: string[] = [];
  const add = (labels: readonly DecodedLabel[], samples: readonly DecodedSample[]) => {
    for (const s of samples) out.push(`${seriesName(labels)} ${s.valueHex === STALE_HEX ? STALE : s.value}@${s.timestamp}`);
  };
  for (const r of reqs) {
    if (r.kind !== 'samples') continue;
    const series = version === '2.0' ? decodeRemoteWrite2Body(r.body).timeseries : decodeRemoteWriteBody(r.body).timeseries;
    for (const ts of series) add(ts.labels, ts.samples);
  }
  return out;
}

type Sample = { labels?: Record<string, string>; value: number; timestampMs?: number };
const gauge = (name: string, series: Sample[]): MetricFamily => ({ name, help: '', unit: '', type: 'gauge', series: series.map((s) => ({ labels: {}, ...s })) });
const poll = (...families: MetricFamily[]): LabelledFamilies[] => [{ families, labels: {} }];
const at = (value: number, timestampMs?: number) => (timestampMs === undefined ? { value } : { value, timestampMs });

for (const [version, make] of ENCODERS) {
  test(`${version}: a sample with a timestamp is sent with it; one without gets the poll's`, () => {
    const enc = make();
    const reqs = enc.encodePoll(poll(gauge('a', [at(1, P0 - MINUTE)]), gauge('b', [at(2)])), P0);
    assert.equal(sent(reqs, version), [`a{} 1@${P0 - MINUTE}`, `b{} 2@${P0}`]);
    assert.equal(enc.refusals, []);
  });

  test(`${version}: each line of a histogram and a summary is sent with its own timestamp`, () => {
    const body = [
      '# TYPE h histogram',
      `h_bucket{le="1"} 1 ${P0 - 1}`,
      'h_bucket{le="+Inf"} 2',
      `h_sum 3 ${P0 - 3}`,
      'h_count 2',
      '# TYPE s summary',
      's{quantile="0.5"} 4',
      's_sum 5',
      `s_count 6 ${P0 - 6}`,
      '',
    ].join('\n');
    const parsed = parseExposition(body, 'text-0.0.4', { maxSamples: 100 });
    if (!parsed.ok) throw new Error(parsed.message);
    const reqs = make().encodePoll(poll(...parsed.families), P0);
    assert.equal(sent(reqs, version), [
      `h_bucket{le="1"} 1@${P0 - 1}`,
      `h_bucket{le="+Inf"} 2@${P0}`,
      `h_sum{} 3@${P0 - 3}`,
      `h_count{} 2@${P0}`,
      `s{quantile="0.5"} 4@${P0}`,
      `s_sum{} 5@${P0}`,
      `s_count{} 6@${P0 - 6}`,
    ]);
  });

  test(`${version}: the window: more than 10 minutes ahead or older than one hour before the poll is refused, per family and reason`, () => {
    const enc = make();
    const reqs = enc.encodePoll(
      poll(
        gauge('old', [
          { labels: { k: '1970' }, value: 1, timestampMs: 1000 },
          { labels: { k: '2h' }, value: 2, timestampMs: P0 - 2 * HOUR },
          { labels: { k: '61m' }, value: 3, timestampMs: P0 - 61 * MINUTE },
          { labels: { k: '1h' }, value: 4, timestampMs: P0 - HOUR },
          { labels: { k: '59m' }, value: 5, timestampMs: P0 - 59 * MINUTE },
        ]),
        gauge('ahead', [
          { labels: { k: '1h' }, value: 6, timestampMs: P0 + HOUR },
          { labels: { k: '10m1ms' }, value: 7, timestampMs: P0 + 10 * MINUTE + 1 },
          { labels: { k: '10m' }, value: 8, timestampMs: P0 + 10 * MINUTE },
        ]),
      ),
      P0,
    );
    assert.equal(sent(reqs, version), [`old{k="1h"} 4@${P0 - HOUR}`, `old{k="59m"} 5@${P0 - 59 * MINUTE}`, `ahead{k="10m"} 8@${P0 + 10 * MINUTE}`]);
    assert.equal(enc.refusals, [
      { family: 'old', reason: 'timestamp_too_old', samples: 3 },
      { family: 'ahead', reason: 'timestamp_too_far_ahead', samples: 2 },
    ]);
    assert.is(
      reqs.reduce((n, r) => n + r.samples, 0),
      3,
      'a request counts the samples it holds',
    );
    assert.is(Math.max(...reqs.map((r) => r.maxTimestampMs)), P0 + 10 * MINUTE, 'the newest sample inside');
  });

  test(`${version}: an accepted sample ahead of the poll moves the window of the next polls, as it moves the head's newest time`, () => {
    const enc = make();
    assert.equal(sent(enc.encodePoll(poll(gauge('ahead', [at(1, P0 + 9 * MINUTE)])), P0), version), [`ahead{} 1@${P0 + 9 * MINUTE}`]);
    const reqs = enc.encodePoll(
      poll(gauge('ahead', [at(1, P0 + 9 * MINUTE)]), gauge('x', [{ labels: { k: '55m' }, value: 2, timestampMs: P0 - 55 * MINUTE }, { labels: { k: '50m' }, value: 3, timestampMs: P0 - 50 * MINUTE }])),
      P0 + 15 * SECOND,
    );
    assert.equal(sent(reqs, version), [`x{k="50m"} 3@${P0 - 50 * MINUTE}`]);
    assert.equal(enc.refusals, [{ family: 'x', reason: 'timestamp_too_old', samples: 1 }]);
  });

  test(`${version}: the same sample again is not sent twice; the same timestamp with another value, or an older one, is refused`, () => {
    const enc = make();
    const first = poll(gauge('same', [at(1, P0 - 30 * SECOND)]), gauge('dup', [at(2, P0 - 30 * SECOND)]), gauge('back', [at(3, P0 - 20 * SECOND)]), gauge('fwd', [at(4, P0 - 20 * SECOND)]));
    assert.equal(sent(enc.encodePoll(first, P0), version), [`same{} 1@${P0 - 30 * SECOND}`, `dup{} 2@${P0 - 30 * SECOND}`, `back{} 3@${P0 - 20 * SECOND}`, `fwd{} 4@${P0 - 20 * SECOND}`]);
    const second = poll(gauge('same', [at(1, P0 - 30 * SECOND)]), gauge('dup', [at(9, P0 - 30 * SECOND)]), gauge('back', [at(3, P0 - 40 * SECOND)]), gauge('fwd', [at(5, P0 - 10 * SECOND)]));
    assert.equal(sent(enc.encodePoll(second, P0 + 15 * SECOND), version), [`fwd{} 5@${P0 - 10 * SECOND}`]);
    assert.equal(enc.refusals, [
      { family: 'dup', reason: 'timestamp_duplicate', samples: 1 },
      { family: 'back', reason: 'timestamp_out_of_order', samples: 1 },
    ]);
    // A NaN is the same NaN again (Prometheus compares the bits).
    const nan = make();
    nan.encodePoll(poll(gauge('n', [at(NaN, P0 - SECOND)])), P0);
    assert.equal(sent(nan.encodePoll(poll(gauge('n', [at(NaN, P0 - SECOND)])), P0 + 15 * SECOND), version), []);
    assert.equal(nan.refusals, []);
  });

  test(`${version}: no stale marker for a series that carried a timestamp; one for a series stamped with the poll's time`, () => {
    const enc = make();
    enc.encodePoll(poll(gauge('stamped', [at(1, P0 - SECOND)]), gauge('plain', [at(2)]), gauge('kept', [at(3)])), P0);
    assert.equal(sent(enc.encodePoll(poll(gauge('kept', [at(3)])), P0 + 15 * SECOND), version), [`kept{} 3@${P0 + 15 * SECOND}`, `plain{} ${STALE}@${P0 + 15 * SECOND}`]);
    // The target retired (or its poll failed): again only the series without timestamps end.
    const retired = make();
    retired.encodePoll(poll(gauge('stamped', [at(1, P0 - SECOND)]), gauge('plain', [at(2)])), P0);
    assert.equal(sent(retired.encodePoll([], P0 + 15 * SECOND), version), [`plain{} ${STALE}@${P0 + 15 * SECOND}`]);
  });

  test(`${version}: a series that gains a timestamp gets the stale marker Prometheus writes, unless its new sample is newer than the poll`, () => {
    const enc = make();
    enc.encodePoll(poll(gauge('older', [at(1)]), gauge('newer', [at(2)])), P0);
    const P1 = P0 + 15 * SECOND;
    // `older`: its sample (before the last poll's) is out of order, and the series ends at this poll;
    // `newer`: its sample is after this poll, so the stale marker would be out of order.
    const reqs = enc.encodePoll(poll(gauge('older', [at(3, P0 - 5 * SECOND)]), gauge('newer', [at(4, P1 + 2 * MINUTE)])), P1);
    assert.equal(sent(reqs, version), [`newer{} 4@${P1 + 2 * MINUTE}`, `older{} ${STALE}@${P1}`]);
    assert.equal(enc.refusals, [{ family: 'older', reason: 'timestamp_out_of_order', samples: 1 }]);
    // Back without a timestamp, before `newer`'s sample: out of order; `older` starts again.
    const P2 = P1 + 15 * SECOND;
    assert.equal(sent(enc.encodePoll(poll(gauge('older', [at(5)]), gauge('newer', [at(6)])), P2), version), [`older{} 5@${P2}`]);
    assert.equal(enc.refusals, [{ family: 'newer', reason: 'timestamp_out_of_order', samples: 1 }]);
  });

  test(`${version}: a series with a timestamp that is gone for a poll and comes back is still known: its last sample is not sent again`, () => {
    const enc = make();
    const T = P0 - 15 * SECOND;
    enc.encodePoll(poll(gauge('back', [at(1, T)]), gauge('again', [at(2, T)]), gauge('other', [at(0)])), P0);
    assert.equal(sent(enc.encodePoll(poll(gauge('other', [at(0)])), P0 + 15 * SECOND), version), [`other{} 0@${P0 + 15 * SECOND}`]);
    const reqs = enc.encodePoll(poll(gauge('back', [at(9, T)]), gauge('again', [at(2, T)]), gauge('other', [at(0)])), P0 + 30 * SECOND);
    assert.equal(sent(reqs, version), [`other{} 0@${P0 + 30 * SECOND}`]);
    assert.equal(enc.refusals, [{ family: 'back', reason: 'timestamp_duplicate', samples: 1 }]);
  });

  test(`${version}: a series that ended with a stale marker and comes back with a timestamp at or before it is refused`, () => {
    const enc = make();
    enc.encodePoll(poll(gauge('g', [at(1)]), gauge('other', [at(0)])), P0);
    enc.encodePoll(poll(gauge('other', [at(0)])), P0 + 15 * SECOND); // g: stale marker at P0 + 15 s
    const reqs = enc.encodePoll(poll(gauge('g', [at(2, P0 + 10 * SECOND)]), gauge('other', [at(0)])), P0 + 30 * SECOND);
    assert.equal(sent(reqs, version), [`other{} 0@${P0 + 30 * SECOND}`]);
    assert.equal(enc.refusals, [{ family: 'g', reason: 'timestamp_out_of_order', samples: 1 }]);
  });

  test(`${version}: the same family objects with values and timestamps written in place (as the reparser keeps them)`, () => {
    const enc = make();
    const list: Array<{ labels: Record<string, string>; value: number; timestampMs?: number }> = [
      { labels: { k: '1' }, value: 1, timestampMs: P0 - 2 * SECOND },
      { labels: { k: '2' }, value: 2 },
    ];
    const fams = poll({ name: 'g', help: '', unit: '', type: 'gauge', series: list });
    assert.equal(sent(enc.encodePoll(fams, P0), version), [`g{k="1"} 1@${P0 - 2 * SECOND}`, `g{k="2"} 2@${P0}`]);
    list[0]!.value = 5;
    list[0]!.timestampMs = P0 + 13 * SECOND;
    list[1]!.value = 6;
    assert.equal(sent(enc.encodePoll(fams, P0 + 15 * SECOND), version), [`g{k="1"} 5@${P0 + 13 * SECOND}`, `g{k="2"} 6@${P0 + 15 * SECOND}`]);
    list[0]!.value = 7; // the same timestamp with another value
    list[1]!.value = 8;
    assert.equal(sent(enc.encodePoll(fams, P0 + 30 * SECOND), version), [`g{k="2"} 8@${P0 + 30 * SECOND}`]);
    assert.equal(enc.refusals, [{ family: 'g', reason: 'timestamp_duplicate', samples: 1 }]);
  });
}

test('2.0 fallback: a queued 2.0 body re-encoded as 1.0 keeps each sample its own timestamp', () => {
  const reqs = new RemoteWrite2Encoder({ maxSamplesPerRequest: 2000 }).encodePoll(poll(gauge('a', [at(1, P0 - MINUTE)]), gauge('b', [at(2)])), P0);
  const v1 = reqs.map((r) => ({ ...r, body: v2RequestToV1(r.body) }));
  assert.equal(sent(v1), [`a{} 1@${P0 - MINUTE}`, `b{} 2@${P0}`]);
});

test('the sink: refusals counted by reason in jvb_remote_write_samples_dropped_total, logged per family when they start and when they stop', async () => {
  const receiver = await new ScriptedReceiver().start();
  receiver.answer = () => ({ status: 204 });
  const registry = new Registry();
  const lines: string[] = [];
  const metrics = createRemoteWriteMetrics(registry);
  const sink = new RemoteWriteSink(
    {
      name: 'r',
      http: { url: `${receiver.url}/api/v1/write`, timeoutMs: 2000, headers: {}, tls: { insecureSkipVerify: false } },
      urlSetting: '--remote-write.url',
      maxSamplesPerRequest: 2000,
      retryOn429: true,
      minBackoffMs: 20,
      maxBackoffMs: 50,
      protobufMessage: 'prometheus.WriteRequest',
      protobufMessageSetting: '--remote-write.protobuf-message',
      onAuthError: 'hold',
      credentialSettings: [],
    },
    new MemoryRequestQueue(1 << 20),
    metrics,
    createLogger({ level: 'info', format: 'logfmt', write: (line) => lines.push(line) }),
  );
  const dropped = async (reason: string) => sampleValue(parseText(await registry.metrics()), 'jvb_remote_write_samples_dropped_total', { remote_name: 'r', reason });
  const unit = (families: MetricFamily[], timestampMs: number) => ({
    key: 'b1',
    job: 'jvb',
    instance: 'b1',
    timestampMs,
    families: async () => poll(...families),
    text: async () => '',
  });
  try {
    assert.is(await dropped('timestamp_too_old'), 0, 'every reason exists at 0 from the start');
    const old = gauge('old', [{ labels: { k: '1' }, value: 1, timestampMs: P0 - 2 * HOUR }, { labels: { k: '2' }, value: 2, timestampMs: P0 - 3 * HOUR }]);
    await sink.afterPoll(unit([old, gauge('ahead', [at(3, P0 + HOUR)]), gauge('ok', [at(4)])], P0));
    await sink.afterPoll(unit([old, gauge('ok', [at(4)])], P0 + 15 * SECOND));
    assert.is(await dropped('timestamp_too_old'), 4);
    assert.is(await dropped('timestamp_too_far_ahead'), 1);
    const warnings = lines.filter((line) => line.includes('level=warn') && line.includes('timestamp'));
    assert.is(warnings.length, 1, lines.join('\n'));
    assert.match(warnings[0]!, /families=old:timestamp_too_old:2,ahead:timestamp_too_far_ahead:1/);
    assert.match(warnings[0]!, /refused_samples=3/);
    assert.match(warnings[0]!, /target=b1/);
    await sink.afterPoll(unit([gauge('ok', [at(4)])], P0 + 30 * SECOND));
    assert.ok(lines.some((line) => line.includes('level=info') && line.includes('no more samples left out for their timestamps') && /refused_samples=5/.test(line)), lines.join('\n'));
    await until('the ok samples delivered', async () => (await sampleValue(parseText(await registry.metrics()), 'jvb_remote_write_samples_total', { remote_name: 'r' })) === 3);
  } finally {
    await sink.stop(1000);
    await receiver.stop();
  }
});

test.run();
