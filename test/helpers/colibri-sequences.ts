// Seeded sequences of /colibri/stats bodies for the mapper's tests: each
// poll changes only numbers, or the shape (keys, types, bad values).
import { mulberry32 } from '../../src/sources/demo/seeded-random';
import { fixtureJson, jsonFixtureNames } from './fixtures';

/** A JSON round trip, as the reader gets each body: fresh objects and arrays. */
export const viaJson = (stats: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(stats)) as Record<string, unknown>;

/** The same body with new numbers: counters go up, gauges move, histogram slots change. */
export function otherNumbers(rnd: () => number, stats: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stats)) {
    if (typeof value === 'number') out[key] = rnd() < 0.8 ? Math.round(value + rnd() * 1000) : rnd() * 100;
    else if (Array.isArray(value)) out[key] = value.map((slot) => (typeof slot === 'number' ? Math.floor(rnd() * 9) : slot));
    else out[key] = value;
  }
  return out;
}

/** One change of another kind: a key added, removed or moved; a value of another type; a bad number; an info label. */
export function otherShape(rnd: () => number, stats: Record<string, unknown>): Record<string, unknown> {
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

/**
 * Bounded, seeded sequences (15 runs of 15 polls per fixture; 70 % of the
 * polls change only numbers): `visit` sees each body as the reader gets it
 * (fresh objects) with a second copy for a full mapping.
 */
export function colibriSequences(seed: number, visit: (name: string, run: number, poll: number, body: Record<string, unknown>, fresh: () => Record<string, unknown>, newRun: boolean) => void): void {
  const rnd = mulberry32(seed);
  for (const name of jsonFixtureNames()) {
    for (let run = 0; run < 15; run++) {
      let stats = fixtureJson(name);
      for (let poll = 0; poll < 15; poll++) {
        if (poll > 0) stats = rnd() < 0.7 ? otherNumbers(rnd, stats) : otherShape(rnd, stats);
        const current = stats;
        visit(name, run, poll, viaJson(current), () => viaJson(current), poll === 0);
      }
    }
  }
}
