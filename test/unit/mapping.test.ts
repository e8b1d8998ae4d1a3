import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { BridgeRegistry } from '../../src/registry/bridge-registry';
import { mapColibriStats } from '../../src/sources/colibri/map-colibri-stats';
import { ACTIVE_2021, CAPTURE_2026, fixtureJson, fixtureText, IDLE_2021, jsonFixtureNames, SEED_OUTPUT } from '../helpers/fixtures';
import { parseExposition, sampleValue, type Exposition } from '../helpers/parse-exposition';

const seed = parseExposition(fixtureText(SEED_OUTPUT));
const SEED_FAMILIES = [...seed.type.keys()].filter((name) => name.startsWith('jitsi_'));
const HISTOGRAM_KEYS = ['conference_sizes', 'conferences_by_audio_senders', 'conferences_by_video_senders'];
const INFO_KEYS = ['version', 'release', 'region', 'relay_id'];

async function render(stats: Record<string, unknown>): Promise<Exposition> {
  const bridge = new BridgeRegistry('test', 'jvb', {}, createLogger({ level: 'error', format: 'logfmt', write: () => {} }));
  const mapped = mapColibriStats(stats);
  bridge.collect({ ok: true, families: mapped.families, skipped: mapped.skipped, endpoint: 'test', durationMs: 0 });
  return parseExposition(await bridge.registry.metrics());
}

/** The naming rule as README states it, written again here so the test does not trust the code's copy. */
function expectedName(key: string): string {
  if (seed.type.has(`jitsi_${key}`)) return `jitsi_${key}`;
  const base = key.replace('milliseconds', 'seconds');
  return base.startsWith('total_') ? `jitsi_${base.slice(6)}_total` : `jitsi_${base}`;
}

test('the seed names 61 jitsi_ families (sanity check of the shared sample)', () => {
  assert.is(SEED_FAMILIES.length, 61);
});

for (const fixture of jsonFixtureNames()) {
  test(`${fixture}: seed families keep the seed's name, type and HELP, with the fixture's value`, async () => {
    const stats = fixtureJson(fixture);
    const out = await render(stats);
    let checked = 0;
    for (const family of SEED_FAMILIES) {
      const key = family.slice('jitsi_'.length);
      if (!(key in stats)) {
        assert.not.ok(out.type.has(family), `${family} is exported although ${fixture} has no ${key}`);
        continue;
      }
      assert.is(out.type.get(family), seed.type.get(family), `TYPE of ${family}`);
      assert.is(out.help.get(family), seed.help.get(family), `HELP of ${family}`);
      if (!HISTOGRAM_KEYS.includes(key)) assert.is(sampleValue(out, family), Number(stats[key]), `value of ${family}`);
      checked++;
    }
    assert.ok(checked >= 20, `only ${checked} seed families found in ${fixture}`);
  });

  test(`${fixture}: every numeric and boolean field becomes a metric, nothing is skipped`, async () => {
    const stats = fixtureJson(fixture);
    const out = await render(stats);
    for (const [key, value] of Object.entries(stats)) {
      if (HISTOGRAM_KEYS.includes(key) || INFO_KEYS.includes(key) || key === 'current_timestamp') continue;
      assert.ok(typeof value === 'number' || typeof value === 'boolean', `${fixture}: unexpected ${typeof value} field ${key}`);
      const name = expectedName(key);
      const expected = typeof value === 'boolean' ? Number(value) : key.includes('milliseconds') ? value / 1000 : value;
      assert.is(sampleValue(out, name), expected, `${key} -> ${name}`);
      const expectedType = seed.type.get(name) ?? (key.startsWith('total_') ? 'counter' : 'gauge');
      assert.is(out.type.get(name), expectedType, `TYPE of ${name}`);
      assert.ok((out.help.get(name) ?? '').length > 0, `${name} has a HELP text`);
    }
    assert.is(mapColibriStats(stats).skipped.length, 0);
  });

  test(`${fixture}: the strings become one info metric with value 1`, async () => {
    const stats = fixtureJson(fixture);
    const out = await render(stats);
    const expectedLabels = Object.fromEntries(INFO_KEYS.filter((k) => typeof stats[k] === 'string').map((k) => [k, stats[k] as string]));
    if (Object.keys(expectedLabels).length === 0) {
      assert.not.ok(out.type.has('jitsi_bridge_info'));
      return;
    }
    const info = out.samples.filter((s) => s.name === 'jitsi_bridge_info');
    assert.is(info.length, 1);
    assert.equal(info[0]!.labels, expectedLabels);
    assert.is(info[0]!.value, 1);
  });
}

