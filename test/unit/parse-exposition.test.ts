import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleCount, type MetricFamily } from '../../src/model/metric-family';
import { formatFromContentType, parseExposition, type ExpositionFormat, type ParseResult } from '../../src/sources/native/parse-exposition';
import { ExpositionReparser } from '../../src/sources/native/exposition-reparser';

const FIXTURE_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'jvb-native');
const TEXT_004 = readFileSync(path.join(FIXTURE_DIR, 'jvb-metrics-simpleclient-0.16-generated.txt'), 'utf8');
const TEXT_OM = readFileSync(path.join(FIXTURE_DIR, 'jvb-metrics-simpleclient-0.16-generated.openmetrics.txt'), 'utf8');

const LIMITS = { maxSamples: 100_000 };
const P = 'text-0.0.4' as const;
const OM = 'openmetrics-1.0' as const;

function parseOk(body: string, format: ExpositionFormat, maxSamples = LIMITS.maxSamples): { families: MetricFamily[]; samples: number } {
  const r = parseExposition(body, format, { maxSamples });
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
  assert.is(
    r.samples,
    r.families.reduce((n, f) => n + sampleCount(f), 0),
    'samples is the families sample count',
  );
  return { families: r.families, samples: r.samples };
}

function parseFail(body: string, format: ExpositionFormat, maxSamples = LIMITS.maxSamples): { reason: string; message: string } {
  const r: ParseResult = parseExposition(body, format, { maxSamples });
  if (r.ok) throw new Error(`expected a failure for ${JSON.stringify(body.slice(0, 80))}, got ${JSON.stringify(r.families).slice(0, 200)}`);
  return { reason: r.reason, message: r.message };
}

// ---------------------------------------------------------------- content type

test('formatFromContentType', () => {
  assert.is(formatFromContentType('application/openmetrics-text; version=1.0.0; charset=utf-8'), 'openmetrics-1.0');
  assert.is(formatFromContentType('application/openmetrics-text;version=0.0.1'), 'openmetrics-1.0');
  assert.is(formatFromContentType('Application/OpenMetrics-Text'), 'openmetrics-1.0');
  assert.is(formatFromContentType('text/plain; version=0.0.4; charset=utf-8'), 'text-0.0.4');
  assert.is(formatFromContentType('text/plain'), 'text-0.0.4');
  assert.is(formatFromContentType(' TEXT/PLAIN ;charset=utf-8'), 'text-0.0.4');
  assert.is(formatFromContentType('application/json'), undefined);
  assert.is(formatFromContentType('text/html; charset=utf-8'), undefined);
  assert.is(formatFromContentType('text/plainx'), undefined);
  assert.is(formatFromContentType(''), undefined);
  assert.is(formatFromContentType(undefined), undefined);
});

// ------------------------------------------------------------------ text 0.0.4

test('0.0.4: HELP, TYPE, counter/gauge/untyped, HELP escapes, comments and blank lines', () => {
  const body = [
    '# A comment',
    '#comment without space',
    '# HELPER is a comment too',
    '',
    '# HELP jvb_bytes_total Bytes \\\\ sent\\nin total, a \\"quote\\" stays escaped',
    '# TYPE jvb_bytes_total counter',
    'jvb_bytes_total 12.0',
    '# TYPE jvb_load gauge',
    '# HELP jvb_load Load.',
    'jvb_load 0.5',
    '   ',
    '# TYPE jvb_other untyped',
    'jvb_other 1',
    'no_type_at_all 7',
  ].join('\n');
  const { families, samples } = parseOk(body, P);
  assert.equal(families, [
    { name: 'jvb_bytes_total', type: 'counter', help: 'Bytes \\ sent\nin total, a \\"quote\\" stays escaped', unit: '', series: [{ labels: {}, value: 12 }] },
    { name: 'jvb_load', type: 'gauge', help: 'Load.', unit: '', series: [{ labels: {}, value: 0.5 }] },
    { name: 'jvb_other', type: 'untyped', help: '', unit: '', series: [{ labels: {}, value: 1 }] },
    { name: 'no_type_at_all', type: 'untyped', help: '', unit: '', series: [{ labels: {}, value: 7 }] },
  ]);
  assert.is(samples, 4);
});

test('0.0.4: label escapes, trailing comma, spaces and tabs, values and timestamps', () => {
  const body = [
    '# TYPE m gauge',
    'm{a="x\\\\y",b="say \\"hi\\"",c="l1\\nl2",d="\\t kept"} 1',
    'm{le="0.0",} 2',
    'm { a = "s" , b="t" , } \t 3 \t 1700000000000 ',
    'm{a="nan"} NaN',
    'm{a="pinf"} +Inf',
    'm{a="ninf"} -Inf',
    'm{a="inf"} inf',
    'm{a="big"} 1.724E12',
    'm{a="small"} 1e-3',
    'm{a="dot"} .5',
    'm{a="neg"} -2.5e+2',
    'm{a="ts"} 4 0001700000000000',
  ].join('\n');
  const { families } = parseOk(body, P);
  assert.is(families.length, 1);
  const series = families[0]!.series as Array<{ labels: Record<string, string>; value: number }>;
  assert.equal(series[0], { labels: { a: 'x\\y', b: 'say "hi"', c: 'l1\nl2', d: '\\t kept' }, value: 1 });
  assert.equal(series[1], { labels: { le: '0.0' }, value: 2 });
  assert.equal(series[2], { labels: { a: 's', b: 't' }, value: 3, timestampMs: 1_700_000_000_000 });
  const byA = new Map(series.slice(3).map((s) => [s.labels['a'], s.value]));
  assert.ok(Number.isNaN(byA.get('nan')));
  assert.is(byA.get('pinf'), Infinity);
  assert.is(byA.get('ninf'), -Infinity);
  assert.is(byA.get('inf'), Infinity);
  assert.is(byA.get('big'), 1724000000000);
  assert.is(byA.get('small'), 0.001);
  assert.is(byA.get('dot'), 0.5);
  assert.is(byA.get('neg'), -250);
  assert.is(byA.get('ts'), 4);
});

