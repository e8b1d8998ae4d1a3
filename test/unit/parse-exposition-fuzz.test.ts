/**
 * Bounded, deterministic fuzz test of the exposition parser: generated valid
 * bodies of both formats, mutations of them and of the fixtures, random
 * ASCII, and pathological 1 MB lines. Every call must return a result (never
 * throw); a success holds at most maxSamples samples; a failure names its
 * reason with a short message. No timing assertions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleCount } from '../../src/model/metric-family';
// (seeded, so every run tries the same inputs)
import { mulberry32 } from '../../src/sources/demo/seeded-random';
import { ExpositionReparser } from '../../src/sources/native/exposition-reparser';
import { parseExposition, parseExpositionWithPlaces, type ExpositionFormat, type ParseResult } from '../../src/sources/native/parse-exposition';

const FIXTURE_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'jvb-native');
const FIXTURES: Array<[string, ExpositionFormat]> = [
  [readFileSync(path.join(FIXTURE_DIR, 'jvb-metrics-simpleclient-0.16-generated.txt'), 'utf8'), 'text-0.0.4'],
  [readFileSync(path.join(FIXTURE_DIR, 'jvb-metrics-simpleclient-0.16-generated.openmetrics.txt'), 'utf8'), 'openmetrics-1.0'],
];
const FORMATS: ExpositionFormat[] = ['text-0.0.4', 'openmetrics-1.0'];

class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  float(): number {
    return this.next();
  }
}

const MAX_SAMPLES = [0, 1, 5, 50, 1000, 100_000];

/** Calls the parser and checks the result's shape; returns it. */
function check(body: string, format: ExpositionFormat, maxSamples: number): ParseResult {
  let r: ParseResult;
  try {
    r = parseExposition(body, format, { maxSamples });
  } catch (e) {
    assert.unreachable(`threw ${String(e)} for ${format} ${JSON.stringify(body.slice(0, 120))}`);
    throw e;
  }
  assert.type(r, 'object');
  assert.type(r.ok, 'boolean');
  if (r.ok) {
    assert.ok(Array.isArray(r.families));
    assert.ok(r.samples <= maxSamples, `${r.samples} samples > ${maxSamples}`);
    assert.is(
      r.samples,
      r.families.reduce((n, f) => n + sampleCount(f), 0),
    );
    for (const f of r.families) {
      assert.type(f.name, 'string');
      assert.ok(f.series.length > 0, `family ${f.name} without series`);
    }
  } else {
    assert.ok(r.reason === 'invalid_body' || r.reason === 'too_many_series', r.reason);
    assert.type(r.message, 'string');
    assert.ok(r.message.length < 400, `message of ${r.message.length} chars`);
  }
  return r;
}

// ---------------------------------------------------------------- generation

const LABEL_NAMES = ['a', 'b', 'dir', 'conference_id', '_x', 'endpoint', 'Z9'];
const LABEL_CHARS = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', '€', '😀', '{', '}', ',', '=', '#', '\t', 'n'];
const VALUES = ['0', '0.0', '1.0', '-2.5', '1.724E12', '1.795741436501E9', '1e-3', '.5', '5.', 'NaN', 'nan', '+Inf', '-Inf', 'Inf', '-0.0', '123456789012345678', '7.424100000000001e-05', '+3'];

function labelValue(rnd: Random): { raw: string; written: string } {
  let raw = '';
  const n = rnd.int(6);
  for (let i = 0; i < n; i++) raw += rnd.pick(LABEL_CHARS);
  const written = raw.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return { raw, written };
}

function value(rnd: Random): string {
  switch (rnd.int(4)) {
    case 0:
      return String(rnd.int(100000));
    case 1:
      return (rnd.float() * 1e6).toExponential(rnd.int(10));
    default:
      return rnd.pick(VALUES);
  }
}

