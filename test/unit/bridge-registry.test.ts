import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { BridgeRegistry } from '../../src/registry/bridge-registry';
import type { LabelledFamilies, MetricFamily } from '../../src/model/metric-family';
import { familiesFromRegistry } from '../../src/registry/registry-families';
import type { PollOutcome } from '../../src/sources/source';
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

test('pushes read the poll metrics as prom-client holds them, in the very same objects every poll', async () => {
  let now = 1_800_000_000_000;
  const bridge = new BridgeRegistry('b', 'jvb', { env: 'prod' }, quiet, new Set(), () => now);
  const pollMetricNames = new Set(['jvb_poll_failures_total', 'jvb_skipped_fields_total', 'jvb_up', 'jvb_polls_total', 'jvb_poll_duration_seconds', 'jvb_last_successful_poll_timestamp_seconds', 'jvb_exported_series']);
  /** name{labels} -> value, the group's labels merged in, for the poll metrics of `groups`. */
  const flat = (groups: readonly LabelledFamilies[]) => {
    const out = new Map<string, number>();
    for (const group of groups) {
      for (const family of group.families) {
        if (!pollMetricNames.has(family.name) || family.type === 'histogram' || family.type === 'summary') continue;
        for (const series of family.series) {
          const labels = { ...group.labels, ...series.labels };
          out.set(`${family.name}{${Object.keys(labels).sort().map((k) => `${k}=${labels[k as keyof typeof labels]}`).join(',')}} ${family.type} ${family.help}`, series.value);
        }
      }
    }
    return out;
  };
  const asRegistryHoldsThem = async () => flat([{ families: familiesFromRegistry(await bridge.registry.getMetricsAsJSON()), labels: {} }]);
  const outcomes: PollOutcome[] = [
    { ok: true, families: [gauge('a', 1)], skipped: [{ key: 'x', reason: 'not_a_number' }, { key: 'y', reason: 'null' }], endpoint: 'x', durationMs: 12 },
    { ok: false, reason: 'timeout', message: 'slow', durationMs: 1000 },
    { ok: false, reason: 'http_status', message: '500', durationMs: 3 },
    { ok: true, families: [gauge('a', 2), counter('b_total', 3)], skipped: [{ key: 'x', reason: 'not_a_number' }], endpoint: 'x', durationMs: 7 },
  ];
  let first: readonly LabelledFamilies[] | undefined;
  for (const outcome of outcomes) {
    now += 1000;
    bridge.collect(outcome);
    const pushed = await bridge.families();
    assert.equal(flat(pushed), await asRegistryHoldsThem());
    first ??= pushed;
    assert.is(pushed[0]!.families, first[0]!.families, 'the same poll-metric families every poll');
    pushed[0]!.families.forEach((family, i) => assert.is(family, first![0]!.families[i], `the same ${family.name} object`));
  }
  const timeouts = [...flat(first!)].find(([key]) => key.startsWith('jvb_poll_failures_total{env=prod,reason=timeout} counter '));
  assert.is(timeouts?.[1], 1, 'the failed poll counted, with the registry labels');
});

test.run();
