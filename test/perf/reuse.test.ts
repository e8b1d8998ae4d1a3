// The fast paths' own promise: a poll whose body only changed its numbers
// reuses the last result instead of building a new one. Behaviour (every
// result equals a full mapping or parse) is pinned in test/unit; this tier
// pins the optimisation, so that a change that silently loses it fails here.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ColibriMapper } from '../../src/sources/colibri/colibri-mapper';
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

test.run();