/** A valid body of random families, and how many samples a scrape stores from it. */
function generate(rnd: Random, om: boolean): { body: string; samples: number } {
  const lines: string[] = [];
  const created: string[] = [];
  let samples = 0;
  const ws = (): string => (om ? ' ' : rnd.pick([' ', '\t', '  ', ' \t']));
  const maybeWs = (): string => (om || rnd.chance(0.7) ? '' : rnd.pick([' ', '\t']));
  const sample = (name: string, labels: Array<[string, string]>, exemplar: boolean): void => {
    let line = name;
    if (labels.length > 0 || rnd.chance(0.1)) {
      if (!om && rnd.chance(0.2)) line += ' ';
      const parts = labels.map(([k, v]) => `${maybeWs()}${k}${maybeWs()}=${maybeWs()}"${v}"${maybeWs()}`);
      line += `{${parts.join(',')}${!om && labels.length > 0 && rnd.chance(0.3) ? ',' : ''}}`;
    }
    line += ws() + value(rnd);
    if (rnd.chance(0.2)) line += ws() + (om ? (1.7e9 + rnd.float()).toFixed(3) : String(1_700_000_000_000 + rnd.int(1000)));
    if (om && exemplar && rnd.chance(0.4)) line += ` # {trace_id="${rnd.int(1e6)}"} ${value(rnd)}${rnd.chance(0.5) ? ' 1700000000.5' : ''}`;
    if (!om && rnd.chance(0.1)) line += rnd.pick([' ', '\t']);
    lines.push(line);
  };
  /** The same series again, labels in another order (and other blanks in 0.0.4): Prometheus keeps the first. */
  const duplicate = (name: string, labels: Array<[string, string]>): void => {
    const copy = [...labels];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = rnd.int(i + 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    sample(name, copy, false);
  };
  const families = 1 + rnd.int(6);
  for (let f = 0; f < families; f++) {
    const unit = om && rnd.chance(0.3) ? 'seconds' : '';
    const base = `${rnd.pick(['jvb', 'x:y', '_z', 'Fam'])}_${f}${unit ? '_seconds' : ''}`;
    const type = rnd.pick(om ? ['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown', ''] : ['counter', 'gauge', 'histogram', 'summary', 'untyped', '']);
    const metaName = !om && type === 'counter' ? `${base}_total` : base;
    const meta: string[] = [];
    if (type !== '') meta.push(`# TYPE ${metaName} ${type}`);
    if (rnd.chance(0.7)) meta.push(`# HELP ${metaName} ${labelValue(rnd).written.replace(/\n/g, '')}`);
    if (unit) meta.push(`# UNIT ${metaName} ${unit}`);
    if (rnd.chance(0.5)) meta.reverse();
    lines.push(...meta);
    if (!om && rnd.chance(0.2)) lines.push(rnd.pick(['', '# a comment', '#', '   ']));
    const seriesCount = 1 + rnd.int(3);
    for (let s = 0; s < seriesCount; s++) {
      const labels: Array<[string, string]> = [['i', String(s)]];
      for (const name of LABEL_NAMES) if (rnd.chance(0.2)) labels.push([name, labelValue(rnd).written]);
      for (let i = labels.length - 1; i > 0; i--) {
        const j = rnd.int(i + 1);
        [labels[i], labels[j]] = [labels[j]!, labels[i]!];
      }
      switch (type) {
        case 'counter':
          sample(`${base}_total`, labels, true);
          samples++;
          if (rnd.chance(0.15)) duplicate(`${base}_total`, labels);
          if (om && rnd.chance(0.5)) sample(`${base}_created`, labels, false);
          break;
        case 'info':
          sample(`${base}_info`, labels, false);
          samples++;
          break;
        case 'histogram':
        case 'gaugehistogram': {
          const les = ['0.1', '1.0', '10', '+Inf'].slice(rnd.int(3));
          for (const le of les) sample(`${base}_bucket`, [...labels, ['le', le]], true);
          samples += les.length;
          const [sum, count] = type === 'histogram' ? ['_sum', '_count'] : ['_gsum', '_gcount'];
          if (rnd.chance(0.8)) {
            sample(`${base}${count}`, labels, false);
            samples++;
          }
          if (rnd.chance(0.8)) {
            sample(`${base}${sum}`, labels, false);
            samples++;
          }
          if (om && type === 'histogram' && rnd.chance(0.5)) sample(`${base}_created`, labels, false);
          break;
        }
        case 'summary': {
          const qs = ['0.5', '0.9', '0.99'].slice(rnd.int(4));
          for (const q of qs) sample(base, [...labels, ['quantile', q]], false);
          sample(`${base}_sum`, labels, false);
          sample(`${base}_count`, labels, false);
          samples += qs.length + 2;
          if (om && rnd.chance(0.5)) sample(`${base}_created`, labels, false);
          break;
        }
        default:
          sample(base, labels, false);
          samples++;
          if (rnd.chance(0.15)) duplicate(base, labels);
      }
    }
    if (!om && (type === 'counter' || type === 'histogram' || type === 'summary')) {
      // simpleclient: the creation time as a separate gauge family at the end.
      created.push(`# HELP ${base}_created created`, `# TYPE ${base}_created gauge`, `${base}_created 1.7E9`);
    }
  }
  lines.push(...created);
  if (om) return { body: `${lines.join('\n')}\n# EOF${rnd.chance(0.8) ? '\n' : ''}`, samples };
  return { body: lines.join('\n') + (rnd.chance(0.8) ? '\n' : ''), samples };
}

// ------------------------------------------------------------------ mutation

const INSERTS = ['{', '}', '"', '\\', '\n', '#', ',', '=', ' ', '\t', '# EOF\n', '\u0000', '\r', 'NaN', '_created', '_total', 'le="1"', '_bucket', '# TYPE x histogram\n', '# HELP ', '\\n', '}}', '{{', '""'];

function randomAscii(rnd: Random, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rnd.chance(0.1) ? rnd.pick([10, 9, 0, 127, 200, 0x20ac]) : 32 + rnd.int(95));
  return s;
}

