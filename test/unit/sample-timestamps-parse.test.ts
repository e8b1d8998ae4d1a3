// Sample timestamps in the native parser (issue 17, 5.6): each sample line
// keeps its own timestamp, as Prometheus reads it (0.0.4: int64
// milliseconds; OpenMetrics: float seconds, times 1000 truncated toward zero,
// as openmetricsparse.go's int64(ts * 1000)); a line without one has none.
// Expected values are written here by hand from those rules.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MetricFamily } from '../../src/model/metric-family';
import { ExpositionReparser } from '../../src/sources/native/exposition-reparser';
import { parseExposition, type ExpositionFormat } from '../../src/sources/native/parse-exposition';

const LIMITS = { maxSamples: 100_000 };
const P = 'text-0.0.4' as const;
const OM = 'openmetrics-1.0' as const;

function families(body: string, format: ExpositionFormat): MetricFamily[] {
  const r = parseExposition(body, format, LIMITS);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
  return r.families;
}

function family(body: string, format: ExpositionFormat, name: string): MetricFamily {
  const found = families(body, format).find((f) => f.name === name);
  if (found === undefined) throw new Error(`no family ${name}`);
  return found;
}

test('0.0.4: a scalar sample keeps its own timestamp (ms); one without has no timestamp property', () => {
  const body = ['# TYPE g gauge', 'g{a="1"} 1 1700000000123', 'g{a="2"} 2', 'g{a="3"} 3 \t 0001700000000000 ', 'g{a="4"} 4 0', ''].join('\n');
  assert.equal(family(body, P, 'g').series, [
    { labels: { a: '1' }, value: 1, timestampMs: 1_700_000_000_123 },
    { labels: { a: '2' }, value: 2 },
    { labels: { a: '3' }, value: 3, timestampMs: 1_700_000_000_000 },
    { labels: { a: '4' }, value: 4, timestampMs: 0 },
  ]);
  const plain = family(body, P, 'g').series[1]!;
  assert.not.ok('timestampMs' in plain, 'no timestamp: the property is absent, not undefined');
});

test('0.0.4: the largest int64 timestamp is read (as the nearest double); counters and untyped keep theirs', () => {
  const body = ['# TYPE c_total counter', 'c_total 5 9223372036854775807', 'u 6 1000', ''].join('\n');
  const fams = families(body, P);
  assert.equal(fams, [
    { name: 'c_total', type: 'counter', help: '', unit: '', series: [{ labels: {}, value: 5, timestampMs: 9223372036854775807 }] },
    { name: 'u', type: 'untyped', help: '', unit: '', series: [{ labels: {}, value: 6, timestampMs: 1000 }] },
  ]);
});

test('0.0.4: every line of a histogram and a summary keeps its own timestamp (buckets, quantiles, _sum, _count)', () => {
  const body = [
    '# TYPE h histogram',
    'h_bucket{le="1"} 1 1700000000001',
    'h_bucket{le="+Inf"} 2',
    'h_sum 3 1700000000003',
    'h_count 2 1700000000004',
    'h_bucket{x="y",le="+Inf"} 7',
    'h_sum{x="y"} 8',
    'h_count{x="y"} 7 1700000000005',
    '# TYPE s summary',
    's{quantile="0.5"} 0.25 1700000000011',
    's{quantile="0.9"} 0.5',
    's_sum 10',
    's_count 20 1700000000014',
    '',
  ].join('\n');
  assert.equal(family(body, P, 'h').series, [
    {
      labels: {},
      buckets: [
        { le: '1', count: 1, timestampMs: 1_700_000_000_001 },
        { le: '+Inf', count: 2 },
      ],
      sum: 3,
      count: 2,
      sumTimestampMs: 1_700_000_000_003,
      countTimestampMs: 1_700_000_000_004,
    },
    { labels: { x: 'y' }, buckets: [{ le: '+Inf', count: 7 }], sum: 8, count: 7, countTimestampMs: 1_700_000_000_005 },
  ]);
  assert.equal(family(body, P, 's').series, [
    {
      labels: {},
      quantiles: [
        { quantile: '0.5', value: 0.25, timestampMs: 1_700_000_000_011 },
        { quantile: '0.9', value: 0.5 },
      ],
      sum: 10,
      count: 20,
      countTimestampMs: 1_700_000_000_014,
    },
  ]);
});

test('0.0.4: a series written twice keeps its first line, timestamp included', () => {
  const body = ['g 1 1000', 'g 2 2000', 'h 1', 'h 2 3000', ''].join('\n');
  assert.equal(families(body, P), [
    { name: 'g', type: 'untyped', help: '', unit: '', series: [{ labels: {}, value: 1, timestampMs: 1000 }] },
    { name: 'h', type: 'untyped', help: '', unit: '', series: [{ labels: {}, value: 1 }] },
  ]);
});

