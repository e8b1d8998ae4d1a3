// The fast paths' own promise: a poll whose body only changed its numbers
// reuses the last result instead of building a new one. Behaviour (every
// result equals a full mapping or parse) is pinned in test/unit; this tier
// pins the optimisation, so that a change that silently loses it fails here.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ColibriMapper } from '../../src/sources/colibri/colibri-mapper';
import { ExpositionReparser } from '../../src/sources/native/exposition-reparser';
import type { ParseResult } from '../../src/sources/native/parse-exposition';
import { FIXTURES, Random, reparserSequences, withOtherValues } from '../helpers/exposition-generators';
import { colibriSequences, viaJson } from '../helpers/colibri-sequences';
import { ACTIVE_2021, CAPTURE_2026, fixtureJson } from '../helpers/fixtures';

test('colibri: most polls of the seeded sequences (those that only change numbers) reuse the last mapping', () => {
  let mapper = new ColibriMapper();
  let previous: unknown;
  let reused = 0;
  let polls = 0;
  colibriSequences(0x51ce, (_name, _run, _poll, body, _fresh, newRun) => {
    if (newRun) {
      mapper = new ColibriMapper();
      previous = undefined;
    }
    const got = mapper.map(body, Object.keys(body));
    if (got === previous) reused++;
    previous = got;
    polls++;
  });
  assert.ok(reused > polls / 3, `reused ${reused} of ${polls}`);
});

test('colibri: new numbers in the same keys give the same result object; other keys a new one', () => {
  const mapper = new ColibriMapper();
  const first = viaJson(fixtureJson(ACTIVE_2021));
  const a = mapper.map(first, Object.keys(first));
  const next = { ...viaJson(first), participants: 4242, conference_sizes: [0, 1, 2] };
  assert.ok(mapper.map(next, Object.keys(next)) === a, 'the same result object');
  const other = viaJson(fixtureJson(CAPTURE_2026));
  assert.ok(mapper.map(other, Object.keys(other)) !== a);
});

test('native: most bodies of the seeded sequences (values changed only) reuse the last result', () => {
  let previous: ParseResult | undefined;
  let reused = 0;
  reparserSequences((_run, poll, reparser, next, format, maxSamples) => {
    const got = reparser.parse(next, format, { maxSamples });
    if (poll > 0 && got.ok && previous?.ok && got.families === previous.families) reused++;
    previous = got;
  });
  assert.ok(reused > 300, `results reused ${reused} times`);
});

test('native: a body with only its values changed gives the same family objects; a new series new ones', () => {
  const [fixture, format] = FIXTURES[0]!;
  const reparser = new ExpositionReparser();
  const first = reparser.parse(fixture, format, { maxSamples: 100_000 });
  const second = reparser.parse(withOtherValues(new Random(7), fixture, format), format, { maxSamples: 100_000 });
  assert.ok(first.ok && second.ok && second.families === first.families, 'the same family objects');
  const third = reparser.parse(`${fixture}jvb_reparser_new_series 1\n`, format, { maxSamples: 100_000 });
  assert.ok(third.ok && third.families !== first.families);
});

test.run();