test('0.0.4: no final newline, labels without commas, value right after "}", raw newline in a label value', () => {
  const { families } = parseOk('a{x="1" y="2"}3\nb{v="one\ntwo"} 4', P);
  assert.equal(families, [
    { name: 'a', type: 'untyped', help: '', unit: '', series: [{ labels: { x: '1', y: '2' }, value: 3 }] },
    { name: 'b', type: 'untyped', help: '', unit: '', series: [{ labels: { v: 'one\ntwo' }, value: 4 }] },
  ]);
});

test('0.0.4: HELP text is the rest of the line after one separator; empty HELP', () => {
  const { families } = parseOk('# HELP a  two spaces\na 1\n#\tHELP\tb\ttab\nb 2\n# HELP c\nc 3\n# HELP d \t \nd 4\n', P);
  assert.equal(
    families.map((f) => [f.name, f.help]),
    [
      ['a', ' two spaces'],
      ['b', 'tab'],
      ['c', ''],
      ['d', ''],
    ],
  );
});

test('0.0.4: histogram grouped by labels without le, buckets in order, le as written', () => {
  const body = [
    '# HELP rtt Round trip time.',
    '# TYPE rtt histogram',
    'rtt_bucket{dir="in",le="0.5",} 1.0',
    'rtt_bucket{le="0.5",dir="out",} 2.0',
    'rtt_bucket{dir="in",le="1.0",} 3.0',
    'rtt_bucket{dir="in",le="+Inf",} 4.0',
    'rtt_count{dir="in",} 4.0',
    'rtt_sum{dir="in",} 2.5',
    'rtt_bucket{dir="out",le="+Inf",} 5.0',
    'rtt_sum{dir="out",} 9.0',
  ].join('\n');
  const { families, samples } = parseOk(body, P);
  assert.equal(families, [
    {
      name: 'rtt',
      type: 'histogram',
      help: 'Round trip time.',
      unit: '',
      series: [
        {
          labels: { dir: 'in' },
          buckets: [
            { le: '0.5', count: 1 },
            { le: '1.0', count: 3 },
            { le: '+Inf', count: 4 },
          ],
          count: 4,
          sum: 2.5,
        },
        {
          labels: { dir: 'out' },
          buckets: [
            { le: '0.5', count: 2 },
            { le: '+Inf', count: 5 },
          ],
          sum: 9,
        },
      ],
    },
  ]);
  assert.not.ok('count' in (families[0]!.series[1] as object), 'no count key when no _count sample');
  assert.is(samples, 8);
});

test('0.0.4: summary grouped by labels without quantile', () => {
  const body = [
    '# TYPE lat summary',
    'lat{quantile="0.5"} 1',
    'lat{quantile="0.99"} 2',
    'lat_sum 10',
    'lat_count 5',
    'lat{quantile="0.5",path="/x"} 3',
    'lat_count{path="/x"} 1',
  ].join('\n');
  const { families } = parseOk(body, P);
  assert.equal(families, [
    {
      name: 'lat',
      type: 'summary',
      help: '',
      unit: '',
      series: [
        {
          labels: {},
          quantiles: [
            { quantile: '0.5', value: 1 },
            { quantile: '0.99', value: 2 },
          ],
          sum: 10,
          count: 5,
        },
        { labels: { path: '/x' }, quantiles: [{ quantile: '0.5', value: 3 }], count: 1 },
      ],
    },
  ]);
});

test('0.0.4: samples not matching the current TYPE become untyped families by sample name (merged)', () => {
  const body = [
    '# TYPE g gauge',
    'g 1',
    'stray{a="1"} 2',
    'g_bucket{le="1"} 3',
    'stray{a="2"} 4',
    '# TYPE h histogram',
    'h_bucket{le="1"} 1',
    'stray{a="3"} 5',
  ].join('\n');
  const { families } = parseOk(body, P);
  assert.equal(
    families.map((f) => [f.name, f.type, sampleCount(f)]),
    [
      ['g', 'gauge', 1],
      ['stray', 'untyped', 3],
      ['g_bucket', 'untyped', 1],
      ['h', 'histogram', 1],
    ],
  );
  const gb = families[2]!;
  assert.equal(gb.series, [{ labels: { le: '1' }, value: 3 }]);
});

test('0.0.4: samples before their TYPE line stay untyped; a TYPE after a stray sample still applies to its block', () => {
  const body = ['s{quantile="0.5"} 1', '# TYPE s summary', 's{quantile="0.9"} 2', 's_sum 3', '# HELP t T.', 'other 1', '# TYPE t summary', 't{quantile="0.5"} 4'].join('\n');
  const { families } = parseOk(body, P);
  assert.equal(
    families.map((f) => [f.name, f.type, f.help, sampleCount(f)]),
    [
      ['s', 'untyped', '', 2],
      ['s_sum', 'untyped', '', 1],
      ['other', 'untyped', '', 1],
      ['t', 'summary', 'T.', 1],
    ],
  );
});

