// Sample timestamps in what the agent serves and pushes (issue 17, 5.6):
// its /metrics writes each bridge sample's own timestamp (as Prometheus'
// /federate does), so a Prometheus scraping the agent stores what it would
// store scraping the bridge; a Pushgateway refuses pushed timestamps, so the
// text pushed there has none. A sample whose timestamp the text format cannot
// carry (before 1970, or beyond 2^53 ms) is left out of /metrics.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/log/logger';
import type { MetricFamily } from '../../src/model/metric-family';
import { BridgeRegistry } from '../../src/registry/bridge-registry';
import { ServedExposition } from '../../src/registry/served-exposition';
import { parseExposition } from '../../src/sources/native/parse-exposition';

const quiet = createLogger({ level: 'error', format: 'logfmt', write: () => {} });
const FIXTURE = readFileSync(path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'jvb-native', 'jvb-metrics-simpleclient-0.16-generated.txt'), 'utf8');
const T = 1_700_000_000_123;

function familiesOf(body: string): MetricFamily[] {
  const r = parseExposition(body, 'text-0.0.4', { maxSamples: 100_000 });
  if (!r.ok) throw new Error(r.message);
  return r.families;
}

function bridge(name: string, body: string): BridgeRegistry {
  const b = new BridgeRegistry(name, 'jvb', { instance: name }, quiet, new Set(), () => T);
  b.collect({ ok: true, families: familiesOf(body), skipped: [], endpoint: 'x', durationMs: 1 });
  return b;
}

/** Every sample line of a 0.0.4 body with ` <timestamp>` appended. */
const stamped = (body: string, ms: number) =>
  body
    .split('\n')
    .map((line) => (line === '' || line.startsWith('#') ? line : `${line} ${ms}`))
    .join('\n');

/** What /metrics serves for these bridges (the agent's own registry empty). */
function served(...bridges: BridgeRegistry[]): Promise<string> {
  const exposition = new ServedExposition(new Registry());
  exposition.setBridges(bridges);
  return exposition.render();
}

const sampleLines = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

test('/metrics: a bridge sample with a timestamp is served with it; one without is served as before', async () => {
  const body = ['# TYPE g gauge', `g{a="1"} 1 ${T}`, 'g{a="2"} 2', '# TYPE h histogram', `h_bucket{le="+Inf"} 2 ${T - 1}`, 'h_sum 3', `h_count 2 ${T - 2}`, ''].join('\n');
  const lines = sampleLines(await served(bridge('b1', body)));
  assert.ok(lines.includes(`g{a="1",instance="b1"} 1 ${T}`), lines.join('\n'));
  assert.ok(lines.includes('g{a="2",instance="b1"} 2'), lines.join('\n'));
  assert.ok(lines.includes(`h_bucket{le="+Inf",instance="b1"} 2 ${T - 1}`), lines.join('\n'));
  assert.ok(lines.includes('h_sum{instance="b1"} 3'), lines.join('\n'));
  assert.ok(lines.includes(`h_count{instance="b1"} 2 ${T - 2}`), lines.join('\n'));
  assert.ok(lines.some((line) => line.startsWith('jvb_up{')), 'the poll metrics are served too');
});

test('/metrics: the fixture with a timestamp on every line is the fixture as served without them, each line with its timestamp (one bridge and two)', async () => {
  const plain = await served(bridge('b1', FIXTURE));
  const withTs = await served(bridge('b1', stamped(FIXTURE, T)));
  const suffix = ` ${T}`;
  // The poll metrics (jvb_*) are the agent's, stamped by whoever scrapes; JVB's own families are jitsi_*.
  const own = new Set(sampleLines(plain).filter((line) => line.startsWith('jvb_')));
  assert.ok(own.size > 0);
  assert.is(withTs.split('\n').map((line) => (line.endsWith(suffix) ? line.slice(0, -suffix.length) : line)).join('\n'), plain);
  const stampedLines = sampleLines(withTs).filter((line) => line.endsWith(suffix));
  assert.is(stampedLines.length, sampleLines(plain).length - own.size, 'every bridge sample carries its timestamp, the poll metrics none');

  const plainFleet = await served(bridge('b1', FIXTURE), bridge('b2', FIXTURE));
  const fleet = await served(bridge('b1', stamped(FIXTURE, T)), bridge('b2', FIXTURE));
  assert.is(fleet.split('\n').map((line) => (line.endsWith(suffix) ? line.slice(0, -suffix.length) : line)).join('\n'), plainFleet);
  assert.ok(sampleLines(fleet).some((line) => line.includes('instance="b1"') && line.endsWith(suffix)));
  assert.not.ok(sampleLines(fleet).some((line) => line.includes('instance="b2"') && line.endsWith(suffix)), 'b2 has no timestamps');
});

test('/metrics: a sample whose timestamp the text format cannot carry is left out', async () => {
  const om = ['# TYPE g gauge', 'g{a="1"} 1 -1.5', 'g{a="2"} 2 1e17', 'g{a="3"} 3 1700000000', '# EOF', ''].join('\n');
  const r = parseExposition(om, 'openmetrics-1.0', { maxSamples: 100 });
  if (!r.ok) throw new Error(r.message);
  const b = new BridgeRegistry('b1', 'jvb', {}, quiet, new Set(), () => T);
  b.collect({ ok: true, families: r.families, skipped: [], endpoint: 'x', durationMs: 1 });
  const lines = sampleLines(await served(b)).filter((line) => line.startsWith('g'));
  assert.equal(lines, ['g{a="3"} 3 1700000000000']);
});

test('pushes (the Pushgateway text): no timestamps, every sample kept', async () => {
  const b = bridge('b1', ['# TYPE g gauge', `g{a="1"} 1 ${T}`, 'g{a="2"} 2', ''].join('\n'));
  const text = await b.text();
  const lines = sampleLines(text).filter((line) => line.startsWith('g'));
  assert.equal(lines, ['g{a="1",instance="b1"} 1', 'g{a="2",instance="b1"} 2']);
});

test.run();
