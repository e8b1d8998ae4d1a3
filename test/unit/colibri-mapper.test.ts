// ColibriMapper reuses the last mapping when a body only has other numbers.
// Whatever it does, each result must be what mapColibriStats() makes of the
// same body from nothing: checked over bounded, seeded sequences of real
// /colibri/stats bodies whose values, keys and value types change.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mulberry32 } from '../../src/sources/demo/seeded-random';
import { ColibriMapper } from '../../src/sources/colibri/colibri-mapper';
import { mapColibriStats } from '../../src/sources/colibri/map-colibri-stats';
import { ACTIVE_2021, CAPTURE_2026, fixtureJson, jsonFixtureNames } from '../helpers/fixtures';

/** A JSON round trip, as the reader gets each body: fresh objects and arrays. */
const viaJson = (stats: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(stats)) as Record<string, unknown>;

/** The same body with new numbers: counters go up, gauges move, histogram slots change. */
function otherNumbers(rnd: () => number, stats: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stats)) {
    if (typeof value === 'number') out[key] = rnd() < 0.8 ? Math.round(value + rnd() * 1000) : rnd() * 100;
    else if (Array.isArray(value)) out[key] = value.map((slot) => (typeof slot === 'number' ? Math.floor(rnd() * 9) : slot));
    else out[key] = value;
  }
  return out;
}

/** One change of another kind: a key added, removed or moved; a value of another type; a bad number; an info label. */
function otherShape(rnd: () => number, stats: Record<string, unknown>): Record<string, unknown> {
  const entries = Object.entries(stats);
  const i = Math.floor(rnd() * entries.length);
  const key = entries[i]![0];
  switch (Math.floor(rnd() * 9)) {
    case 0:
      return { ...stats, [`new_field_${Math.floor(rnd() * 5)}`]: rnd() * 10 };
    case 1:
      return Object.fromEntries(entries.filter((_, j) => j !== i));
    case 2:
      return Object.fromEntries([...entries.slice(i), ...entries.slice(0, i)]);
    case 3:
      return { ...stats, [key]: String(stats[key]) };
    case 4:
      return { ...stats, total_bytes_received: -5 }; // a negative counter
    case 5:
      return { ...stats, [key]: 1e400 }; // Infinity, as JSON.parse reads "1e400"
    case 6:
      return { ...stats, conference_sizes: rnd() < 0.5 ? 'not a histogram' : [1, -2, 3] };
    case 7:
      return { ...stats, version: `2.${Math.floor(rnd() * 3)}.0` };
    default:
      return { ...stats, [key]: rnd() < 0.5 ? null : { nested: 1 } };
  }
}

test('every result equals a full mapping of the same body (numbers changed, keys and types changed)', () => {
  const rnd = mulberry32(0x51ce); // (seeded: the same sequences on every run)
  let reused = 0;
  let polls = 0;
  for (const name of jsonFixtureNames()) {
    for (let run = 0; run < 15; run++) {
      const mapper = new ColibriMapper();
      let stats = fixtureJson(name);
      let previous: unknown;
      for (let poll = 0; poll < 15; poll++) {
        if (poll > 0) stats = rnd() < 0.7 ? otherNumbers(rnd, stats) : otherShape(rnd, stats);
        const body = viaJson(stats);
        const got = mapper.map(body, Object.keys(body));
        assert.equal(got, mapColibriStats(viaJson(stats)), `${name}, run ${run}, poll ${poll}`);
        if (got === previous) reused++;
        previous = got;
        polls++;
      }
    }
  }
  // (most polls only change numbers: those reuse the last mapping)
  assert.ok(reused > polls / 3, `reused ${reused} of ${polls}`);
});

test('new numbers in the same keys reuse the last families, with the new values in them', () => {
  const mapper = new ColibriMapper();
  const first = viaJson(fixtureJson(ACTIVE_2021));
  const a = mapper.map(first, Object.keys(first));
  const next = { ...viaJson(first), participants: 4242, conference_sizes: [0, 1, 2] };
  const b = mapper.map(next, Object.keys(next));
  assert.ok(a === b, 'the same result object');
  const participants = b.families.find((f) => f.name === 'jitsi_participants');
  assert.ok(participants?.type === 'gauge' && participants.series[0]!.value === 4242);
  const sizes = b.families.find((f) => f.name === 'jitsi_conference_sizes');
  assert.ok(sizes?.type === 'histogram');
  assert.equal([sizes.series[0]!.count, sizes.series[0]!.sum], [3, 1 * 1 + 2 * 2]);
  // Another bridge version's keys: mapped in full, a new result.
  const other = viaJson(fixtureJson(CAPTURE_2026));
  assert.ok(mapper.map(other, Object.keys(other)) !== b);
});

test.run();