test('0.0.4: one family in two blocks is merged; scalar types keep the first', () => {
  const body = ['# TYPE a gauge', 'a{x="1"} 1', '# TYPE b gauge', 'b 1', '# HELP a A.', 'a{x="2"} 2', '# TYPE a counter', 'a{x="3"} 3'].join('\n');
  const { families } = parseOk(body, P);
  assert.equal(families, [
    {
      name: 'a',
      type: 'gauge',
      help: 'A.',
      unit: '',
      series: [
        { labels: { x: '1' }, value: 1 },
        { labels: { x: '2' }, value: 2 },
        { labels: { x: '3' }, value: 3 },
      ],
    },
    { name: 'b', type: 'gauge', help: '', unit: '', series: [{ labels: {}, value: 1 }] },
  ]);
});

test('empty label values are no label, as Prometheus stores them (both formats)', () => {
  for (const [body, format] of [
    ['a{b=""} 1\na 2\nc{d="",e="f"} 3\n', P],
    ['a{b=""} 1\na 2\nc{d="",e="f"} 3\n# EOF\n', OM],
  ] as const) {
    assert.equal(parseOk(body, format).families, [
      { name: 'a', type: 'untyped', help: '', unit: '', series: [{ labels: {}, value: 1 }] },
      { name: 'c', type: 'untyped', help: '', unit: '', series: [{ labels: { e: 'f' }, value: 3 }] },
    ]);
  }
  // A bucket whose le is empty has no le: left out and counted (below), not the body refused.
  const r = parseExposition('# TYPE h histogram\nh_bucket{le=""} 1\nh_bucket{le="+Inf"} 2\n', P, LIMITS);
  assert.ok(r.ok);
  assert.equal(r.ok && r.skipped, [{ key: 'h', reason: 'bad_histogram' }]);
});

// ------------------------------------- bodies a scrape stores, with samples the model cannot hold (issue 17, 5.5)

/** parseExposition() that must succeed: the families, and what was left out. */
function parseSkipping(body: string, format: ExpositionFormat) {
  const r = parseExposition(body, format, LIMITS);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
  return { families: r.families, skipped: r.skipped };
}

const H_REST: MetricFamily = { name: 'h', type: 'histogram', help: '', unit: '', series: [{ labels: {}, buckets: [{ le: '+Inf', count: 4 }], sum: 2, count: 4 }] } as MetricFamily;
const G_REST: MetricFamily = { name: 'g', type: 'untyped', help: '', unit: '', series: [{ labels: {}, value: 1 }] };

test('a histogram bucket without le, or with le="", is left out and counted once per family (bad_histogram); the body is kept', () => {
  for (const bucket of ['h_bucket{a="1"} 3', 'h_bucket{le=""} 3', 'h_bucket 3']) {
    const body = `# TYPE h histogram\n${bucket}\nh_bucket{le="+Inf"} 4\n${bucket.replace(' 3', ' 5')}\nh_sum 2\nh_count 4\ng 1\n`;
    const { families, skipped } = parseSkipping(body, P);
    assert.equal(families, [H_REST, G_REST], bucket);
    assert.equal(skipped, [{ key: 'h', reason: 'bad_histogram' }], bucket);
  }
  const om = parseSkipping('# TYPE g gaugehistogram\ng_bucket 1\ng_bucket{le="+Inf"} 2\ng_gcount 2\n# EOF\n', OM);
  assert.equal(om.skipped, [{ key: 'g_bucket', reason: 'bad_histogram' }]);
  assert.equal(om.families.map((f) => f.name), ['g_bucket', 'g_gcount']);
});

test('a summary sample without quantile is left out and counted (bad_summary); the body is kept', () => {
  const { families, skipped } = parseSkipping('# TYPE s summary\ns{a="1"} 3\ns{quantile="0.5"} 1\ns_sum 2\ns_count 4\ng 1\n', P);
  assert.equal(families, [{ name: 's', type: 'summary', help: '', unit: '', series: [{ labels: {}, quantiles: [{ quantile: '0.5', value: 1 }], sum: 2, count: 4 }] } as MetricFamily, G_REST]);
  assert.equal(skipped, [{ key: 's', reason: 'bad_summary' }]);
});

test('a stray sample named like a histogram family is left out and counted (name_collision); the body is kept', () => {
  for (const body of [
    '# TYPE h histogram\nh_bucket{le="+Inf"} 4\nh_sum 2\nh_count 4\n# TYPE g gauge\ng 1\nh 7\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 4\nh_sum 2\nh_count 4\n# TYPE h gauge\nh 7\n# TYPE g gauge\ng 1\n',
  ]) {
    const { families, skipped } = parseSkipping(body, P);
    assert.equal(families, [H_REST, { ...G_REST, type: 'gauge' }], body);
    assert.equal(skipped, [{ key: 'h', reason: 'name_collision' }], body);
  }
});

test('0.0.4: a NUL opening a line ends the body, as Prometheus reads it: what came before is kept', () => {
  for (const body of ['g 1\n\u0000junk 2\nk 3\n', 'g 1\n\u0000\nk 3\n']) {
    const { families, skipped } = parseSkipping(body, P);
    assert.equal(families, [G_REST]);
    assert.equal(skipped, []);
  }
  // Not at a line's start: still refused.
  assert.is(parseFail('g 1\n \u0000k 3\n', P).reason, 'invalid_body');
});