for (const fixture of [ACTIVE_2021, IDLE_2021]) {
  test(`${fixture}: histograms have cumulative buckets le=0..20,+Inf, a count and the sum of i*n_i`, async () => {
    const stats = fixtureJson(fixture);
    const out = await render(stats);
    for (const key of HISTOGRAM_KEYS) {
      const counts = stats[key] as number[];
      assert.is(counts.length, 22);
      const name = `jitsi_${key}`;
      assert.is(out.type.get(name), 'histogram');
      let cumulative = 0;
      for (let le = 0; le <= 20; le++) {
        cumulative += counts[le]!;
        assert.is(sampleValue(out, `${name}_bucket`, { le: String(le) }), cumulative, `${name} le=${le}`);
      }
      const total = counts.reduce((a, b) => a + b, 0);
      assert.is(sampleValue(out, `${name}_bucket`, { le: '+Inf' }), total);
      assert.is(sampleValue(out, `${name}_count`), total);
      assert.is(sampleValue(out, `${name}_sum`), counts.reduce((sum, n, i) => sum + i * n, 0));
      assert.is(out.samples.filter((s) => s.name === `${name}_bucket`).length, 22);
    }
  });
}

test('active 2021 capture: one conference of 2, one video sender, no audio sender (numbers read off the capture)', async () => {
  const out = await render(fixtureJson(ACTIVE_2021));
  assert.is(sampleValue(out, 'jitsi_conference_sizes_bucket', { le: '1' }), 0);
  assert.is(sampleValue(out, 'jitsi_conference_sizes_bucket', { le: '2' }), 1);
  assert.is(sampleValue(out, 'jitsi_conference_sizes_sum'), 2);
  assert.is(sampleValue(out, 'jitsi_conferences_by_video_senders_sum'), 1);
  assert.is(sampleValue(out, 'jitsi_conferences_by_audio_senders_sum'), 0);
  assert.is(sampleValue(out, 'jitsi_conferences_by_audio_senders_count'), 1);
});

test('the last slot means "that many or more": it lands in +Inf only and counts at its index in the sum', async () => {
  const counts = new Array(22).fill(0);
  counts[21] = 2;
  counts[3] = 1;
  const out = await render({ total_bytes_received: 0, conference_sizes: counts });
  assert.is(sampleValue(out, 'jitsi_conference_sizes_bucket', { le: '20' }), 1);
  assert.is(sampleValue(out, 'jitsi_conference_sizes_bucket', { le: '+Inf' }), 3);
  assert.is(sampleValue(out, 'jitsi_conference_sizes_sum'), 3 + 42);
});

test('2026 capture: no arrays means no histograms; booleans are 0/1 gauges; strings are labels', async () => {
  const stats = fixtureJson(CAPTURE_2026);
  const out = await render(stats);
  for (const key of HISTOGRAM_KEYS) assert.not.ok(out.type.has(`jitsi_${key}`));
  for (const key of ['drain', 'shutting_down', 'graceful_shutdown', 'healthy']) {
    assert.is(out.type.get(`jitsi_${key}`), 'gauge');
    assert.is(sampleValue(out, `jitsi_${key}`), stats[key] === true ? 1 : 0);
  }
  assert.is(sampleValue(out, 'jitsi_healthy'), 1);
  assert.is(sampleValue(out, 'jitsi_bridge_info', { version: '2.3.63-g2a4cc2f8', region: 'all', relay_id: 'jitsi-jvb-0' }), 1);
});

test('fields the seed did not know: total_* are counters named *_total, the rest gauges, milliseconds become seconds', async () => {
  const out = await render(fixtureJson(CAPTURE_2026));
  assert.is(out.type.get('jitsi_keyframes_received_total'), 'counter');
  assert.is(sampleValue(out, 'jitsi_keyframes_received_total'), 485);
  assert.is(out.type.get('jitsi_relays_total'), 'counter');
  assert.is(out.type.get('jitsi_endpoints_with_spurious_remb'), 'gauge');
  assert.is(sampleValue(out, 'jitsi_video_stream_seconds_received_total'), 3357.131);
  assert.not.ok([...out.type.keys()].some((name) => name.includes('milliseconds')));
});

