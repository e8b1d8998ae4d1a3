// Remote-write 1.0 encoding: labels, histograms, stale markers, splitting,
// metadata and timestamps, checked on the bytes with an independent decoder
// (test/helpers/independent-remote-write-decoder.ts). Expected values are
// computed here from the inputs, never from the encoder's output.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { compress, uncompress } from 'snappyjs';
import {
  type EncodedWriteRequest,
  RemoteWrite1Encoder,
} from '../../src/sinks/remote-write/remote-write-encoder';
import { getWriteRequestSchema } from '../../src/sinks/remote-write/write-request-schema';
import { forceSnappyjs, snappyCompressor } from '../../src/sinks/remote-write/snappy-block';
import { type RegistryFamily, familiesFromRegistry } from '../../src/registry/registry-families';
import type { LabelledFamilies, MetricFamily } from '../../src/model/metric-family';
import { ATOM_END, INSIDE, UNIT_END, splitPoints } from '../../src/sinks/remote-write/request-splitter';
import { NEVER_LIVE, StalenessTracker, type TrackedSeries } from '../../src/sinks/remote-write/staleness-tracker';
import { DEFAULT_METADATA_INTERVAL_MS, MetadataSchedule } from '../../src/sinks/remote-write/metadata-schedule';
import {
  type DecodedTimeSeries,
  decodeRemoteWriteBody,
  labelValue,
  seriesId,
  snappyBlockDecompress,
  startsWithFramedMagic,
} from '../helpers/independent-remote-write-decoder';

const STALE_VALUE_HEX = '020000000000f07f';
const T0 = 1_700_000_000_123;

function encoder(max = 2000, metadataIntervalMs?: number): RemoteWrite1Encoder {
  return new RemoteWrite1Encoder(
    metadataIntervalMs === undefined ? { maxSamplesPerRequest: max } : { maxSamplesPerRequest: max, metadataIntervalMs },
  );
}

/** prom-client's JSON (made by a registry, or by hand) as the encoder's input, as the agent turns its own metrics. */
function fromJson(families: readonly unknown[]): LabelledFamilies[] {
  return [{ families: familiesFromRegistry(families as RegistryFamily[]), labels: {} }];
}

async function poll(enc: RemoteWrite1Encoder, reg: Registry, ts: number): Promise<EncodedWriteRequest[]> {
  return enc.encodePoll(fromJson(await reg.getMetricsAsJSON()), ts);
}

function sampleRequests(reqs: EncodedWriteRequest[]): EncodedWriteRequest[] {
  return reqs.filter((r) => r.kind === 'samples');
}

/** Every TimeSeries of every sample request, decoded independently. */
function decodedSeries(reqs: EncodedWriteRequest[]): DecodedTimeSeries[] {
  return sampleRequests(reqs).flatMap((r) => decodeRemoteWriteBody(r.body).timeseries);
}

const named = (name: string) => (s: DecodedTimeSeries) => labelValue(s.labels, '__name__') === name;

// ------------------------------------------------------------ the decoder ---

test('independent decoder: hand-made snappy block with a literal and an overlapping copy', () => {
  // varint 8, literal "ab", copy (1-byte offset form) of length 6 at offset 2
  const block = Uint8Array.of(0x08, 0x04, 0x61, 0x62, 0x09, 0x02);
  const out = snappyBlockDecompress(block);
  assert.is(Buffer.from(out.data).toString('latin1'), 'abababab');
  assert.is(out.declaredLength, 8);
});

test('independent decoder: agrees with snappyjs on long repetitive and random data', () => {
  const input = new Uint8Array(200_000);
  let x = 12345;
  for (let i = 0; i < input.length; i++) {
    if (i % 1000 < 600) input[i] = (i * 7) % 13; // repetitive region: copies
    else {
      x = (x * 1103515245 + 12345) >>> 0;
      input[i] = x >>> 24; // noisy region: literals
    }
  }
  const compressed = compress(input);
  assert.ok(compressed.length < input.length, 'test data should compress');
  const out = snappyBlockDecompress(compressed);
  assert.equal(Buffer.from(out.data).equals(Buffer.from(input)), true);
});

// ----------------------------------------------------------------- schema ---

test('schema: field numbers and types are those of prompb', () => {
  const s = getWriteRequestSchema();
  const f = (t: typeof s.WriteRequest, name: string) => t.fields[name]!;
  assert.is(f(s.WriteRequest, 'timeseries').id, 1);
  assert.is(f(s.WriteRequest, 'metadata').id, 3);
  // (protobufjs's isReservedId() misses single-number ranges, so read the ranges themselves)
  assert.equal(s.WriteRequest.reserved, [[2, 2]], 'WriteRequest field 2 is reserved');
  assert.is(f(s.TimeSeries, 'labels').id, 1);
  assert.is(f(s.TimeSeries, 'samples').id, 2);
  assert.is(f(s.Label, 'name').id, 1);
  assert.is(f(s.Label, 'value').id, 2);
  assert.is(f(s.Sample, 'value').id, 1);
  assert.is(f(s.Sample, 'value').type, 'double');
  assert.is(f(s.Sample, 'timestamp').id, 2);
  assert.is(f(s.Sample, 'timestamp').type, 'int64');
  assert.is(f(s.MetricMetadata, 'type').id, 1);
  assert.is(f(s.MetricMetadata, 'metricFamilyName').id, 2);
  assert.is(f(s.MetricMetadata, 'help').id, 4);
  assert.is(f(s.MetricMetadata, 'unit').id, 5);
  const names = ['UNKNOWN', 'COUNTER', 'GAUGE', 'HISTOGRAM', 'GAUGEHISTOGRAM', 'SUMMARY', 'INFO', 'STATESET'];
  assert.equal(Object.fromEntries(names.map((n) => [n, s.MetricType.values[n]])), {
    UNKNOWN: 0,
    COUNTER: 1,
    GAUGE: 2,
    HISTOGRAM: 3,
    GAUGEHISTOGRAM: 4,
    SUMMARY: 5,
    INFO: 6,
    STATESET: 7,
  });
});

// ----------------------------------------------------------------- labels ---