test('the reparser keeps what was skipped when only values change', () => {
  const reparser = new ExpositionReparser();
  const body = (v: number) => `# TYPE h histogram\nh_bucket{a="1"} ${v}\nh_bucket{le="+Inf"} ${v}\nh_sum 2\nh_count ${v}\n`;
  const first = reparser.parse(body(1), P, LIMITS);
  const second = reparser.parse(body(2), P, LIMITS);
  assert.ok(first.ok && second.ok);
  assert.is(second.ok && second.families, first.ok && first.families, 'the fast path');
  assert.equal(second.ok && second.skipped, [{ key: 'h', reason: 'bad_histogram' }]);
  assert.equal(second.ok && (second.families[0]!.series[0] as { count: number }).count, 2);
});

test('0.0.4: duplicate series keep the first value (label order does not matter)', () => {
  const body = ['# TYPE d gauge', 'd{a="1",b="2"} 1', 'd{b="2",a="1"} 2', 'd 3', 'd 4', '# TYPE h histogram', 'h_bucket{le="1"} 1', 'h_bucket{le="1"} 2', 'h_sum 5', 'h_sum 6'].join('\n');
  const { families, samples } = parseOk(body, P);
  assert.equal(families[0]!.series, [
    { labels: { a: '1', b: '2' }, value: 1 },
    { labels: {}, value: 3 },
  ]);
  assert.equal(families[1]!.series, [{ labels: {}, buckets: [{ le: '1', count: 1 }], sum: 5 }]);
  assert.is(samples, 4);
});

test('duplicates are found however the series is written (label order, blanks, trailing comma, escapes, empty values)', () => {
  const body004 = [
    String.raw`a{x="1",y="2"} 1`,
    String.raw`a{y="2",x="1"} 2`,
    String.raw`a{x="1",y="2",} 3`,
    String.raw`a { x = "1" , y="2" } 4`,
    String.raw`a{x="1",y="2",z=""} 5`,
    String.raw`a{x ="1",y="2"} 6`,
    String.raw`a{x= "1",y="2"} 7`,
    String.raw`a{x="1" ,y="2"} 8`,
    String.raw`a{x="1", y="2"} 9`,
    String.raw`a{ x="1",y="2"} 10`,
    String.raw`a {x="1",y="2"} 11`,
    String.raw`a{x="1"y="2"} 12`,
    String.raw`b{v="\\t"} 1`, // the value is backslash, t
    String.raw`b{v="\t"} 2`, // the same value: an unknown escape keeps its backslash
    String.raw`c{v="l1\nl2"} 1`, // an escaped newline
    'c{v="l1\nl2"} 2', // a raw newline: the same value
    String.raw`d{v="q\"\\"} 1`,
    String.raw`d{w="",v="q\"\\"} 2`,
  ].join('\n');
  const values = (families: MetricFamily[]): Array<[string, number[]]> => families.map((f) => [f.name, f.series.map((x) => ('value' in x ? x.value : NaN))]);
  const { families, samples } = parseOk(body004, P);
  assert.equal(values(families), [
    ['a', [1]],
    ['b', [1]],
    ['c', [1]],
    ['d', [1]],
  ]);
  assert.is(samples, 4);
  assert.equal(families[1]!.series[0]!.labels, { v: '\\t' });
  assert.equal(families[2]!.series[0]!.labels, { v: 'l1\nl2' });
  assert.equal(families[3]!.series[0]!.labels, { v: 'q"\\' });
  const bodyOM = [String.raw`a{y="2",x="1"} 1`, String.raw`a{x="1",y="2"} 2`, String.raw`a{x="1",y="2",z=""} 3`, String.raw`b{v="\\t"} 1`, String.raw`b{v="\t"} 2`, '# EOF'].join('\n');
  assert.equal(values(parseOk(bodyOM, OM).families), [
    ['a', [1]],
    ['b', [1]],
  ]);
});

test('0.0.4: simpleclient _created gauges are dropped when their counter/histogram/summary exists, kept otherwise', () => {
  const body = [
    '# TYPE early_created gauge', // before its counter
    'early_created 1.7E9',
    '# TYPE c_total counter',
    'c_total 3.0',
    '# TYPE early_total counter',
    'early_total 1.0',
    '# TYPE h histogram',
    'h_bucket{le="+Inf",} 1.0',
    'h_count 1.0',
    'h_sum 1.0',
    '# TYPE s summary',
    's_count 0.0',
    's_sum 0.0',
    '# TYPE c_created gauge',
    'c_created 1.7E9',
    '# TYPE h_created gauge',
    'h_created 1.7E9',
    '# TYPE s_created gauge',
    's_created 1.7E9',
    '# TYPE orphan_created gauge',
    'orphan_created 1.7E9',
    '# TYPE g gauge',
    'g 1',
    '# TYPE g_created gauge', // g is a gauge, not a counter: kept
    'g_created 2',
    'conferences_created_total 5', // untyped, ends with _total but is not a counter
    'conferences_created_created 6',
  ].join('\n');
  const { families, samples } = parseOk(body, P);
  assert.equal(
    families.map((f) => f.name),
    ['c_total', 'early_total', 'h', 's', 'orphan_created', 'g', 'g_created', 'conferences_created_total', 'conferences_created_created'],
  );
  assert.is(samples, 1 + 1 + 3 + 2 + 1 + 1 + 1 + 1 + 1);
});