test('OpenMetrics: float seconds become ms truncated toward zero, as int64(ts * 1000); the exemplar timestamp is not the sample one', () => {
  const body = [
    '# TYPE g gauge',
    'g{a="1"} 1 1700000000.123',
    'g{a="2"} 2 1700000000.1239',
    'g{a="3"} 3 1.5',
    'g{a="4"} 4 -1.5',
    'g{a="5"} 5 -0.0001',
    'g{a="6"} 6 1e3',
    'g{a="7"} 7',
    '# TYPE c counter',
    'c_total 9 # {t="x"} 1 1700000000.5',
    'c_created 1700000000',
    '# EOF',
    '',
  ].join('\n');
  const series = family(body, OM, 'g').series;
  const ts = series.map((s) => (s as { timestampMs?: number }).timestampMs);
  // 1700000000.1239 * 1000 is 1700000000123.9 in float64: truncated, not rounded.
  assert.equal(ts, [1_700_000_000_123, 1_700_000_000_123, 1500, -1500, 0, 1_000_000, undefined]);
  assert.ok(Object.is(ts[4], 0), '-0.1 ms truncates to 0, not -0');
  assert.not.ok('timestampMs' in series[6]!);
  assert.equal(family(body, OM, 'c_total').series, [{ labels: {}, value: 9 }]);
});

test('OpenMetrics: histogram, gauge histogram, info and stateset lines keep their timestamps', () => {
  const body = [
    '# TYPE h histogram',
    'h_bucket{le="+Inf"} 2 1700000000.001',
    'h_sum 3',
    'h_count 2 1700000000.002',
    '# TYPE gh gaugehistogram',
    'gh_bucket{le="+Inf"} 4 1700000000.003',
    'gh_gcount 4',
    '# TYPE i info',
    'i_info{v="1"} 1 1700000000.004',
    '# TYPE st stateset',
    'st{st="a"} 1 1700000000.005',
    '# EOF',
  ].join('\n');
  assert.equal(family(body, OM, 'h').series, [{ labels: {}, buckets: [{ le: '+Inf', count: 2, timestampMs: 1_700_000_000_001 }], sum: 3, count: 2, countTimestampMs: 1_700_000_000_002 }]);
  assert.equal(family(body, OM, 'gh_bucket').series, [{ labels: { le: '+Inf' }, value: 4, timestampMs: 1_700_000_000_003 }]);
  assert.equal(family(body, OM, 'gh_gcount').series, [{ labels: {}, value: 4 }]);
  assert.equal(family(body, OM, 'i_info').series, [{ labels: { v: '1' }, value: 1, timestampMs: 1_700_000_000_004 }]);
  assert.equal(family(body, OM, 'st').series, [{ labels: { st: 'a' }, value: 1, timestampMs: 1_700_000_000_005 }]);
});

test('reparser: new values under the same timestamps keep the timestamps; new timestamps are read (every result equals a full parse)', () => {
  const bodies = [
    ['# TYPE h histogram', 'h_bucket{le="+Inf"} 2 1000', 'h_sum 3', 'h_count 2 1000', 'g 1 1000', 'k 5', ''],
    ['# TYPE h histogram', 'h_bucket{le="+Inf"} 4 1000', 'h_sum 6', 'h_count 4 1000', 'g 2 1000', 'k 6', ''],
    ['# TYPE h histogram', 'h_bucket{le="+Inf"} 4 2000', 'h_sum 6', 'h_count 4 2000', 'g 2 2000', 'k 6 2000', ''],
    ['# TYPE h histogram', 'h_bucket{le="+Inf"} 5 3000', 'h_sum 7 3000', 'h_count 5', 'g 3', 'k 7 3000', ''],
    ['# TYPE h histogram', 'h_bucket{le="+Inf"} 6 3000', 'h_sum 8 3000', 'h_count 6', 'g 4', 'k 8 3000', ''],
  ].map((lines) => lines.join('\n'));
  const reparser = new ExpositionReparser();
  let previous: MetricFamily[] | undefined;
  bodies.forEach((body, i) => {
    const got = reparser.parse(body, P, LIMITS);
    if (!got.ok) throw new Error(got.message);
    assert.equal(got.families, families(body, P), `body ${i}`);
    if (i === 1 || i === 4) assert.ok(got.families === previous, `body ${i}: only values changed, the last result is kept`);
    previous = got.families;
  });
  const om = ['g 1 1.5', 'g 2 1.5', 'g 2 2.5'].map((line) => `${line}\n# EOF\n`);
  const omReparser = new ExpositionReparser();
  for (const body of om) {
    const got = omReparser.parse(body, OM, LIMITS);
    if (!got.ok) throw new Error(got.message);
    assert.equal(got.families, families(body, OM));
  }
});

test.run();