test('labels: sorted by code unit (not locale), __name__ included in the sort', async () => {
  const reg = new Registry();
  const labelNames = ['zeta', 'Alpha', '_under', 'beta', 'B2'];
  const g = new Gauge({ name: 'sort_test', help: 'h', labelNames, registers: [reg] });
  g.set({ zeta: 'z', Alpha: 'a', _under: 'u', beta: 'b', B2: 'b2' }, 1);
  const [series] = decodedSeries(await poll(encoder(), reg, T0));
  const expected = [...labelNames, '__name__'].sort(); // Array#sort without comparator: UTF-16 code units
  assert.equal(expected, ['Alpha', 'B2', '__name__', '_under', 'beta', 'zeta']);
  assert.equal(series!.labels.map((l) => l.name), expected);
  assert.is(labelValue(series!.labels, '__name__'), 'sort_test');
});

test('labels: registry default labels merged, the series own label wins, no duplicate names', async () => {
  const reg = new Registry();
  reg.setDefaultLabels({ instance: 'default-host', region: 'eu' });
  const g = new Gauge({ name: 'merge_test', help: 'h', labelNames: ['instance', 'room'], registers: [reg] });
  g.set({ instance: 'own-host', room: 'r1' }, 1);
  g.set({ room: 'r2' }, 2);
  const series = decodedSeries(await poll(encoder(), reg, T0));
  assert.is(series.length, 2);
  const r1 = series.find((s) => labelValue(s.labels, 'room') === 'r1')!;
  const r2 = series.find((s) => labelValue(s.labels, 'room') === 'r2')!;
  assert.is(labelValue(r1.labels, 'instance'), 'own-host');
  assert.is(labelValue(r1.labels, 'region'), 'eu');
  assert.is(labelValue(r2.labels, 'instance'), 'default-host');
  assert.is(labelValue(r2.labels, 'region'), 'eu');
  for (const s of series) {
    const names = s.labels.map((l) => l.name);
    assert.is(new Set(names).size, names.length, `duplicate label names in ${seriesId(s.labels)}`);
    assert.equal(names, [...names].sort());
  }
});

test('labels: empty-valued labels are dropped; the same series twice in a poll is sent once', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'empty_test', help: 'h', labelNames: ['a', 'b'], registers: [reg] });
  g.set({ a: '', b: 'x' }, 1);
  g.set({ b: 'x' }, 2); // same label set once a="" is dropped
  g.set({ a: 'y', b: '' }, 3);
  const series = decodedSeries(await poll(encoder(), reg, T0));
  for (const s of series) {
    for (const l of s.labels) assert.ok(l.value !== '', `empty value for ${l.name}`);
  }
  const ids = series.map((s) => seriesId(s.labels)).sort();
  assert.equal(ids, ['__name__="empty_test",a="y"', '__name__="empty_test",b="x"']);
  const bx = series.find((s) => labelValue(s.labels, 'b') === 'x')!;
  assert.is(bx.samples.length, 1);
  assert.is(bx.samples[0]!.value, 1, 'the first of the duplicates is kept');
});

test('labels: numeric label values and le formatted as in the text format', () => {
  const families = [
    {
      name: 'num',
      help: 'h',
      type: 'histogram',
      values: [
        { labels: { le: 0.1 }, value: 1, metricName: 'num_bucket' },
        { labels: { le: 1e-7 }, value: 1, metricName: 'num_bucket' },
        { labels: { le: Infinity }, value: 2, metricName: 'num_bucket' },
        { labels: { code: 200 }, value: 2, metricName: 'num_count' },
      ],
    },
  ];
  const got = decodedSeries(encoder().encodePoll(fromJson(families), T0)).map((s) => s.labels.map((l) => `${l.name}=${l.value}`).join(','));
  assert.equal(got.sort(), [
    '__name__=num_bucket,le=+Inf',
    '__name__=num_bucket,le=0.1',
    '__name__=num_bucket,le=1e-7',
    '__name__=num_count,code=200',
  ]);
});

// ------------------------------------------------------------- histograms ---

test('histogram: cumulative _bucket{le}, +Inf == _count, _sum, _count, in one request', async () => {
  const reg = new Registry();
  const buckets = [0.005, 0.1, 1, 2.5];
  const h = new Histogram({ name: 'req_seconds', help: 'h', buckets, labelNames: ['method'], registers: [reg] });
  const observations: Record<string, number[]> = { GET: [0.001, 0.05, 0.5, 2, 10, 0.1], POST: [0.2] };
  for (const [method, values] of Object.entries(observations)) for (const v of values) h.observe({ method }, v);

  const reqs = sampleRequests(await poll(encoder(), reg, T0));
  assert.is(reqs.length, 1);
  const series = decodeRemoteWriteBody(reqs[0]!.body).timeseries;
  assert.is(series.length, 2 * (buckets.length + 3));

  for (const [method, values] of Object.entries(observations)) {
    const mine = series.filter((s) => labelValue(s.labels, 'method') === method);
    const bucketSeries = mine.filter(named('req_seconds_bucket'));
    const expectedLe = [...buckets.map((b) => String(b)), '+Inf'];
    assert.equal(bucketSeries.map((s) => labelValue(s.labels, 'le')), expectedLe);
    const expectedCounts = [...buckets.map((b) => values.filter((v) => v <= b).length), values.length];
    assert.equal(bucketSeries.map((s) => s.samples[0]!.value), expectedCounts);
    const sum = mine.filter(named('req_seconds_sum'));
    const count = mine.filter(named('req_seconds_count'));
    assert.is(sum.length, 1);
    assert.is(count.length, 1);
    assert.is(sum[0]!.samples[0]!.value, values.reduce((a, b) => a + b, 0));
    assert.is(count[0]!.samples[0]!.value, values.length);
    assert.is(bucketSeries[bucketSeries.length - 1]!.samples[0]!.value, count[0]!.samples[0]!.value);
    for (const s of [...sum, ...count]) assert.is(labelValue(s.labels, 'le'), undefined);
  }
});

