import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { BridgeRegistry } from '../../src/registry/bridge-registry';
import { mapColibriStats } from '../../src/sources/colibri/map-colibri-stats';
import { createSource } from '../../src/sources/create-source';
import type { PollOutcome } from '../../src/sources/source';
import { ACTIVE_2021, fixtureText } from '../helpers/fixtures';
import { FakeBridge, type FakeResponse } from '../helpers/fake-bridge';
import { unusedPort } from '../helpers/ports';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';

const jvb = new FakeBridge();
const bodies = suite('bad JVB bodies and bad bridges');
const logLines: string[] = [];

bodies.before(async () => {
  await jvb.start();
});
bodies.after(async () => {
  await jvb.stop();
});
bodies.before.each(() => {
  logLines.length = 0;
});

/** One poll of the fake JVB answering `reply`, collected into a fresh registry, as the agent does it. */
async function pollOnce(reply: FakeResponse, url = jvb.colibriUrl, timeoutMs = 1000) {
  jvb.respond = () => reply;
  const log = createLogger({ level: 'debug', format: 'logfmt', write: (line) => logLines.push(line) });
  const bridge = new BridgeRegistry('test', 'jvb', {}, log);
  const connection = { headers: {}, tls: { insecureSkipVerify: false } };
  const source = createSource({ source: 'colibri', url, endpoints: [{ kind: 'colibri', url }], connection, timeoutMs, maxBodyBytes: 16 * 1024 * 1024, maxSeries: 100_000 }, log);
  const outcome: PollOutcome = await source.poll(new AbortController().signal);
  source.close();
  bridge.collect(outcome);
  return { outcome, out: parseExposition(await bridge.registry.metrics()) };
}

function assertFailed(result: Awaited<ReturnType<typeof pollOnce>>, reason: string, messagePart: RegExp) {
  const { outcome, out } = result;
  assert.is(outcome.ok, false);
  if (outcome.ok) return;
  assert.is(outcome.reason, reason);
  assert.match(outcome.message, messagePart);
  assert.is(sampleValue(out, 'jvb_up'), 0);
  assert.is(sampleValue(out, 'jvb_poll_failures_total', { reason }), 1);
  assert.not.ok(out.samples.some((s) => s.name.startsWith('jitsi_')), 'no JVB metric is served after a failed poll');
  const warn = logLines.find((line) => line.includes('level=warn') && line.includes('poll failed'));
  assert.ok(warn, 'a log line says the poll failed');
  assert.ok(warn!.includes(`reason=${reason}`));
}

bodies('an HTML error page is one failed poll that names the URL', async () => {
  const html = `<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>${'x'.repeat(5000)}</body></html>`;
  const result = await pollOnce({ body: html, contentType: 'text/html' });
  assertFailed(result, 'invalid_body', /HTML/);
  assert.ok(!result.outcome.ok && result.outcome.message.includes(jvb.colibriUrl));
  assert.ok(logLines.every((line) => !line.includes('x'.repeat(100))), 'the body is not logged whole');
});

bodies('an empty body', async () => {
  assertFailed(await pollOnce({ body: '' }), 'invalid_body', /empty body/);
});

bodies('truncated JSON', async () => {
  const full = fixtureText(ACTIVE_2021);
  assertFailed(await pollOnce({ body: full.slice(0, Math.floor(full.length / 2)) }), 'invalid_body', /not valid JSON/);
});

bodies('a JSON array', async () => {
  assertFailed(await pollOnce({ body: '[1,2,3]' }), 'invalid_body', /expected a JSON object, got an array/);
});

bodies("Jicofo's nested /stats is refused as the wrong endpoint", async () => {
  const jicofo = JSON.stringify({
    conferences: 2,
    participants: 5,
    largest_conference: 3,
    bridge_selector: { bridge_count: 1, operational_bridge_count: 1, in_shutdown_bridge_count: 0 },
    jibri: { total_recording_failures: 0 },
    conference_sizes: { buckets: { '0': 0, '2': 1, '3': 1 } },
  });
  assertFailed(await pollOnce({ body: jicofo }), 'not_jvb', /Jicofo/);
});