test('0.0.4: empty body and comments only are valid and empty', () => {
  assert.equal(parseOk('', P), { families: [], samples: 0 });
  assert.equal(parseOk('# just a comment\n\n# TYPE nothing gauge\n', P), { families: [], samples: 0 });
});

test('0.0.4: a label named __proto__ is kept as a label', () => {
  const { families } = parseOk('m{__proto__="x",a="b"} 1\n', P);
  const labels = families[0]!.series[0]!.labels;
  assert.equal(Object.keys(labels), ['__proto__', 'a']);
  assert.is(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value, 'x');
  assert.is(Object.getPrototypeOf(labels), Object.prototype);
});

// ------------------------------------------------------------- OpenMetrics 1.0

test('OpenMetrics: counter -> x_total family, _created skipped, exemplars ignored, timestamps kept (ms), UNIT', () => {
  const body = [
    '# TYPE req counter',
    '# HELP req Requests \\"served\\"\\n.',
    'req_total{code="200"} 10 1700000000.123 # {trace_id="abc"} 1.0 1700000000',
    'req_created{code="200"} 1.7e9',
    'req_total{code="500"} 1 # {} 2',
    '# TYPE up_seconds gauge',
    '# UNIT up_seconds seconds',
    '# HELP up_seconds Uptime.',
    'up_seconds 12.5 1700000000',
    '# TYPE old unknown',
    'old -Inf',
    '# EOF',
  ].join('\n');
  const { families, samples } = parseOk(body, OM);
  assert.equal(families, [
    {
      name: 'req_total',
      type: 'counter',
      help: 'Requests "served"\n.',
      unit: '',
      series: [
        { labels: { code: '200' }, value: 10, timestampMs: 1_700_000_000_123 },
        { labels: { code: '500' }, value: 1 },
      ],
    },
    { name: 'up_seconds', type: 'gauge', help: 'Uptime.', unit: 'seconds', series: [{ labels: {}, value: 12.5, timestampMs: 1_700_000_000_000 }] },
    { name: 'old', type: 'untyped', help: '', unit: '', series: [{ labels: {}, value: -Infinity }] },
  ]);
  assert.is(samples, 4);
});

test('OpenMetrics: info -> gauge x_info, stateset -> gauge, gaugehistogram -> gauges by sample name', () => {
  const body = [
    '# TYPE build info',
    '# HELP build Build.',
    'build_info{version="2.3"} 1',
    '# TYPE state stateset',
    'state{state="a"} 1',
    'state{state="b"} 0',
    '# TYPE q gaugehistogram',
    '# HELP q Queue.',
    'q_bucket{le="1.0"} 2',
    'q_bucket{le="+Inf"} 3 # {id="x"} 0.5',
    'q_gcount 3',
    'q_gsum 4.5',
    '# EOF',
    '',
  ].join('\n');
  const { families } = parseOk(body, OM);
  assert.equal(families, [
    { name: 'build_info', type: 'gauge', help: 'Build.', unit: '', series: [{ labels: { version: '2.3' }, value: 1 }] },
    {
      name: 'state',
      type: 'gauge',
      help: '',
      unit: '',
      series: [
        { labels: { state: 'a' }, value: 1 },
        { labels: { state: 'b' }, value: 0 },
      ],
    },
    {
      name: 'q_bucket',
      type: 'gauge',
      help: 'Queue.',
      unit: '',
      series: [
        { labels: { le: '1.0' }, value: 2 },
        { labels: { le: '+Inf' }, value: 3 },
      ],
    },
    { name: 'q_gcount', type: 'gauge', help: 'Queue.', unit: '', series: [{ labels: {}, value: 3 }] },
    { name: 'q_gsum', type: 'gauge', help: 'Queue.', unit: '', series: [{ labels: {}, value: 4.5 }] },
  ]);
});

test('OpenMetrics: histogram and summary grouping, _created skipped', () => {
  const body = [
    '# TYPE rtt_seconds histogram',
    '# UNIT rtt_seconds seconds',
    'rtt_seconds_bucket{dir="in",le="0.5"} 1',
    'rtt_seconds_bucket{dir="in",le="+Inf"} 2',
    'rtt_seconds_count{dir="in"} 2',
    'rtt_seconds_sum{dir="in"} 0.7',
    'rtt_seconds_created{dir="in"} 1.7e9',
    'rtt_seconds_bucket{dir="out",le="+Inf"} 0',
    '# TYPE lat summary',
    'lat{quantile="0.5"} 0.1',
    'lat_sum 3',
    'lat_count 30',
    'lat_created 1.7e9',
    '# EOF',
  ].join('\n');
  const { families, samples } = parseOk(body, OM);
  assert.equal(families, [
    {
      name: 'rtt_seconds',
      type: 'histogram',
      help: '',
      unit: 'seconds',
      series: [
        {
          labels: { dir: 'in' },
          buckets: [
            { le: '0.5', count: 1 },
            { le: '+Inf', count: 2 },
          ],
          count: 2,
          sum: 0.7,
        },
        { labels: { dir: 'out' }, buckets: [{ le: '+Inf', count: 0 }] },
      ],
    },
    { name: 'lat', type: 'summary', help: '', unit: '', series: [{ labels: {}, quantiles: [{ quantile: '0.5', value: 0.1 }], sum: 3, count: 30 }] },
  ]);
  assert.is(samples, 5 + 3);
});