function mutate(rnd: Random, input: string): string {
  let s = input;
  const count = 1 + rnd.int(3);
  for (let k = 0; k < count; k++) {
    const at = rnd.int(s.length + 1);
    switch (rnd.int(8)) {
      case 0: // replace one character
        s = s.slice(0, at) + randomAscii(rnd, 1) + s.slice(at + 1);
        break;
      case 1: // truncate
        s = s.slice(0, at);
        break;
      case 2: {
        // duplicate a slice
        const len = rnd.int(200);
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
        break;
      }
      case 3: // insert a special token
        s = s.slice(0, at) + rnd.pick(INSERTS) + s.slice(at);
        break;
      case 4: // delete a slice
        s = s.slice(0, at) + s.slice(at + rnd.int(20));
        break;
      case 5: {
        // swap two lines
        const lines = s.split('\n');
        const i = rnd.int(lines.length);
        const j = rnd.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\n');
        break;
      }
      case 6: {
        // replace a line with random text
        const lines = s.split('\n');
        lines[rnd.int(lines.length)] = randomAscii(rnd, rnd.int(40));
        s = lines.join('\n');
        break;
      }
      default: // append junk
        s += randomAscii(rnd, rnd.int(30));
    }
  }
  return s;
}

// --------------------------------------------------------------------- tests

test('generated valid bodies of both formats parse, and store the expected number of samples', () => {
  const rnd = new Random(0x5eed);
  for (let i = 0; i < 400; i++) {
    const om = i % 2 === 1;
    const format: ExpositionFormat = om ? 'openmetrics-1.0' : 'text-0.0.4';
    const { body, samples } = generate(rnd, om);
    const r = check(body, format, 100_000);
    if (!r.ok) assert.unreachable(`generated ${format} body refused: ${r.message}\n${body}`);
    else assert.is(r.samples, samples, body);
    // The same body with a limit just under its size is refused.
    if (samples > 0) assert.equal(check(body, format, samples - 1), { ok: false, reason: 'too_many_series', message: `more than ${samples - 1} series` });
  }
});

test('mutated generated bodies, mutated fixture slices and random ASCII: never throw, results well-formed', () => {
  const rnd = new Random(0xc0ffee);
  for (let i = 0; i < 1500; i++) {
    const om = rnd.chance(0.5);
    const source = generate(rnd, om).body;
    const mutated = mutate(rnd, source);
    for (const format of FORMATS) check(mutated, format, rnd.pick(MAX_SAMPLES));
  }
  for (let i = 0; i < 600; i++) {
    const [text] = rnd.pick(FIXTURES);
    const start = rnd.int(text.length);
    const slice = text.slice(start, start + 200 + rnd.int(4000));
    const mutated = mutate(rnd, rnd.chance(0.5) ? slice : `${slice}\n# EOF\n`);
    for (const format of FORMATS) check(mutated, format, rnd.pick(MAX_SAMPLES));
  }
  for (let i = 0; i < 40; i++) {
    const [text, format] = rnd.pick(FIXTURES);
    check(mutate(rnd, text), format, rnd.pick(MAX_SAMPLES));
  }
  for (let i = 0; i < 800; i++) {
    const junk = randomAscii(rnd, rnd.int(300));
    for (const format of FORMATS) check(junk, format, rnd.pick(MAX_SAMPLES));
  }
});

test('pathological long lines (1 MB) return a result', () => {
  const MB = 1 << 20;
  const manyLabels = `m{${Array.from({ length: 50_000 }, (_, i) => `l${i}="v"`).join(',')}} 1\n`;
  const bodies = [
    '{'.repeat(MB),
    '"'.repeat(MB),
    'a'.repeat(MB),
    '\\'.repeat(MB),
    '#'.repeat(MB),
    '\n'.repeat(MB),
    ' '.repeat(MB),
    `a{b="${'x'.repeat(MB)}`,
    `a{b="${'\\"'.repeat(MB / 2)}"} 1\n`,
    `a{${'b="c",'.repeat(MB / 6)}} 1\n`,
    manyLabels,
    `# HELP a ${'\\n'.repeat(MB / 2)}\n`,
    `a ${'1'.repeat(MB)}\n`,
    `a 0.${'0'.repeat(MB)}1\n`,
    `a 1e${'9'.repeat(MB)}\n`,
    'a 1\n'.repeat(MB / 4),
    `a_total 1 # {${'b="c",'.repeat(MB / 6)}} 1\n# EOF\n`,
    `${'# TYPE a gauge\n'.repeat(MB / 15)}# EOF\n`,
  ];
  for (const body of bodies) {
    for (const format of FORMATS) {
      const r = check(body, format, 100_000);
      if (!r.ok) assert.ok(r.message.length < 400);
    }
  }
  // A few of them are valid; check the parser agrees.
  const ok = check(manyLabels, 'text-0.0.4', 10);
  assert.ok(ok.ok && ok.families[0]!.series.length === 1 && Object.keys(ok.families[0]!.series[0]!.labels).length === 50_000);
  const dup = check('a 1\n'.repeat(MB / 4), 'text-0.0.4', 1);
  assert.ok(dup.ok && dup.samples === 1);
});

