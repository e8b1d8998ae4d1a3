import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { BridgeRegistry } from '../../src/registry/bridge-registry';
import { createSource } from '../../src/sources/create-source';
import { FakeBridge } from '../helpers/fake-bridge';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';

/** One limit on the series of a bridge, for every source: above it the poll fails whole, nothing half-applied. */
const limit = suite('series limit per bridge');
const jvb = new FakeBridge();
const quiet = createLogger({ level: 'error', format: 'logfmt', write: () => {} });
const LIMIT = 20_000;

limit.before(async () => {
  await jvb.start();
});
limit.after(async () => {
  await jvb.stop();
});

async function pollWith(body: string, contentType: string, endpoint: string) {
  jvb.respond = () => ({ body, contentType });
  const url = `${jvb.baseUrl}${endpoint}`;
  const source = createSource(
    {
      source: 'auto',
      url,
      endpoints: [{ kind: endpoint === '/metrics' ? 'native' : 'colibri', url }],
      connection: { headers: {}, tls: { insecureSkipVerify: false } },
      timeoutMs: 10_000,
      maxBodyBytes: 16 * 1024 * 1024,
      maxSeries: LIMIT,
    },
    quiet,
  );
  try {
    return await source.poll(new AbortController().signal);
  } finally {
    source.close();
  }
}

/** A JVB-like /colibri/stats with `n` numeric fields (the signature keys among them). */
function colibriBody(n: number): string {
  const stats: Record<string, number> = { total_bytes_received: 1, bit_rate_download: 2 };
  for (let i = Object.keys(stats).length; i < n; i++) stats[`field_${i}`] = i;
  return JSON.stringify(stats);
}

/** A 0.0.4 exposition with `n` gauge samples. */
function nativeBody(n: number): string {
  const lines = ['# TYPE jitsi_jvb_x gauge'];
  for (let i = 0; i < n; i++) lines.push(`jitsi_jvb_x{i="${i}"} ${i}`);
  return `${lines.join('\n')}\n`;
}

limit('colibri: 100 000 fields fail the poll as too_many_series; exactly the limit passes', async () => {
  const over = await pollWith(colibriBody(100_000), 'application/json', '/colibri/stats');
  assert.is(over.ok, false);
  assert.is(!over.ok && over.reason, 'too_many_series');
  assert.match(!over.ok ? over.message : '', `more than the limit of ${LIMIT}`);
  const at = await pollWith(colibriBody(LIMIT), 'application/json', '/colibri/stats');
  assert.ok(at.ok, !at.ok ? at.message : '');
});

limit('native: one sample over the limit fails the poll; exactly the limit passes', async () => {
  const over = await pollWith(nativeBody(LIMIT + 1), 'text/plain; version=0.0.4', '/metrics');
  assert.is(!over.ok && over.reason, 'too_many_series');
  const at = await pollWith(nativeBody(LIMIT), 'text/plain; version=0.0.4', '/metrics');
  assert.ok(at.ok, !at.ok ? at.message : '');
  assert.is(at.ok && at.families[0]!.series.length, LIMIT);
});

limit('a poll over the limit withdraws the bridge whole: no family of the last good poll is left half-replaced', async () => {
  const bridge = new BridgeRegistry('b', 'jvb', {}, quiet);
  bridge.collect(await pollWith(nativeBody(10), 'text/plain; version=0.0.4', '/metrics'));
  assert.is(sampleValue(parseExposition(await bridge.registry.metrics()), 'jitsi_jvb_x', { i: '3' }), 3);
  bridge.collect(await pollWith(nativeBody(LIMIT + 5), 'text/plain; version=0.0.4', '/metrics'));
  const out = parseExposition(await bridge.registry.metrics());
  assert.not.ok(out.samples.some((s) => s.name === 'jitsi_jvb_x'), 'nothing of either poll is served');
  assert.is(sampleValue(out, 'jvb_up'), 0);
  assert.is(sampleValue(out, 'jvb_poll_failures_total', { reason: 'too_many_series' }), 1);
});

limit.run();