test('OpenMetrics: # EOF with or without final newline; duplicates keep the first; untyped strays', () => {
  assert.equal(parseOk('# EOF', OM), { families: [], samples: 0 });
  assert.equal(parseOk('# EOF\n', OM), { families: [], samples: 0 });
  const { families } = parseOk('# TYPE a gauge\na 1\na 2\nb{x="1"} 3\nb{x="1"} 4\n# EOF', OM);
  assert.equal(families, [
    { name: 'a', type: 'gauge', help: '', unit: '', series: [{ labels: {}, value: 1 }] },
    { name: 'b', type: 'untyped', help: '', unit: '', series: [{ labels: { x: '1' }, value: 3 }] },
  ]);
});

test('OpenMetrics: a counter sample without _total is not the counter (untyped by its name)', () => {
  const { families } = parseOk('# TYPE c counter\nc 1\nc_total 2\n# EOF\n', OM);
  assert.equal(
    families.map((f) => [f.name, f.type]),
    [
      ['c', 'untyped'],
      ['c_total', 'counter'],
    ],
  );
});

// --------------------------------------------------------------------- invalid

const INVALID_004: Array<[string, string]> = [
  ['bad value', 'm 1x\n'],
  ['value true', 'm true\n'],
  ['hex value', 'm 0x10\n'],
  ['underscore value', 'm 1_000\n'],
  ['+nan', 'm +NaN\n'],
  ['out of range value', 'm 1e400\n'],
  ['missing value', 'm\n'],
  ['missing value after labels', 'm{a="b"}\n'],
  ['unterminated label value', 'm{a="b} 1\n'],
  ['unterminated label value at end', 'm{a="b'],
  ['backslash before newline', 'm{a="b\\\n"} 1\n'],
  ['single quotes', "m{a='b'} 1\n"],
  ['unquoted label value', 'm{a=b} 1\n'],
  ['bad metric name', '1m 1\n'],
  ['bad label name', 'm{1a="b"} 1\n'],
  ['label name with dash', 'm{a-b="c"} 1\n'],
  ['empty label name', 'm{="b"} 1\n'],
  ['double comma', 'm{a="b",,c="d"} 1\n'],
  ['leading comma', 'm{,a="b"} 1\n'],
  ['missing closing brace', 'm{a="b" 1\n'],
  ['duplicate label', 'm{a="1",a="2"} 1\n'],
  ['bad TYPE', '# TYPE m countr\nm 1\n'],
  ['TYPE with trailing space', '# TYPE m counter \nm 1\n'],
  ['OpenMetrics type in 0.0.4', '# TYPE m info\n'],
  ['bad HELP name', '# HELP 1m text\n'],
  ['negative timestamp', 'm 1 -5\n'],
  ['float timestamp', 'm 1 1.5\n'],
  ['timestamp too big', 'm 1 9223372036854775808\n'],
  ['two timestamps', 'm 1 2 3\n'],
  ['CRLF line ends', 'm 1\r\nn 2\r\n'],
  ['HTML body', '<!DOCTYPE html>\n<html><body>Not Found</body></html>\n'],
  ['JSON body', '{"conferences": 3, "participants": 10}'],
  ['labels without name', '{a="b"} 1\n'],
  ['blank before the metric name', 'a 1\n  b 2\n'],
  ['label __name__', 'a{__name__="b"} 1\n'],
];

const INVALID_OM: Array<[string, string]> = [
  ['empty body', ''],
  ['missing EOF', '# TYPE a gauge\na 1\n'],
  ['missing EOF, no final newline', 'a 1'],
  ['text after EOF', '# EOF\na 1\n'],
  ['blank line after EOF', '# EOF\n\n'],
  ['space after EOF', '# EOF \n'],
  ['EOF not last line', 'a 1\n# EOF\nb 2\n# EOF\n'],
  ['blank line', 'a 1\n\n# EOF\n'],
  ['plain comment', '# a comment\n# EOF\n'],
  ['#EOF without space', 'a 1\n#EOF\n'],
  ['bad value', 'a one\n# EOF\n'],
  ['bad value Infx', 'a Infx\n# EOF\n'],
  ['tab separator', 'a\t1\n# EOF\n'],
  ['two spaces', 'a  1\n# EOF\n'],
  ['trailing space', 'a 1 \n# EOF\n'],
  ['unterminated label value', 'a{b="c} 1\n# EOF\n'],
  ['newline in label value', 'a{b="c\nd"} 1\n# EOF\n'],
  ['trailing comma (allowed only in 0.0.4)', 'a{b="c",} 1\n# EOF\n'],
  ['space in labels', 'a{b="c", d="e"} 1\n# EOF\n'],
  ['labels without comma', 'a{b="c"d="e"} 1\n# EOF\n'],
  ['bad metric name', '9a 1\n# EOF\n'],
  ['bad label name', 'a{9="x"} 1\n# EOF\n'],
  ['duplicate label', 'a{b="1",b="2"} 1\n# EOF\n'],
  ['bad TYPE', '# TYPE a untyped\n# EOF\n'],
  ['TYPE without text', '# TYPE a\n# EOF\n'],
  ['HELP without space', '# HELP a\n# EOF\n'],
  ['unit not a suffix', '# UNIT a_bytes seconds\n# EOF\n'],
  ['NaN timestamp', 'a 1 NaN\n# EOF\n'],
  ['Inf timestamp', 'a 1 +Inf\n# EOF\n'],
  ['bad exemplar value', 'a_total 1 # {t="x"} y\n# EOF\n'],
  ['exemplar without value', 'a_total 1 # {t="x"}\n# EOF\n'],
  ['exemplar on a gauge sample', 'a 1 # {t="x"} 1\n# EOF\n'],
  ['exemplar timestamp NaN', 'a_total 1 # {t="x"} 1 NaN\n# EOF\n'],
  ['HTML body', '<html><body>502 Bad Gateway</body></html>'],
  ['JSON body', '{"conferences": 3}'],
  ['0.0.4 body', '# HELP a A.\n# TYPE a gauge\na{x="1",} 1.0\n'],
];