test('the seed quirks are kept: double space in a HELP, gauges for some total_* fields', async () => {
  const out = await render(fixtureJson(ACTIVE_2021));
  assert.is(out.help.get('jitsi_total_ice_succeeded_tcp'), ' Total number of times ICE succeeded over TCP.');
  assert.is(out.type.get('jitsi_total_participants'), 'gauge');
  assert.is(out.type.get('jitsi_total_packets_sent'), 'gauge');
  assert.is(out.type.get('jitsi_total_bytes_received'), 'counter');
});

test('odd numbers: a value too large for a float64 is skipped as out_of_range, never +Inf', async () => {
  // Parsed from JSON text, as a bridge's body is: 1e400 becomes Infinity, "1e400" a numeric string.
  const stats = JSON.parse('{"total_bytes_received": 10, "participants": "1e400", "threads": 1e400, "stress_level": "-1e400", "conferences": 3}') as Record<string, unknown>;
  const mapped = mapColibriStats(stats);
  const reasons = Object.fromEntries(mapped.skipped.map((s) => [s.key, s.reason]));
  assert.equal(reasons, { participants: 'out_of_range', threads: 'out_of_range', stress_level: 'out_of_range' });
  const out = await render(stats);
  for (const name of ['jitsi_participants', 'jitsi_threads', 'jitsi_stress_level']) assert.not.ok(out.type.has(name), name);
  assert.ok(out.samples.filter((s) => s.name.startsWith('jitsi_')).every((s) => Number.isFinite(s.value)), 'no jitsi_ sample is infinite');
  assert.is(sampleValue(out, 'jitsi_conferences'), 3);
  assert.is(sampleValue(out, 'jvb_skipped_fields_total', { reason: 'out_of_range' }), 3);
});

test('keys that are names of what plain objects inherit (toString, constructor, __proto__) are ordinary gauges', async () => {
  const stats = JSON.parse('{"total_bytes_received": 5, "toString": 3, "constructor": 4, "__proto__": 7, "hasOwnProperty": 1}') as Record<string, unknown>;
  const mapped = mapColibriStats(stats);
  assert.equal(mapped.skipped, []);
  const out = await render(stats);
  const expected: Record<string, number> = { jitsi_to_string: 3, jitsi_constructor: 4, jitsi___proto__: 7, jitsi_has_own_property: 1 };
  for (const [name, value] of Object.entries(expected)) {
    assert.is(out.type.get(name), 'gauge', name);
    assert.is(sampleValue(out, name), value, name);
  }
});

test('odd numbers: a negative counter is skipped as negative_counter; a negative gauge is kept', async () => {
  const stats = { total_bytes_received: -5, total_relays: '-1', total_keyframes_received: 7, bit_rate_download: -3, stress_level: '-0.5', total_packets_sent: -2 };
  const mapped = mapColibriStats(stats);
  const reasons = Object.fromEntries(mapped.skipped.map((s) => [s.key, s.reason]));
  // total_bytes_received: a seed counter; total_relays: a counter by the total_* rule; total_packets_sent: a seed gauge.
  assert.equal(reasons, { total_bytes_received: 'negative_counter', total_relays: 'negative_counter' });
  const out = await render(stats);
  assert.not.ok(out.type.has('jitsi_total_bytes_received'));
  assert.not.ok(out.type.has('jitsi_relays_total'));
  assert.is(sampleValue(out, 'jitsi_keyframes_received_total'), 7);
  assert.is(sampleValue(out, 'jitsi_bit_rate_download'), -3);
  assert.is(sampleValue(out, 'jitsi_stress_level'), -0.5);
  assert.is(sampleValue(out, 'jitsi_total_packets_sent'), -2);
  assert.is(sampleValue(out, 'jvb_skipped_fields_total', { reason: 'negative_counter' }), 2);
});

test('the new skip reasons are exported at 0 before anything is skipped', async () => {
  const out = await render(fixtureJson(ACTIVE_2021));
  for (const reason of ['out_of_range', 'negative_counter']) assert.is(sampleValue(out, 'jvb_skipped_fields_total', { reason }), 0, reason);
});

test.run();
