import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { BridgeRegistry } from '../../src/registry/bridge-registry';
import type { MetricFamily } from '../../src/model/metric-family';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';

const quiet = createLogger({ level: 'error', format: 'logfmt', write: () => {} });
const gauge = (name: string, value: number): MetricFamily => ({ name, help: `${name} help`, unit: '', type: 'gauge', series: [{ labels: {}, value }] });
const counter = (name: string, value: number): MetricFamily => ({ name, help: `${name} help`, unit: '', type: 'counter', series: [{ labels: {}, value }] });

test('polls with the same families update the values; a family that changes type, appears or goes is re-registered', async () => {
  const bridge = new BridgeRegistry('b', 'jvb', {}, quiet);
  const poll = async (families: MetricFamily[]) => {
    bridge.collect({ ok: true, families, skipped: [], endpoint: 'x', durationMs: 1 });
    return parseExposition(await bridge.registry.metrics());
  };
  let out = await poll([gauge('a', 1), counter('b_total', 2)]);
  assert.is(sampleValue(out, 'a'), 1);
  out = await poll([gauge('a', 3), counter('b_total', 4)]);
  assert.is(sampleValue(out, 'a'), 3, 'the same families: values replaced');
  assert.is(sampleValue(out, 'b_total'), 4);
  out = await poll([counter('a', 5), counter('b_total', 6)]);
  assert.is(out.type.get('a'), 'counter', 'a family that changed type is served with its new type');
  assert.is(sampleValue(out, 'a'), 5);
  out = await poll([counter('b_total', 7), gauge('c', 8)]);
  assert.not.ok(out.samples.some((s) => s.name === 'a'), 'a family gone from the poll is gone from the registry');
  assert.is(sampleValue(out, 'c'), 8);
  out = await poll([counter('b_total', 9), gauge('c', 10)]);
  assert.is(sampleValue(out, 'b_total'), 9);
  assert.is(sampleValue(out, 'c'), 10);
  bridge.collect({ ok: false, reason: 'timeout', message: 'x', durationMs: 1 });
  out = parseExposition(await bridge.registry.metrics());
  assert.not.ok(out.samples.some((s) => s.name === 'c' || s.name === 'b_total'), 'a failed poll withdraws everything');
  out = await poll([counter('b_total', 11), gauge('c', 12)]);
  assert.is(sampleValue(out, 'c'), 12, 'and the next good poll brings it back');
});

test.run();
