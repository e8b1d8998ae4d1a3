// Remote-write 2.0 encoding (io.prometheus.write.v2.Request): symbols, label
// refs, metadata in every series, classic histograms and summaries, stale
// markers, and the 1.0 re-encoding of a 2.0 body for a receiver that does
// not read 2.0. Checked with the independent decoder
// (test/helpers/independent-remote-write-decoder.ts) and with protobufjs
// reading Prometheus' own proto file; expected values are written here by hand.

import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Root } from 'protobufjs';
import type { LabelledFamilies, MetricFamily } from '../../src/model/metric-family';
import { RemoteWrite2Encoder } from '../../src/sinks/remote-write/remote-write-2-encoder';
import { RemoteWrite1Encoder } from '../../src/sinks/remote-write/remote-write-encoder';
import { REMOTE_WRITE_2_HEADERS, ignoredV2, writtenCounts } from '../../src/sinks/remote-write/protobuf-message';
import { isV2RequestBody, v2RequestToV1 } from '../../src/sinks/remote-write/v2-to-v1';
import { decodeRemoteWrite2Body, decodeRemoteWriteBody, labelValue, seriesId, snappyBlockDecompress } from '../helpers/independent-remote-write-decoder';
import type { HttpOutcome } from '../../src/http/http-transport';

const T0 = 1_700_000_000_123;
const STALE_HEX = '020000000000f07f';
const NORMAL_NAN_HEX = '010000000000f87f';
const EXTERNAL = { job: 'jvb', instance: 'b1' };

const gauge = (name: string, help: string, series: Array<[Record<string, string>, number]>): MetricFamily => ({
  name,
  help,
  unit: '',
  type: 'gauge',
  series: series.map(([labels, value]) => ({ labels, value })),
});
const poll = (...families: MetricFamily[]): LabelledFamilies[] => [{ families, labels: {} }];
const encoder = (max = 2000) => new RemoteWrite2Encoder({ maxSamplesPerRequest: max, externalLabels: EXTERNAL });

test('one gauge: symbols start with "" and hold each string once; refs name __name__, instance, job in that order; metadata type GAUGE and help', () => {
  const reqs = encoder().encodePoll(poll(gauge('jvb_conferences', 'Conferences', [[{}, 3]])), T0);
  assert.is(reqs.length, 1);
  assert.is(reqs[0]!.samples, 1);
  assert.is(reqs[0]!.kind, 'samples');
  const req = decodeRemoteWrite2Body(reqs[0]!.body);
  assert.equal(req.unknownFields, []);
  assert.equal(req.symbols, ['', '__name__', 'jvb_conferences', 'instance', 'b1', 'job', 'jvb', 'Conferences']);
  assert.is(req.timeseries.length, 1);
  const ts = req.timeseries[0]!;
  assert.equal(ts.labelsRefs, [1, 2, 3, 4, 5, 6]);
  assert.equal(ts.metadata, { type: 2, helpRef: 7, unitRef: 0 });
  assert.is(ts.samples.length, 1);
  assert.is(ts.samples[0]!.value, 3);
  assert.is(ts.samples[0]!.timestamp, T0);
});

