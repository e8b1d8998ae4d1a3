/**
 * Bounded, deterministic fuzz test of the exposition parser: generated valid
 * bodies of both formats, mutations of them and of the fixtures, random
 * ASCII, and pathological 1 MB lines. Every call must return a result (never
 * throw); a success holds at most maxSamples samples; a failure names its
 * reason with a short message. No timing assertions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleCount } from '../../src/model/metric-family';
// (seeded, so every run tries the same inputs)
import { ExpositionReparser } from '../../src/sources/native/exposition-reparser';
import { parseExposition, type ExpositionFormat, type ParseResult } from '../../src/sources/native/parse-exposition';

import { FIXTURES, generate, mutate, Random, randomAscii, reparserSequences, withOtherValues } from '../helpers/exposition-generators';

const FORMATS: ExpositionFormat[] = ['text-0.0.4', 'openmetrics-1.0'];

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


test('reparser: every body of a sequence gives what a full parse of it gives (values changed, text changed, invalid)', () => {
  // (test/perf/reuse.test.ts checks that these sequences take the fast path)
  let polls = 0;
  reparserSequences((run, poll, reparser, next, format, maxSamples) => {
    assert.equal(reparser.parse(next, format, { maxSamples }), parseExposition(next, format, { maxSamples }), `run ${run}, poll ${poll}`);
    polls++;
  });
  assert.is(polls, 120 * 12);
});

test('reparser: a body with only its values changed gives the new values; a new series is parsed in', () => {
  const [fixture, format] = FIXTURES[0]!;
  const reparser = new ExpositionReparser();
  const first = reparser.parse(fixture, format, { maxSamples: 100_000 });
  if (!first.ok) return assert.unreachable(first.message);
  const changed = withOtherValues(new Random(7), fixture, format);
  assert.is.not(changed, fixture);
  const second = reparser.parse(changed, format, { maxSamples: 100_000 });
  if (!second.ok) return assert.unreachable(second.message);
  assert.equal(second, parseExposition(changed, format, { maxSamples: 100_000 }));
  const third = reparser.parse(`${changed}jvb_reparser_new_series 1\n`, format, { maxSamples: 100_000 });
  if (!third.ok) return assert.unreachable(third.message);
  assert.ok(third.families.some((f) => f.name === 'jvb_reparser_new_series'));
  assert.equal(third, parseExposition(`${changed}jvb_reparser_new_series 1\n`, format, { maxSamples: 100_000 }));
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