/**
 * `body` with some sample values replaced by other values (or, when `invalid`,
 * one by a word that is no number), found from where a full parse says the
 * values are. Any other text stays as it was.
 */
function withOtherValues(rnd: Random, body: string, format: ExpositionFormat, invalid = false): string {
  const parsed = parseExpositionWithPlaces(body, format, { maxSamples: 100_000 });
  if (!parsed.ok || parsed.places.length === 0) return body;
  const wrong = invalid ? rnd.int(parsed.places.length) : -1;
  let out = '';
  let from = 0;
  parsed.places.forEach((place, k) => {
    const replaced = k === wrong ? rnd.pick(['x', '1,5', '0x10', '1_000', '']) : rnd.chance(0.7) ? value(rnd) : body.slice(place.start, place.end);
    out += body.slice(from, place.start) + replaced;
    from = place.end;
  });
  return out + body.slice(from);
}

test('reparser: every body of a sequence gives what a full parse of it gives (values changed, text changed, invalid)', () => {
  const rnd = new Random(0xbead);
  let reused = 0;
  for (let run = 0; run < 120; run++) {
    const om = run % 2 === 1;
    const format: ExpositionFormat = om ? 'openmetrics-1.0' : 'text-0.0.4';
    const base = run < 4 ? FIXTURES[run % 2]![0] : generate(rnd, om).body;
    const maxSamples = rnd.pick([5, 100_000]);
    const reparser = new ExpositionReparser();
    let body = base;
    let previous: ParseResult | undefined;
    for (let poll = 0; poll < 12; poll++) {
      const kind = rnd.int(10);
      const next = poll === 0 ? base : kind < 6 ? withOtherValues(rnd, body, format) : kind < 8 ? withOtherValues(rnd, body, format, true) : kind < 9 ? mutate(rnd, body) : base;
      const got = reparser.parse(next, format, { maxSamples });
      assert.equal(got, parseExposition(next, format, { maxSamples }), `run ${run}, poll ${poll}`);
      if (got.ok && previous?.ok && got.families === previous.families) reused++;
      previous = got;
      if (got.ok) body = next;
    }
  }
  // (most sequences are of bodies that differ in values only: those reuse the last result)
  assert.ok(reused > 300, `results reused ${reused} times`);
});

test('reparser: a body with only its values changed reuses the last families, with the new values in them', () => {
  const [fixture, format] = FIXTURES[0]!;
  const reparser = new ExpositionReparser();
  const first = reparser.parse(fixture, format, { maxSamples: 100_000 });
  if (!first.ok) return assert.unreachable(first.message);
  const changed = withOtherValues(new Random(7), fixture, format);
  assert.is.not(changed, fixture);
  const second = reparser.parse(changed, format, { maxSamples: 100_000 });
  if (!second.ok) return assert.unreachable(second.message);
  assert.ok(second.families === first.families, 'the same family objects');
  assert.equal(second, parseExposition(changed, format, { maxSamples: 100_000 }));
  // A new series is a new shape: parsed in full, new objects.
  const third = reparser.parse(`${changed}jvb_reparser_new_series 1\n`, format, { maxSamples: 100_000 });
  if (!third.ok) return assert.unreachable(third.message);
  assert.ok(third.families !== first.families);
  assert.ok(third.families.some((f) => f.name === 'jvb_reparser_new_series'));
});

test('non-string input and unknown formats return a failure instead of throwing', () => {
  const bad = parseExposition(undefined as unknown as string, 'text-0.0.4', { maxSamples: 10 });
  assert.is(bad.ok, false);
  const fmt = parseExposition('a 1\n', 'json' as unknown as ExpositionFormat, { maxSamples: 10 });
  assert.is(fmt.ok, false);
  const limits = parseExposition('a 1\n', 'text-0.0.4', undefined as unknown as { maxSamples: number });
  assert.type(limits.ok, 'boolean');
});

test.run();