for (const [name, body] of INVALID_004) {
  test(`0.0.4 invalid: ${name}`, () => {
    const { reason, message } = parseFail(body, P);
    assert.is(reason, 'invalid_body');
    assert.match(message, /^line \d+, column \d+: /);
  });
}

for (const [name, body] of INVALID_OM) {
  test(`OpenMetrics invalid: ${name}`, () => {
    const { reason, message } = parseFail(body, OM);
    assert.is(reason, 'invalid_body');
    assert.match(message, /^line \d+, column \d+: /);
  });
}

test('error messages name the line and show at most ~60 characters of it', () => {
  const { message } = parseFail(`a 1\nb 2\nc{x="${'y'.repeat(5000)} 3\n`, P);
  assert.match(message, /^line 3, column 5: unterminated label value/);
  assert.ok(message.length < 200, message);
  const m2 = parseFail(`${'ok 1\n'.repeat(9)}${'long_name_'.repeat(500)} oops\n`, P).message;
  assert.match(m2, /^line 10, column \d+: invalid value "oops"/);
  assert.ok(m2.length < 200, m2);
  const m3 = parseFail('# TYPE a gauge\na 1\n', OM).message;
  assert.match(m3, /^line 3, .*# EOF/);
  const m4 = parseFail('x{a="1",a="2"} 1\n', P).message;
  assert.match(m4, /duplicate label name a/);
});

test('a fixture in the wrong format is refused', () => {
  assert.is(parseFail(TEXT_004, OM).reason, 'invalid_body'); // trailing commas, no # EOF
  assert.is(parseFail(TEXT_OM, P).reason, 'invalid_body'); // `# EOF` is a comment in 0.0.4, but `# TYPE x info` is not a 0.0.4 type
});

// ----------------------------------------------------------------------- limits

function gauges(n: number, om: boolean): string {
  let body = '# TYPE g gauge\n';
  for (let i = 0; i < n; i++) body += `g{i="${i}"} ${i}\n`;
  return om ? `${body}# EOF\n` : body;
}

test('too_many_series: maxSamples passes, maxSamples + 1 fails (both formats)', () => {
  for (const om of [false, true]) {
    const format = om ? OM : P;
    assert.is(parseOk(gauges(50, om), format, 50).samples, 50);
    const r = parseExposition(gauges(51, om), format, { maxSamples: 50 });
    assert.equal(r, { ok: false, reason: 'too_many_series', message: 'more than 50 series' });
  }
});

test('too_many_series: buckets, _sum and _count count; duplicates and _created do not', () => {
  const hist = '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\nh_created 1\n# EOF\n';
  assert.is(parseOk(hist, OM, 4).samples, 4);
  assert.is(parseFail(hist, OM, 3).reason, 'too_many_series');
  const simpleclient = '# TYPE c_total counter\nc_total 1.0\n# TYPE c_created gauge\nc_created 1.7E9\n';
  assert.is(parseOk(simpleclient, P, 1).samples, 1);
});

test('too_many_series stops at the limit: a syntax error after it is not reached', () => {
  const body = `${gauges(20, false)}this line is not valid\n`;
  assert.is(parseFail(body, P, 10).reason, 'too_many_series');
  assert.is(parseFail(body, P, 100).reason, 'invalid_body');
});

// --------------------------------------------------------------------- fixtures

/** An independent reader of `name{labels} value` lines: series key -> value text normalised. */
function readSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`fixture line not understood: ${line}`);
    const labels: string[] = [];
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels.push(`${l[1]}="${l[2]}"`);
    const key = seriesKey(m[1]!, labels);
    if (!out.has(key)) out.set(key, numberOf(m[3]!));
  }
  return out;
}

function numberOf(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  return Number(text);
}

function seriesKey(name: string, labels: string[]): string {
  return `${name}{${[...labels].sort().join(',')}}`;
}

function labelList(labels: Readonly<Record<string, string>>, extra?: [string, string]): string[] {
  const list = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  if (extra) list.push(`${extra[0]}="${extra[1]}"`);
  return list;
}

/** The parser's families as the same series key -> value map. */
function storedSeries(families: MetricFamily[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of families) {
    if (f.type === 'histogram') {
      for (const s of f.series) {
        for (const b of s.buckets) out.set(seriesKey(`${f.name}_bucket`, labelList(s.labels, ['le', b.le])), b.count);
        if (s.sum !== undefined) out.set(seriesKey(`${f.name}_sum`, labelList(s.labels)), s.sum);
        if (s.count !== undefined) out.set(seriesKey(`${f.name}_count`, labelList(s.labels)), s.count);
      }
    } else if (f.type === 'summary') {
      for (const s of f.series) {
        for (const q of s.quantiles) out.set(seriesKey(f.name, labelList(s.labels, ['quantile', q.quantile])), q.value);
        if (s.sum !== undefined) out.set(seriesKey(`${f.name}_sum`, labelList(s.labels)), s.sum);
        if (s.count !== undefined) out.set(seriesKey(`${f.name}_count`, labelList(s.labels)), s.count);
      }
    } else {
      for (const s of f.series) out.set(seriesKey(f.name, labelList(s.labels)), s.value);
    }
  }
  return out;
}