test("Prometheus' own proto file (read by protobufjs) reads the same request: field numbers agree", () => {
  const root = new Root().loadSync(path.join(__dirname, '../../proto/io/prometheus/write/v2/types.proto'));
  const Request = root.lookupType('io.prometheus.write.v2.Request');
  const body = encoder().encodePoll(poll(gauge('jvb_conferences', 'Conferences', [[{ region: 'eu' }, 3]])), T0)[0]!.body;
  const decoded = Request.toObject(Request.decode(snappyBlockDecompress(body).data), { longs: Number, enums: Number, defaults: true }) as {
    symbols: string[];
    timeseries: Array<{ labelsRefs: number[]; samples: Array<{ value: number; timestamp: number }>; metadata: { type: number; helpRef: number; unitRef: number } }>;
  };
  assert.equal(decoded.symbols, ['', '__name__', 'jvb_conferences', 'instance', 'b1', 'job', 'jvb', 'region', 'eu', 'Conferences']);
  assert.equal(decoded.timeseries[0]!.labelsRefs, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(decoded.timeseries[0]!.samples, [{ value: 3, timestamp: T0, startTimestamp: 0 }]);
  assert.equal(decoded.timeseries[0]!.metadata, { type: 2, helpRef: 9, unitRef: 0 });
});

test('a classic histogram: its _bucket (le as written), _sum and _count series, each with metadata HISTOGRAM, help and unit', () => {
  const histogram: MetricFamily = {
    name: 'jvb_rtt_seconds',
    help: 'Round trip time',
    unit: 'seconds',
    type: 'histogram',
    series: [{ labels: {}, buckets: [{ le: '0.1', count: 1 }, { le: '+Inf', count: 2 }], sum: 0.3, count: 2 }],
  };
  const req = decodeRemoteWrite2Body(encoder().encodePoll(poll(histogram), T0)[0]!.body);
  const got = req.timeseries.map((ts) => [seriesId(ts.labels), ts.samples[0]!.value, ts.metadata?.type, ts.help, ts.unit]);
  assert.equal(got, [
    ['__name__="jvb_rtt_seconds_bucket",instance="b1",job="jvb",le="0.1"', 1, 3, 'Round trip time', 'seconds'],
    ['__name__="jvb_rtt_seconds_bucket",instance="b1",job="jvb",le="+Inf"', 2, 3, 'Round trip time', 'seconds'],
    ['__name__="jvb_rtt_seconds_sum",instance="b1",job="jvb"', 0.3, 3, 'Round trip time', 'seconds'],
    ['__name__="jvb_rtt_seconds_count",instance="b1",job="jvb"', 2, 3, 'Round trip time', 'seconds'],
  ]);
  // Each string once: help and unit are shared by the four series.
  assert.is(req.symbols.filter((s) => s === 'Round trip time').length, 1);
  assert.is(req.symbols.filter((s) => s === 'seconds').length, 1);
  assert.is(req.symbols[0], '');
});

test('a summary: quantile, _sum and _count series with metadata SUMMARY; a counter COUNTER; an untyped family no type', () => {
  const summary: MetricFamily = { name: 'jvb_delay', help: 'Delay', unit: '', type: 'summary', series: [{ labels: {}, quantiles: [{ quantile: '0.5', value: 7 }], sum: 14, count: 2 }] };
  const counter: MetricFamily = { name: 'jvb_packets_total', help: 'Packets', unit: '', type: 'counter', series: [{ labels: {}, value: 9 }] };
  const untyped: MetricFamily = { name: 'jvb_thing', help: '', unit: '', type: 'untyped', series: [{ labels: {}, value: 1 }] };
  const req = decodeRemoteWrite2Body(encoder().encodePoll(poll(summary, counter, untyped), T0)[0]!.body);
  const byName = (name: string) => req.timeseries.find((ts) => labelValue(ts.labels, '__name__') === name)!;
  assert.is(labelValue(byName('jvb_delay').labels, 'quantile'), '0.5');
  assert.equal(byName('jvb_delay').metadata, { type: 5, helpRef: req.symbols.indexOf('Delay'), unitRef: 0 });
  assert.is(byName('jvb_delay_sum').metadata!.type, 5);
  assert.is(byName('jvb_delay_count').samples[0]!.value, 2);
  assert.is(byName('jvb_packets_total').metadata!.type, 1);
  assert.is(byName('jvb_thing').metadata, undefined); // nothing to say: the field is left out
  assert.is(req.timeseries.length, 5);
});

test('stale markers: a vanished series gets exactly 0x7ff0000000000002 with its labels and metadata; a NaN value is the normal NaN', () => {
  const enc = encoder();
  enc.encodePoll(poll(gauge('jvb_a', 'A', [[{ x: '1' }, 1], [{ x: '2' }, 2]])), T0);
  const reqs = enc.encodePoll(poll(gauge('jvb_a', 'A', [[{ x: '1' }, NaN]])), T0 + 5000);
  const req = decodeRemoteWrite2Body(reqs[0]!.body);
  assert.is(reqs[0]!.samples, 2);
  const live = req.timeseries.find((ts) => labelValue(ts.labels, 'x') === '1')!;
  const stale = req.timeseries.find((ts) => labelValue(ts.labels, 'x') === '2')!;
  assert.is(live.samples[0]!.valueHex, NORMAL_NAN_HEX);
  assert.is(stale.samples[0]!.valueHex, STALE_HEX);
  assert.is(stale.samples[0]!.timestamp, T0 + 5000);
  assert.is(stale.help, 'A');
  assert.is(stale.metadata!.type, 2);
  // The next poll: the stale series is gone for good.
  const after = decodeRemoteWrite2Body(enc.encodePoll(poll(gauge('jvb_a', 'A', [[{ x: '1' }, 4]])), T0 + 10_000)[0]!.body);
  assert.equal(after.timeseries.map((ts) => labelValue(ts.labels, 'x')), ['1']);
  // Ending the target: every series it had, stale.
  const end = decodeRemoteWrite2Body(enc.encodePoll([], T0 + 15_000)[0]!.body);
  assert.equal(end.timeseries.map((ts) => ts.samples[0]!.valueHex), [STALE_HEX]);
});

test('a second poll with the same series rewrites values and timestamps (reused bytes), and a changed series set makes new symbols', () => {
  const enc = encoder();
  enc.encodePoll(poll(gauge('jvb_a', 'A', [[{}, 1]])), T0);
  const second = decodeRemoteWrite2Body(enc.encodePoll(poll(gauge('jvb_a', 'A', [[{}, 2.5]])), T0 + 1)[0]!.body);
  assert.equal([second.timeseries[0]!.samples[0]!.value, second.timeseries[0]!.samples[0]!.timestamp], [2.5, T0 + 1]);
  const third = decodeRemoteWrite2Body(enc.encodePoll(poll(gauge('jvb_a', 'A', [[{}, 3]]), gauge('jvb_b', 'B', [[{}, 4]])), T0 + 2)[0]!.body);
  assert.equal(third.symbols, ['', '__name__', 'jvb_a', 'instance', 'b1', 'job', 'jvb', 'A', 'jvb_b', 'B']);
  assert.equal(third.timeseries.map((ts) => ts.samples[0]!.value), [3, 4]);
});

test('requests are cut at maxSamplesPerRequest, each with its own symbol table starting with ""', () => {
  const reqs = encoder(2).encodePoll(poll(gauge('jvb_a', 'A', [[{ x: '1' }, 1], [{ x: '2' }, 2], [{ x: '3' }, 3]])), T0);
  assert.equal(reqs.map((r) => r.samples), [2, 1]);
  const second = decodeRemoteWrite2Body(reqs[1]!.body);
  assert.equal(second.symbols, ['', '__name__', 'jvb_a', 'instance', 'b1', 'job', 'jvb', 'x', '3', 'A']);
});

test('the same poll as 1.0 and as 2.0 carries the same series and value bytes', () => {
  const families = poll(gauge('jvb_a', 'A', [[{ x: '1' }, 1], [{ x: 'ü' }, -0.5]]));
  const v1 = decodeRemoteWriteBody(new RemoteWrite1Encoder({ maxSamplesPerRequest: 2000, externalLabels: EXTERNAL }).encodePoll(families, T0).find((r) => r.kind === 'samples')!.body);
  const v2 = decodeRemoteWrite2Body(encoder().encodePoll(families, T0)[0]!.body);
  assert.equal(
    v2.timeseries.map((ts) => [seriesId(ts.labels), ts.samples[0]!.sampleHex]),
    v1.timeseries.map((ts) => [seriesId(ts.labels), ts.samples[0]!.sampleHex]),
  );
});

test('headers of 2.0 exactly: no space before proto=, version 2.0.0', () => {
  assert.equal(REMOTE_WRITE_2_HEADERS, {
    'Content-Encoding': 'snappy',
    'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
    'X-Prometheus-Remote-Write-Version': '2.0.0',
  });
});

test('the answer: written counts read from the headers; a 2xx without them, or 415, is a receiver that ignored 2.0', () => {
  const answer = (status: number, headers: Record<string, string> = {}): HttpOutcome => ({ kind: 'response', status, headers, bodyPreview: '', durationMs: 1 });
  const counted = { 'x-prometheus-remote-write-samples-written': '7', 'x-prometheus-remote-write-histograms-written': '0', 'x-prometheus-remote-write-exemplars-written': '0' };
  assert.equal(writtenCounts(answer(204, counted)), { samples: 7, histograms: 0, exemplars: 0 });
  assert.is(writtenCounts(answer(204)), undefined);
  assert.ok(ignoredV2(answer(204)));
  assert.ok(ignoredV2(answer(200)));
  assert.ok(ignoredV2(answer(415)));
  assert.not.ok(ignoredV2(answer(204, counted)));
  assert.not.ok(ignoredV2(answer(400, counted)));
  assert.not.ok(ignoredV2(answer(400)));
  assert.not.ok(ignoredV2(answer(503)));
  assert.not.ok(ignoredV2({ kind: 'network-error', code: 'ECONNREFUSED', message: 'refused', durationMs: 1 }));
});

test('a 2.0 body re-encoded as 1.0: the same labels, the sample bytes unchanged (stale marker too), one metadata entry per family', () => {
  const enc = encoder();
  const histogram: MetricFamily = {
    name: 'jvb_rtt_seconds',
    help: 'Round trip time',
    unit: 'seconds',
    type: 'histogram',
    series: [{ labels: {}, buckets: [{ le: '+Inf', count: 2 }], sum: 0.3, count: 2 }],
  };
  enc.encodePoll(poll(gauge('jvb_a', 'A', [[{ x: '1' }, 1], [{ x: '2' }, 2]]), histogram), T0);
  const v2Body = enc.encodePoll(poll(gauge('jvb_a', 'A', [[{ x: '1' }, 5]]), histogram), T0 + 1)[0]!.body;
  assert.ok(isV2RequestBody(v2Body));
  const v1Body = v2RequestToV1(v2Body);
  assert.not.ok(isV2RequestBody(v1Body));
  const v1 = decodeRemoteWriteBody(v1Body);
  assert.equal(v1.unknownFields, []);
  assert.equal(
    v1.timeseries.map((ts) => [seriesId(ts.labels), ts.samples[0]!.valueHex.slice(0, 16), ts.samples[0]!.timestamp]),
    [
      ['__name__="jvb_a",instance="b1",job="jvb",x="1"', '0000000000001440', T0 + 1],
      ['__name__="jvb_rtt_seconds_bucket",instance="b1",job="jvb",le="+Inf"', '0000000000000040', T0 + 1],
      ['__name__="jvb_rtt_seconds_sum",instance="b1",job="jvb"', '333333333333d33f', T0 + 1],
      ['__name__="jvb_rtt_seconds_count",instance="b1",job="jvb"', '0000000000000040', T0 + 1],
      ['__name__="jvb_a",instance="b1",job="jvb",x="2"', STALE_HEX, T0 + 1],
    ],
  );
  assert.equal(v1.metadata, [
    { type: 2, metricFamilyName: 'jvb_a', help: 'A', unit: '' },
    { type: 3, metricFamilyName: 'jvb_rtt_seconds', help: 'Round trip time', unit: 'seconds' },
  ]);
});

test.run();