test('wire series match prom-client text exposition (counter, gauge, histogram, summary, default labels)', async () => {
  const reg = new Registry();
  reg.setDefaultLabels({ job: 'jvb', instance: 'host-1' });
  const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['kind'], registers: [reg] });
  c.inc({ kind: 'audio' }, 3);
  c.inc({ kind: 'video' }, 4.5);
  const g = new Gauge({ name: 'g_now', help: 'g', registers: [reg] });
  g.set(-2.25);
  const h = new Histogram({ name: 'h_seconds', help: 'h', buckets: [0.5, 1], labelNames: ['op'], registers: [reg] });
  h.observe({ op: 'x' }, 0.7);
  h.observe({ op: 'x' }, 0.2);
  const s = new Summary({ name: 's_bytes', help: 's', percentiles: [0.5, 0.9], registers: [reg] });
  for (const v of [1, 2, 3, 4, 5]) s.observe(v);

  // Oracle: parse the text format prom-client itself serves.
  const text = await reg.metrics();
  const expected = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsed line: ${line}`);
    const labels: [string, string][] = [['__name__', m[1]!]];
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) {
      if (pair[2] !== '') labels.push([pair[1]!, pair[2]!]);
    }
    labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    expected.set(labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(','), Number(m[3]!.replace('Nan', 'NaN')));
  }

  const got = new Map<string, number>();
  for (const series of decodedSeries(await poll(encoder(), reg, T0))) {
    got.set(seriesId(series.labels), series.samples[0]!.value);
  }
  assert.equal([...got.keys()].sort(), [...expected.keys()].sort());
  for (const [k, v] of expected) assert.is(got.get(k), v, k);
});

// --------------------------------------------------------- stale markers ---

test('stale marker: a vanished series gets 09 02 00 00 00 00 00 f0 7f at the poll timestamp', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'stale_test', help: 'h', labelNames: ['id'], registers: [reg] });
  g.set({ id: 'keep' }, 1);
  g.set({ id: 'gone' }, 2);
  const enc = encoder();
  await poll(enc, reg, T0);
  g.remove({ id: 'gone' });
  const t1 = T0 + 5000;
  const series = decodedSeries(await poll(enc, reg, t1));
  const gone = series.filter((s) => labelValue(s.labels, 'id') === 'gone');
  assert.is(gone.length, 1);
  assert.is(gone[0]!.samples.length, 1);
  const sample = gone[0]!.samples[0]!;
  assert.is(sample.valueHex, STALE_VALUE_HEX);
  assert.ok(sample.sampleHex.startsWith('09' + STALE_VALUE_HEX + '10'), sample.sampleHex);
  assert.is(sample.timestamp, t1);
  const keep = series.filter((s) => labelValue(s.labels, 'id') === 'keep');
  assert.is(keep[0]!.samples[0]!.value, 1);
  assert.is(keep[0]!.samples[0]!.valueHex, '000000000000f03f');
});

test('stale marker: an ordinary NaN, even one carrying the stale payload, is not sent as stale', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'nan_test', help: 'h', labelNames: ['kind'], registers: [reg] });
  g.set({ kind: 'plain' }, NaN);
  const sneaky = Buffer.from(STALE_VALUE_HEX, 'hex').readDoubleLE(0); // NaN with bits 0x7ff0000000000002 (maybe)
  g.set({ kind: 'sneaky' }, sneaky);
  g.set({ kind: 'computed' }, 0 / 0);
  const series = decodedSeries(await poll(encoder(), reg, T0));
  assert.is(series.length, 3);
  for (const s of series) {
    const sample = s.samples[0]!;
    assert.ok(Number.isNaN(sample.value), seriesId(s.labels));
    assert.is.not(sample.valueHex, STALE_VALUE_HEX, seriesId(s.labels));
  }
});

test('stale marker: sent exactly once; a series that returns is live again and can go stale again', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'once_test', help: 'h', labelNames: ['id'], registers: [reg] });
  const enc = encoder();
  const staleCount = (series: DecodedTimeSeries[]) =>
    series.filter((s) => labelValue(s.labels, 'id') === 'b' && s.samples[0]!.valueHex === STALE_VALUE_HEX).length;
  const liveCount = (series: DecodedTimeSeries[]) =>
    series.filter((s) => labelValue(s.labels, 'id') === 'b' && s.samples[0]!.valueHex !== STALE_VALUE_HEX).length;

  g.set({ id: 'a' }, 1);
  g.set({ id: 'b' }, 2);
  let s = decodedSeries(await poll(enc, reg, T0));
  assert.is(liveCount(s), 1);
  assert.is(s.length, 2);

  g.remove({ id: 'b' });
  s = decodedSeries(await poll(enc, reg, T0 + 1000));
  assert.is(staleCount(s), 1);
  assert.is(s.length, 2);
  // (That the encoder then forgets it is pinned on the staleness tracker below: "then forgotten".)

  s = decodedSeries(await poll(enc, reg, T0 + 2000));
  assert.is(staleCount(s), 0);
  assert.is(s.length, 1);

  g.set({ id: 'b' }, 3);
  s = decodedSeries(await poll(enc, reg, T0 + 3000));
  assert.is(liveCount(s), 1);
  assert.is(staleCount(s), 0);

  g.remove({ id: 'b' });
  s = decodedSeries(await poll(enc, reg, T0 + 4000));
  assert.is(staleCount(s), 1);
});

test('stale marker: an empty poll marks every series of the previous poll stale', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'all_gone', help: 'h', labelNames: ['id'], registers: [reg] });
  for (let i = 0; i < 5; i++) g.set({ id: String(i) }, i);
  const enc = encoder(2);
  await poll(enc, reg, T0);
  const reqs = enc.encodePoll([], T0 + 1000);
  const series = decodedSeries(reqs);
  assert.is(series.length, 5);
  assert.ok(series.every((s) => s.samples[0]!.valueHex === STALE_VALUE_HEX));
  assert.ok(sampleRequests(reqs).every((r) => r.samples <= 2));
});

test('label cache: values are fresh every poll; another key order of the same labels is the same series', () => {
  const family = (labels: Record<string, string>, value: number) =>
    fromJson([{ name: 'order_test', help: 'h', type: 'gauge', values: [{ labels, value }] }]);
  const enc = encoder();
  let series = decodedSeries(enc.encodePoll(family({ a: '1', b: '2' }, 1), T0));
  assert.is(series[0]!.samples[0]!.value, 1);
  series = decodedSeries(enc.encodePoll(family({ b: '2', a: '1' }, 2), T0 + 1000));
  assert.is(series.length, 1, 'no stale marker for a reordered labels object');
  assert.is(series[0]!.samples[0]!.value, 2);
  assert.equal(series[0]!.labels.map((l) => l.name), ['__name__', 'a', 'b']);
  series = decodedSeries(enc.encodePoll(family({ a: '1', b: '2' }, 3.5), T0 + 2000));
  assert.is(series.length, 1);
  assert.is(series[0]!.samples[0]!.value, 3.5);
  // One series is live, so ending them all ends exactly that one.
  series = decodedSeries(enc.encodePoll([], T0 + 3000));
  assert.equal(series.map((s) => [seriesId(s.labels), s.samples[0]!.valueHex]), [['__name__="order_test",a="1",b="2"', STALE_VALUE_HEX]]);
});

test('label cache: a label value containing separators cannot be confused with another label set', () => {
  const families = [
    {
      name: 'collide',
      help: 'h',
      type: 'gauge',
      values: [
        { labels: { a: '1:b1:2' }, value: 1 },
        { labels: { a: '1', b: '2' }, value: 2 },
        { labels: { a: '1\u0000b\u00002' }, value: 3 },
      ],
    },
  ];
  const series = decodedSeries(encoder().encodePoll(fromJson(families), T0));
  assert.is(series.length, 3);
  assert.equal(series.map((s) => s.samples[0]!.value), [1, 2, 3]);
});

test('label cache under churn: random adds, removals, reorders and duplicates over many polls match a model', () => {
  // Families are rebuilt every poll as fresh objects (labels in random key
  // order, some values numeric), series come and go. The expected output is
  // computed from the inputs alone: one sample per distinct label set (the
  // first occurrence wins), one stale marker per label set that was live in
  // the previous poll and is absent now.
  let seed = 0x2545f491;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const idOf = (name: string, labels: Record<string, string | number>) =>
    [['__name__', name] as [string, string], ...Object.entries(labels).map(([k, v]) => [k, String(v)] as [string, string])]
      .filter(([, v]) => v !== '')
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',');
  const universe = Array.from({ length: 60 }, (_, i) => ({ family: `churn_${i % 3}`, room: `r${i % 7}`, ep: i }));
  const enc = encoder(17);
  let previousLive = new Set<string>();
  for (let p = 0; p < 40; p++) {
    const ts = T0 + p * 1000;
    const byFamily = new Map<string, { labels: Record<string, string | number>; value: number }[]>();
    const expected = new Map<string, number>();
    for (const s of universe) {
      if (rnd() < 0.25) continue; // absent this poll
      const copies = rnd() < 0.1 ? 2 : 1; // sometimes the same series twice
      for (let c = 0; c < copies; c++) {
        const ep: string | number = rnd() < 0.5 ? s.ep : String(s.ep);
        const labels: Record<string, string | number> =
          rnd() < 0.5 ? { room: s.room, ep, extra: '' } : { ep, extra: '', room: s.room };
        const value = Math.round(rnd() * 1000) / 4;
        if (!byFamily.has(s.family)) byFamily.set(s.family, []);
        byFamily.get(s.family)!.push({ labels, value });
      }
    }
    // shuffle the order of series inside each family now and then
    for (const values of byFamily.values()) {
      if (rnd() < 0.3) values.sort(() => rnd() - 0.5);
    }
    const families = [...byFamily.entries()].map(([name, values]) => ({ name, help: 'h', type: 'gauge', values }));
    for (const f of families) {
      for (const v of f.values) {
        const id = idOf(f.name, v.labels);
        if (!expected.has(id)) expected.set(id, v.value);
      }
    }
    const reqs = enc.encodePoll(fromJson(families), ts);
    assert.ok(sampleRequests(reqs).every((r) => r.samples <= 17));

    const got = new Map<string, string>();
    for (const s of decodedSeries(reqs)) {
      const id = seriesId(s.labels);
      assert.not.ok(got.has(id), `poll ${p}: ${id} sent twice`);
      assert.is(s.samples.length, 1);
      assert.is(s.samples[0]!.timestamp, ts);
      got.set(id, s.samples[0]!.valueHex === STALE_VALUE_HEX ? 'stale' : String(s.samples[0]!.value));
    }
    const want = new Map<string, string>();
    for (const [id, v] of expected) want.set(id, String(v));
    for (const id of previousLive) if (!expected.has(id)) want.set(id, 'stale');
    const wrong = [...new Set([...got.keys(), ...want.keys()])]
      .filter((id) => got.get(id) !== want.get(id))
      .map((id) => `${id}: got ${got.get(id)}, want ${want.get(id)}`);
    assert.equal(wrong, [], `poll ${p}`);
    previousLive = new Set(expected.keys());
  }
  // Ending every series: one stale marker for each series of the last poll, and then nothing, ever.
  // (That only the live series are held is pinned on the staleness tracker: "holds exactly the live series".)
  const ended = decodedSeries(enc.encodePoll([], T0 + 40_000));
  assert.ok(ended.every((s) => s.samples[0]!.valueHex === STALE_VALUE_HEX));
  assert.equal(ended.map((s) => seriesId(s.labels)).sort(), [...previousLive].sort());
  assert.equal(enc.encodePoll([], T0 + 41_000), []);
});

// ------------------------------------------------------ staleness tracker ---
// Driven as the encoder drives it: per poll startPoll(), for each sample
// get(key) or a new series, markLive(); then endPoll().

/** One poll of `keys` (in order, repeats allowed) through the tracker; returns the keys reported stale and the series marked live. */
function trackerPoll(t: StalenessTracker<TrackedSeries>, keys: readonly string[]): { stale: string[]; live: Map<string, TrackedSeries> } {
  t.startPoll();
  const live = new Map<string, TrackedSeries>();
  for (const key of keys) {
    const series = t.get(key) ?? { key, livePoll: NEVER_LIVE };
    if (t.markLive(series)) {
      assert.not.ok(live.has(key), `${key} marked live twice in one poll`);
      live.set(key, series);
    } else {
      assert.is(live.get(key), series, `${key}: only a series already live this poll is refused`);
    }
  }
  return { stale: t.endPoll().map((s) => s.key), live };
}

test('staleness tracker: a vanished series is reported stale once, then forgotten; a returning one is new and can go stale again', () => {
  const t = new StalenessTracker<TrackedSeries>();
  let r = trackerPoll(t, ['a', 'b']);
  assert.equal(r.stale, []);
  const b = r.live.get('b')!;
  assert.is(t.get('a'), r.live.get('a'));
  assert.is(t.get('b'), b);

  r = trackerPoll(t, ['a']);
  assert.equal(r.stale, ['b']);
  assert.is(t.get('b'), undefined, 'the stale series is forgotten (its label bytes are not kept)');
  assert.ok(t.get('a') !== undefined);

  r = trackerPoll(t, ['a']);
  assert.equal(r.stale, [], 'no second stale report');

  r = trackerPoll(t, ['a', 'b']);
  assert.equal(r.stale, []);
  assert.is.not(r.live.get('b'), b, 'a returning series starts anew');

  r = trackerPoll(t, []);
  assert.equal(r.stale, ['a', 'b']);
  assert.is(t.get('a'), undefined);
  assert.is(t.get('b'), undefined);
  assert.equal(trackerPoll(t, []).stale, []);
});

test('staleness tracker: a series held across polls is the same object; liveInLastPoll until it is marked again; duplicates refused', () => {
  const t = new StalenessTracker<TrackedSeries>();
  t.startPoll();
  const a: TrackedSeries = { key: 'a', livePoll: NEVER_LIVE };
  assert.not.ok(t.liveInLastPoll(a));
  assert.ok(t.markLive(a));
  assert.not.ok(t.markLive(a), 'the same series twice in one poll');
  assert.is(t.get('a'), a, 'held as soon as it is marked live');
  assert.equal(t.endPoll(), []);

  t.startPoll();
  assert.is(t.get('a'), a);
  assert.ok(t.liveInLastPoll(a));
  assert.ok(t.markLive(a));
  assert.not.ok(t.liveInLastPoll(a), 'marked live in this poll');
  assert.equal(t.endPoll(), []);
  t.startPoll();
  assert.equal(t.endPoll().map((s) => s.key), ['a']);
  t.startPoll();
  assert.not.ok(t.liveInLastPoll(a), 'stale last poll, not live');
});

test('staleness tracker under churn: stale reports in the last poll order, and it holds exactly the live series', () => {
  let seed = 0x1b873593;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const universe = Array.from({ length: 80 }, (_, i) => `s${i}`);
  const t = new StalenessTracker<TrackedSeries>();
  let previous: string[] = []; // the last poll's live keys, in the order first marked
  let previousSeries = new Map<string, TrackedSeries>();
  for (let p = 0; p < 60; p++) {
    const keys: string[] = [];
    for (const key of universe) {
      if (rnd() < (p % 10 === 9 ? 0.9 : 0.2)) continue; // absent (now and then most of them)
      keys.push(key);
      if (rnd() < 0.1) keys.push(key); // the same series twice
    }
    if (rnd() < 0.3) keys.sort(() => rnd() - 0.5);
    const { stale, live } = trackerPoll(t, keys);
    const order = [...new Set(keys)];
    assert.equal(stale, previous.filter((k) => !live.has(k)), `poll ${p}: stale reports`);
    for (const key of universe) {
      const held = t.get(key);
      if (live.has(key)) assert.is(held, live.get(key), `poll ${p}: ${key} live and held`);
      else assert.is(held, undefined, `poll ${p}: ${key} not live, so not held`);
      if (live.has(key) && previousSeries.has(key)) assert.is(live.get(key), previousSeries.get(key), `poll ${p}: ${key} kept across polls`);
    }
    previous = order;
    previousSeries = live;
  }
});

// -------------------------------------------------------------- splitting ---

test('splitting: at most maxSamplesPerRequest samples per request, nothing lost or repeated', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'split_test', help: 'h', labelNames: ['id'], registers: [reg] });
  for (let i = 0; i < 25; i++) g.set({ id: String(i) }, i);
  const reqs = sampleRequests(await poll(encoder(10), reg, T0));
  assert.equal(reqs.map((r) => r.samples), [10, 10, 5]);
  const ids: string[] = [];
  for (const r of reqs) {
    const decoded = decodeRemoteWriteBody(r.body);
    assert.is(decoded.timeseries.length, r.samples);
    assert.is(decoded.metadata.length, 0);
    for (const s of decoded.timeseries) {
      assert.is(s.samples.length, 1);
      assert.is(s.samples[0]!.value, Number(labelValue(s.labels, 'id')));
      ids.push(labelValue(s.labels, 'id')!);
    }
  }
  assert.equal(ids.sort(), Array.from({ length: 25 }, (_, i) => String(i)).sort());
});

test('splitting: a histogram family is never split when it fits in one request', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'aa_gauge', help: 'h', labelNames: ['id'], registers: [reg] });
  for (let i = 0; i < 7; i++) g.set({ id: String(i) }, i);
  const h = new Histogram({ name: 'bb_hist', help: 'h', buckets: [1, 2], registers: [reg] });
  h.observe(1.5); // 5 series: le=1, le=2, le=+Inf, _sum, _count
  const reqs = sampleRequests(await poll(encoder(10), reg, T0));
  assert.ok(reqs.every((r) => r.samples <= 10));
  const perRequest = reqs.map((r) => decodeRemoteWriteBody(r.body).timeseries);
  const withHist = perRequest.filter((ts) => ts.some((s) => labelValue(s.labels, '__name__')!.startsWith('bb_hist')));
  assert.is(withHist.length, 1, 'histogram series spread over several requests');
  assert.is(withHist[0]!.filter((s) => labelValue(s.labels, '__name__')!.startsWith('bb_hist')).length, 5);
  assert.is(perRequest.flat().length, 12);
});

test('splitting: a histogram with several children that fits in a request starts a new one rather than being cut', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'aa_gauge', help: 'h', labelNames: ['id'], registers: [reg] });
  for (let i = 0; i < 3; i++) g.set({ id: String(i) }, i);
  const h = new Histogram({ name: 'bb_hist', help: 'h', buckets: [1], labelNames: ['c'], registers: [reg] });
  h.observe({ c: 'x' }, 0.5); // 4 series per child: le=1, le=+Inf, _sum, _count
  h.observe({ c: 'y' }, 0.5);
  const reqs = sampleRequests(await poll(encoder(10), reg, T0)); // 3 + 8 > 10
  assert.equal(reqs.map((r) => r.samples), [3, 8]);
  const second = decodeRemoteWriteBody(reqs[1]!.body).timeseries;
  assert.ok(second.every((s) => labelValue(s.labels, '__name__')!.startsWith('bb_hist')));
});

test('splitting: a histogram larger than a request is cut only between its children', async () => {
  const reg = new Registry();
  const h = new Histogram({ name: 'big_hist', help: 'h', buckets: [1, 2], labelNames: ['c'], registers: [reg] });
  for (const c of ['a', 'b', 'c']) h.observe({ c }, 0.5); // 3 children x 5 series = 15 > 10
  const reqs = sampleRequests(await poll(encoder(10), reg, T0));
  assert.ok(reqs.length >= 2);
  assert.ok(reqs.every((r) => r.samples <= 10));
  const where = new Map<string, Set<number>>();
  reqs.forEach((r, i) => {
    for (const s of decodeRemoteWriteBody(r.body).timeseries) {
      const c = labelValue(s.labels, 'c')!;
      if (!where.has(c)) where.set(c, new Set());
      where.get(c)!.add(i);
    }
  });
  assert.equal([...where.keys()].sort(), ['a', 'b', 'c']);
  for (const [c, requests] of where) assert.is(requests.size, 1, `child ${c} split across requests`);
});

test('splitPoints: boundaries are honoured in order of preference', () => {
  const U = UNIT_END;
  const A = ATOM_END;
  const I = INSIDE;
  // 3 gauges then a 4-series unit: cut before the unit rather than inside it
  assert.equal(splitPoints([U, U, U, I, I, I, U], 7, 5), [3, 7]);
  // ... even when the unit has a child boundary before the limit
  assert.equal(splitPoints([U, U, U, I, A, I, U], 7, 5), [3, 7]);
  // a unit larger than max: cut at its child boundary
  assert.equal(splitPoints([I, A, I, A, I, U], 6, 3), [2, 4, 6]);
  // a child larger than max: cut where max says
  assert.equal(splitPoints([I, I, I, I, I, U], 6, 4), [4, 6]);
  assert.equal(splitPoints([U, U, U, U], 4, 4), [4]);
  assert.equal(splitPoints([], 0, 4), []);
});

// --------------------------------------------------------------- metadata ---

test('metadata: first call, then not within the interval, then again after it; separate requests', async () => {
  const reg = new Registry();
  new Counter({ name: 'md_total', help: 'a counter', registers: [reg] }).inc();
  new Gauge({ name: 'md_gauge', help: 'a gauge', registers: [reg] }).set(1);
  new Histogram({ name: 'md_hist', help: 'a histogram', buckets: [1], registers: [reg] }).observe(1);
  new Summary({ name: 'md_summary', help: 'a summary', percentiles: [0.5], registers: [reg] }).observe(1);
  const enc = encoder(2000, 60_000);

  const first = await poll(enc, reg, T0);
  const md = first.filter((r) => r.kind === 'metadata');
  assert.is(md.length, 1);
  assert.is(md[0]!.samples, 0);
  const decoded = decodeRemoteWriteBody(md[0]!.body);
  assert.is(decoded.timeseries.length, 0);
  const byName = new Map(decoded.metadata.map((m) => [m.metricFamilyName, m]));
  assert.equal([...byName.keys()].sort(), ['md_gauge', 'md_hist', 'md_summary', 'md_total']);
  assert.equal(
    { counter: byName.get('md_total')!.type, gauge: byName.get('md_gauge')!.type, histogram: byName.get('md_hist')!.type, summary: byName.get('md_summary')!.type },
    { counter: 1, gauge: 2, histogram: 3, summary: 5 },
  );
  assert.is(byName.get('md_hist')!.help, 'a histogram');
  assert.is(byName.get('md_total')!.unit, '');
  for (const r of sampleRequests(first)) assert.is(decodeRemoteWriteBody(r.body).metadata.length, 0);

  assert.is((await poll(enc, reg, T0 + 30_000)).filter((r) => r.kind === 'metadata').length, 0);
  assert.is((await poll(enc, reg, T0 + 59_999)).filter((r) => r.kind === 'metadata').length, 0);
  assert.is((await poll(enc, reg, T0 + 60_000)).filter((r) => r.kind === 'metadata').length, 1);
  assert.is((await poll(enc, reg, T0 + 65_000)).filter((r) => r.kind === 'metadata').length, 0);
});

test('metadata: a first call with nothing to describe does not start the interval', async () => {
  const enc = encoder(2000, 60_000);
  assert.equal(enc.encodePoll([], T0), []);
  const reg = new Registry();
  new Gauge({ name: 'late_gauge', help: 'appears later', registers: [reg] }).set(1);
  const md = (await poll(enc, reg, T0 + 1000)).filter((r) => r.kind === 'metadata');
  assert.is(md.length, 1);
  assert.equal(decodeRemoteWriteBody(md[0]!.body).metadata.map((m) => m.metricFamilyName), ['late_gauge']);
});

test('metadata schedule: due first, then once the interval has passed since it was sent; a clock going back makes it due', () => {
  const m = new MetadataSchedule(60_000);
  assert.ok(m.due(T0));
  assert.ok(m.due(T0 + 1), 'still due: nothing was sent');
  m.sent(T0 + 1);
  assert.not.ok(m.due(T0 + 1));
  assert.not.ok(m.due(T0 + 60_000));
  assert.ok(m.due(T0 + 60_001));
  m.sent(T0 + 60_001);
  assert.not.ok(m.due(T0 + 90_000));
  assert.ok(m.due(T0 + 60_000), 'the clock went back: due again rather than silent until it catches up');
  m.sent(T0 + 1000);
  assert.not.ok(m.due(T0 + 60_999));
  assert.ok(m.due(T0 + 61_000));
});

test('metadata schedule: the default interval is 60 s; 0 means every poll; a negative or NaN interval is refused', () => {
  assert.is(DEFAULT_METADATA_INTERVAL_MS, 60_000);
  const d = new MetadataSchedule();
  d.sent(T0);
  assert.not.ok(d.due(T0 + 59_999));
  assert.ok(d.due(T0 + 60_000));
  const every = new MetadataSchedule(0);
  every.sent(T0);
  assert.ok(every.due(T0));
  assert.throws(() => new MetadataSchedule(-1), RangeError);
  assert.throws(() => new MetadataSchedule(NaN), RangeError);
  assert.throws(() => new RemoteWrite1Encoder({ maxSamplesPerRequest: 2000, metadataIntervalMs: -1 }), RangeError);
});

// ------------------------------------------------------------- timestamps ---

test('timestamps: one integer-ms timestamp shared by every sample of a poll', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'ts_test', help: 'h', labelNames: ['id'], registers: [reg] });
  for (let i = 0; i < 30; i++) g.set({ id: String(i) }, i);
  new Histogram({ name: 'ts_hist', help: 'h', buckets: [1], registers: [reg] }).observe(3);
  const now = Date.now();
  const reqs = await poll(encoder(7), reg, now + 0.75);
  const samples = decodedSeries(reqs).flatMap((s) => s.samples);
  assert.is(samples.length, 30 + 4); // 30 gauges; le=1, le=+Inf, _sum, _count
  const stamps = new Set(samples.map((s) => s.timestamp));
  assert.equal([...stamps], [Math.floor(now + 0.75)]);
  assert.ok(Number.isInteger([...stamps][0]));
  assert.ok(Math.abs([...stamps][0]! - Date.now()) < 60_000, 'milliseconds since the epoch');
  for (const r of reqs) assert.is(r.maxTimestampMs, Math.floor(now + 0.75));
});

test('timestamps: when the timestamp varint gets longer, cached series are re-encoded correctly', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'varint_test', help: 'h', labelNames: ['id'], registers: [reg] });
  for (let i = 0; i < 5; i++) g.set({ id: String(i) }, i);
  const enc = encoder(3);
  const stamps = [2 ** 35 - 2000, 2 ** 35 - 1000, 2 ** 35 + 1000, 2 ** 42 + 5]; // varint of 5, 5, 6, 7 bytes
  for (const ts of stamps) {
    g.set({ id: '4' }, ts); // a value that changes every poll
    const series = decodedSeries(await poll(enc, reg, ts));
    assert.is(series.length, 5);
    for (const s of series) {
      assert.is(s.samples[0]!.timestamp, ts);
      const id = Number(labelValue(s.labels, 'id'));
      assert.is(s.samples[0]!.value, id === 4 ? ts : id);
      assert.equal(s.labels.map((l) => l.name), ['__name__', 'id']);
    }
  }
});

// ------------------------------------------------------------ body format ---

test('body: snappy block format (not framed), leading varint = uncompressed length, protobufjs agrees', async () => {
  const reg = new Registry();
  const g = new Gauge({ name: 'body_test', help: 'h', labelNames: ['id'], registers: [reg] });
  for (let i = 0; i < 50; i++) g.set({ id: `series-${i}` }, i / 3);
  const reqs = await poll(encoder(), reg, T0);
  const { WriteRequest } = getWriteRequestSchema();
  for (const r of reqs) {
    assert.ok(Buffer.isBuffer(r.body));
    assert.not.ok(startsWithFramedMagic(r.body));
    const raw = uncompress(new Uint8Array(r.body));
    const mine = decodeRemoteWriteBody(r.body);
    assert.is(mine.uncompressedLength, raw.length);
    assert.equal(mine.unknownFields, []);
    const theirs = WriteRequest.toObject(WriteRequest.decode(raw), { longs: Number, defaults: true }) as {
      timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }[];
    };
    assert.is(theirs.timeseries.length, mine.timeseries.length);
    theirs.timeseries.forEach((t, i) => {
      assert.equal(t.labels, mine.timeseries[i]!.labels);
      assert.equal(
        t.samples.map((s) => [s.value, s.timestamp]),
        mine.timeseries[i]!.samples.map((s) => [s.value, s.timestamp]),
      );
    });
  }
  const series = decodedSeries(reqs);
  assert.is(series.length, 50);
  for (const s of series) assert.is(s.samples[0]!.value, Number(labelValue(s.labels, 'id')!.slice(7)) / 3);
});

test('body: the native snappy package (when installed) and the snappyjs fallback give bodies that decode identically', async () => {
  const encodeWith = async (fallback: boolean) => {
    const reg = new Registry();
    const g = new Gauge({ name: 'compressor_test', help: 'h', labelNames: ['id', 'room'], registers: [reg] });
    for (let i = 0; i < 300; i++) g.set({ id: `series-${i}`, room: `room-${i % 7}` }, i % 2 ? i / 7 : NaN);
    new Histogram({ name: 'compressor_hist', help: 'h', buckets: [0.1, 1, 10], registers: [reg] }).observe(0.5);
    forceSnappyjs(fallback);
    try {
      if (fallback) assert.is(snappyCompressor(), 'snappyjs');
      const enc = encoder(100);
      const first = await poll(enc, reg, T0);
      g.remove({ id: 'series-3', room: 'room-3' }); // a stale marker in the second poll
      return [...first, ...(await poll(enc, reg, T0 + 1000))];
    } finally {
      forceSnappyjs(false);
    }
  };
  const fallback = await encodeWith(true);
  const usual = await encodeWith(false);
  assert.is(usual.length, fallback.length);
  usual.forEach((r, i) => {
    const f = fallback[i]!;
    assert.not.ok(startsWithFramedMagic(r.body));
    assert.equal([r.kind, r.samples, r.maxTimestampMs], [f.kind, f.samples, f.maxTimestampMs]);
    const mine = decodeRemoteWriteBody(r.body);
    const theirs = decodeRemoteWriteBody(f.body);
    assert.equal(mine, theirs);
    assert.equal(mine.unknownFields, []);
    assert.ok(Buffer.from(uncompress(new Uint8Array(r.body))).equals(Buffer.from(uncompress(new Uint8Array(f.body)))));
  });
  assert.ok(decodedSeries(usual).some((s) => s.samples[0]!.valueHex === STALE_VALUE_HEX));
});

test('constructor: rejects a non-positive maxSamplesPerRequest', () => {
  assert.throws(() => new RemoteWrite1Encoder({ maxSamplesPerRequest: 0 }));
  assert.throws(() => new RemoteWrite1Encoder({ maxSamplesPerRequest: 1.5 }));
});

test("external labels (job, instance) are added where a series lacks them; a series' own label wins; order stays sorted", async () => {
  const reg = new Registry();
  reg.setDefaultLabels({ dc: 'eu' });
  new Gauge({ name: 'plain', help: 'h', registers: [reg] }).set(1);
  const own = new Gauge({ name: 'own_instance', help: 'h', labelNames: ['instance'], registers: [reg] });
  own.set({ instance: 'mine' }, 2);
  const enc = new RemoteWrite1Encoder({ maxSamplesPerRequest: 2000, externalLabels: { job: 'jvb', instance: 'bridge-1' } });
  const series = decodedSeries(await poll(enc, reg, T0));
  const plain = series.find(named('plain'))!;
  assert.equal(plain.labels.map((l) => [l.name, l.value]), [['__name__', 'plain'], ['dc', 'eu'], ['instance', 'bridge-1'], ['job', 'jvb']]);
  const mine = series.find(named('own_instance'))!;
  assert.is(labelValue(mine.labels, 'instance'), 'mine');
  assert.is(mine.labels.filter((l) => l.name === 'instance').length, 1);
  assert.is(labelValue(mine.labels, 'job'), 'jvb');
});

test('registry labels: a part label beats a series label, which beats the registry labels, which beat external labels; a change of them ends the old series', () => {
  const enc = new RemoteWrite1Encoder({ maxSamplesPerRequest: 2000, externalLabels: { job: 'jvb', instance: 'bridge-1', region: 'external' } });
  const families: MetricFamily[] = [
    { name: 'scalar', help: 'h', unit: '', type: 'gauge', series: [{ labels: { room: 'own' }, value: 1 }, { labels: {}, value: 2 }] },
    { name: 'h', help: 'h', unit: '', type: 'histogram', series: [{ labels: { le: 'series-le' }, buckets: [{ le: '1', count: 3 }], sum: 4, count: 3 }] },
  ];
  const labelsOf = (s: DecodedTimeSeries) => Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
  const first = decodedSeries(enc.encodePoll([{ families, labels: { room: 'registry', region: 'registry', instance: '' } }], T0)).map(labelsOf);
  assert.equal(first, [
    { __name__: 'scalar', instance: 'bridge-1', job: 'jvb', region: 'registry', room: 'own' },
    { __name__: 'scalar', instance: 'bridge-1', job: 'jvb', region: 'registry', room: 'registry' },
    { __name__: 'h_bucket', instance: 'bridge-1', job: 'jvb', le: '1', region: 'registry', room: 'registry' },
    { __name__: 'h_sum', instance: 'bridge-1', job: 'jvb', le: 'series-le', region: 'registry', room: 'registry' },
    { __name__: 'h_count', instance: 'bridge-1', job: 'jvb', le: 'series-le', region: 'registry', room: 'registry' },
  ]);
  // Equal labels in a new object: the same series, no stale markers.
  const same = decodedSeries(enc.encodePoll([{ families, labels: { room: 'registry', region: 'registry', instance: '' } }], T0 + 1000));
  assert.equal(same.map(labelsOf), first);
  assert.ok(same.every((s) => s.samples[0]!.valueHex !== STALE_VALUE_HEX));
  // Other registry labels (a reload): every series carried them (region), so all end and new ones start.
  const changed = decodedSeries(enc.encodePoll([{ families, labels: { room: 'moved' } }], T0 + 2000));
  const stale = changed.filter((s) => s.samples[0]!.valueHex === STALE_VALUE_HEX).map(labelsOf);
  const live = changed.filter((s) => s.samples[0]!.valueHex !== STALE_VALUE_HEX).map(labelsOf);
  assert.equal(stale, first);
  assert.equal(live.map((l) => [l.room, l.region]), [['own', 'external'], ['moved', 'external'], ['moved', 'external'], ['moved', 'external'], ['moved', 'external']]);
});

test('the same family objects again with values written in place (as the sources keep them): every new value sent, nothing ended', () => {
  const scalar = { labels: { room: 'a' }, value: 1 };
  const histogram = { labels: {}, buckets: [{ le: '1', count: 1 }, { le: '+Inf', count: 2 }], sum: 3, count: 2 };
  const families: MetricFamily[] = [
    { name: 'g', help: 'h', unit: '', type: 'gauge', series: [scalar, { labels: { room: 'b' }, value: 10 }] },
    { name: 'h', help: 'h', unit: '', type: 'histogram', series: [histogram] },
  ];
  const labels = { region: 'eu' };
  const enc = encoder();
  const valuesOf = (reqs: EncodedWriteRequest[]) =>
    Object.fromEntries(decodedSeries(reqs).map((s) => [seriesId(s.labels), s.samples[0]!.valueHex === STALE_VALUE_HEX ? 'stale' : s.samples[0]!.value]));
  const first = valuesOf(enc.encodePoll([{ families, labels }], T0));
  for (let poll = 1; poll <= 3; poll++) {
    scalar.value = 1 + poll;
    histogram.buckets[0]!.count = 1 + poll;
    histogram.buckets[1]!.count = 2 + poll;
    histogram.sum = 3 + poll;
    histogram.count = 2 + poll;
    const got = valuesOf(enc.encodePoll([{ families, labels }], T0 + poll * 1000));
    assert.equal(Object.keys(got).sort(), Object.keys(first).sort(), 'the same series, no stale markers');
    assert.equal(Object.values(got).sort(), [1 + poll, 10, 1 + poll, 2 + poll, 3 + poll, 2 + poll].sort());
  }
  // Equal labels in a new registry-labels object, then a family list without room="b": its series ends.
  const fewer: MetricFamily[] = [{ ...families[0]!, series: [scalar] } as MetricFamily, families[1]!];
  const last = valuesOf(enc.encodePoll([{ families: fewer, labels: { region: 'eu' } }], T0 + 9000));
  assert.equal(
    Object.entries(last).filter(([, v]) => v === 'stale').map(([id]) => id),
    Object.keys(first).filter((id) => id.includes('room="b"')),
  );
});

test.run();