bodies('a 500 is a failed poll with the status', async () => {
  assertFailed(await pollOnce({ status: 500, body: 'Internal Server Error' }), 'http_status', /HTTP 500/);
});

bodies('connection refused is a failed poll, not a crash', async () => {
  const port = await unusedPort();
  assertFailed(await pollOnce({ body: '{}' }, `http://127.0.0.1:${port}/colibri/stats`), 'connection_error', /ECONNREFUSED/);
});

bodies('a bridge slower than the timeout is cut off at the timeout', async () => {
  const started = Date.now();
  const result = await pollOnce({ body: fixtureText(ACTIVE_2021), delayMs: 3000 }, jvb.colibriUrl, 300);
  assertFailed(result, 'timeout', /did not answer within 300ms/);
  // Bounded, not timed: the poll must end long before the bridge would have answered.
  assert.ok(Date.now() - started < 2900, 'the poll waited for the slow bridge');
});

bodies('numbers as strings are read as numbers; other fields are unaffected', async () => {
  const stats = JSON.parse(fixtureText(ACTIVE_2021)) as Record<string, unknown>;
  stats['participants'] = '7';
  stats['stress_level'] = '0.25';
  stats['threads'] = 'many';
  const { outcome, out } = await pollOnce({ body: JSON.stringify(stats) });
  assert.ok(outcome.ok);
  assert.is(sampleValue(out, 'jitsi_participants'), 7);
  assert.is(sampleValue(out, 'jitsi_stress_level'), 0.25);
  assert.not.ok(out.type.has('jitsi_threads'));
  assert.is(sampleValue(out, 'jvb_skipped_fields_total', { reason: 'not_a_number' }), 1);
  assert.is(sampleValue(out, 'jitsi_conferences'), 1);
  assert.is(sampleValue(out, 'jvb_up'), 1);
});

bodies('arrays as a string: "[]" is an empty histogram, a garbled string is skipped and counted', async () => {
  const stats = JSON.parse(fixtureText(ACTIVE_2021)) as Record<string, unknown>;
  stats['conference_sizes'] = '[]';
  stats['conferences_by_audio_senders'] = '[1,0,2]';
  stats['conferences_by_video_senders'] = 'oops';
  const { outcome, out } = await pollOnce({ body: JSON.stringify(stats) });
  assert.ok(outcome.ok);
  assert.is(sampleValue(out, 'jitsi_conference_sizes_count'), 0);
  assert.is(sampleValue(out, 'jitsi_conferences_by_audio_senders_count'), 3);
  assert.is(sampleValue(out, 'jitsi_conferences_by_audio_senders_sum'), 4);
  assert.not.ok(out.type.has('jitsi_conferences_by_video_senders'));
  assert.is(sampleValue(out, 'jvb_skipped_fields_total', { reason: 'bad_histogram' }), 1);
  assert.is(sampleValue(out, 'jitsi_participants'), 2);
});

bodies('odd fields are each skipped with a reason; the rest still map', () => {
  const mapped = mapColibriStats({
    total_bytes_received: 10,
    tossedPacketsEnergy: { buckets: [1, 2] },
    some_list: [1, 2],
    nothing: null,
    flag: true,
    conference_sizes: [0, -1],
    version: { nested: true },
  });
  const reasons = Object.fromEntries(mapped.skipped.map((s) => [s.key, s.reason]));
  assert.equal(reasons, {
    tossedPacketsEnergy: 'nested_object',
    some_list: 'unexpected_array',
    nothing: 'null',
    conference_sizes: 'bad_histogram',
    version: 'nested_object',
  });
  const names = mapped.families.map((f) => f.name).sort();
  assert.equal(names, ['jitsi_flag', 'jitsi_total_bytes_received']);
});

bodies.run();