function withoutCreated(series: Map<string, number>): Map<string, number> {
  return new Map([...series].filter(([key]) => !/^[^{]*_created\{/.test(key)));
}

/** `# TYPE name type` lines of a text. */
function typeLines(text: string): Array<[string, string]> {
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]);
}

function helpLines(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

test('fixtures: the fixtures are what the tests below assume (every _created sample has a base family)', () => {
  const types = new Map(typeLines(TEXT_004));
  const created = [...types.keys()].filter((n) => n.endsWith('_created'));
  assert.ok(created.length > 50, `${created.length} _created gauges`);
  for (const name of created) {
    const base = name.slice(0, -'_created'.length);
    assert.ok(types.get(`${base}_total`) === 'counter' || types.get(base) === 'histogram' || types.get(base) === 'summary', name);
  }
  assert.ok(TEXT_OM.endsWith('# EOF\n'));
  assert.ok(/^[a-z_]+_bucket\{le="[^"]+",\} /m.test(TEXT_004), 'trailing commas in 0.0.4');
});

test('fixture 0.0.4: families by type and names follow the TYPE lines, _created gauges dropped; HELP kept', () => {
  const { families } = parseOk(TEXT_004, P);
  const types = typeLines(TEXT_004);
  const kept = types.filter(([name]) => !name.endsWith('_created'));
  assert.equal(countBy(families, (f) => f.type), countBy(kept, ([, type]) => type));
  assert.equal(
    families.map((f) => f.name),
    kept.map(([name]) => name),
    'family names and order',
  );
  const help = helpLines(TEXT_004);
  for (const f of families) assert.is(f.help, help.get(f.name)!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'), `help of ${f.name}`);
  for (const f of families) assert.is(f.unit, '');
});

test('fixture OpenMetrics: counters are x_total, info x is gauge x_info, families in order, HELP kept', () => {
  const { families } = parseOk(TEXT_OM, OM);
  const types = typeLines(TEXT_OM);
  const expectedName = ([name, type]: [string, string]): string => (type === 'counter' ? `${name}_total` : type === 'info' ? `${name}_info` : name);
  const expectedType = (type: string): string => (type === 'info' ? 'gauge' : type);
  assert.equal(
    families.map((f) => [f.name, f.type]),
    types.map((t) => [expectedName(t), expectedType(t[1])]),
  );
  const help = helpLines(TEXT_OM);
  const baseOf = new Map(types.map((t) => [expectedName(t), t[0]]));
  for (const f of families) assert.is(f.help, help.get(baseOf.get(f.name)!), `help of ${f.name}`);
});

test('fixtures: stored series are the sample lines without _created, and both formats store the same', () => {
  const from004 = withoutCreated(readSamples(TEXT_004));
  const fromOM = withoutCreated(readSamples(TEXT_OM));
  assert.ok(from004.size > 100, `${from004.size} series`);
  // the two texts, read independently, hold the same series
  assert.equal([...from004.keys()].sort(), [...fromOM.keys()].sort());
  for (const [key, value] of from004) assert.ok(Object.is(value, fromOM.get(key)), key);

  const p004 = parseOk(TEXT_004, P);
  const pOM = parseOk(TEXT_OM, OM);
  assert.is(p004.samples, from004.size);
  assert.is(pOM.samples, fromOM.size);
  const s004 = storedSeries(p004.families);
  const sOM = storedSeries(pOM.families);
  assert.equal([...s004.keys()].sort(), [...from004.keys()].sort());
  assert.equal([...sOM.keys()].sort(), [...fromOM.keys()].sort());
  for (const [key, value] of from004) {
    assert.ok(Object.is(s004.get(key), value), `0.0.4 ${key}: ${s004.get(key)} != ${value}`);
    assert.ok(Object.is(sOM.get(key), value), `OpenMetrics ${key}: ${sOM.get(key)} != ${value}`);
  }
});

test('fixtures: the set of sample names (without _created) matches the families', () => {
  for (const [text, format] of [
    [TEXT_004, P],
    [TEXT_OM, OM],
  ] as const) {
    const names = new Set(
      text
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => /^[^{ ]+/.exec(l)![0])
        .filter((n) => !n.endsWith('_created')),
    );
    const fromFamilies = new Set([...storedSeries(parseOk(text, format).families).keys()].map((k) => k.slice(0, k.indexOf('{'))));
    assert.equal([...fromFamilies].sort(), [...names].sort(), format);
  }
});

test('fixtures: histogram buckets keep le as written and in order', () => {
  for (const [text, format] of [
    [TEXT_004, P],
    [TEXT_OM, OM],
  ] as const) {
    const { families } = parseOk(text, format);
    const histograms = families.filter((f) => f.type === 'histogram');
    assert.is(histograms.length, typeLines(text).filter(([, t]) => t === 'histogram').length);
    for (const h of histograms) {
      const written = [...text.matchAll(new RegExp(`^${h.name}_bucket\\{le="([^"]*)",?\\} `, 'gm'))].map((m) => m[1]);
      assert.equal(
        h.series.flatMap((s) => ('buckets' in s ? s.buckets.map((b) => b.le) : [])),
        written,
        h.name,
      );
    }
  }
});

test.run();
