// ColibriMapper reuses the last mapping when a body only has other numbers.
// Whatever it does, each result must be what mapColibriStats() makes of the
// same body from nothing: checked over bounded, seeded sequences of real
// /colibri/stats bodies whose values, keys and value types change.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ColibriMapper } from '../../src/sources/colibri/colibri-mapper';
import { mapColibriStats } from '../../src/sources/colibri/map-colibri-stats';
import { colibriSequences, viaJson } from '../helpers/colibri-sequences';
import { ACTIVE_2021, CAPTURE_2026, fixtureJson } from '../helpers/fixtures';

test('every result equals a full mapping of the same body (numbers changed, keys and types changed)', () => {
  // (seeded: the same sequences on every run; test/perf/reuse.test.ts checks that they take the fast path)
  let mapper = new ColibriMapper();
  let polls = 0;
  colibriSequences(0x51ce, (name, run, poll, body, fresh, newRun) => {
    if (newRun) mapper = new ColibriMapper();
    assert.equal(mapper.map(body, Object.keys(body)), mapColibriStats(fresh()), `${name}, run ${run}, poll ${poll}`);
    polls++;
  });
  assert.ok(polls >= 15 * 15 * 5, `${polls} polls`);
});

test('new numbers in the same keys: the result holds the new values', () => {
  const mapper = new ColibriMapper();
  const first = viaJson(fixtureJson(ACTIVE_2021));
  const a = mapper.map(first, Object.keys(first));
  const next = { ...viaJson(first), participants: 4242, conference_sizes: [0, 1, 2] };
  const b = mapper.map(next, Object.keys(next));
  assert.equal(b, mapColibriStats(viaJson(next)));
  assert.is(a.families.length, b.families.length);
  const participants = b.families.find((f) => f.name === 'jitsi_participants');
  assert.ok(participants?.type === 'gauge' && participants.series[0]!.value === 4242);
  const sizes = b.families.find((f) => f.name === 'jitsi_conference_sizes');
  assert.ok(sizes?.type === 'histogram');
  assert.equal([sizes.series[0]!.count, sizes.series[0]!.sum], [3, 1 * 1 + 2 * 2]);
  // Another bridge version's keys: mapped in full.
  const other = viaJson(fixtureJson(CAPTURE_2026));
  assert.equal(mapper.map(other, Object.keys(other)), mapColibriStats(viaJson(fixtureJson(CAPTURE_2026))));
});

test.run();
