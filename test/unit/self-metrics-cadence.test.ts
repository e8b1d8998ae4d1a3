// The agent's own metrics travel with one bridge's polls at their own cadence
// (SELF_METRICS_INTERVAL_MS): pushed when read, their series live in between
// (no stale markers), and ended only when the bridge no longer carries them.

import { Counter, Gauge, Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import type { LabelledFamilies, MetricFamily } from '../../src/model/metric-family';
import { pushUnit, SelfMetrics, SELF_METRICS_INTERVAL_MS, type UnitPart } from '../../src/scheduler/push-unit';
import { MemoryRequestQueue } from '../../src/sinks/queue/memory-request-queue';
import { createRemoteWriteMetrics } from '../../src/sinks/remote-write/remote-write-metrics';
import { WRITE_REQUEST_V1 } from '../../src/sinks/remote-write/remote-write-options';
import { RemoteWriteSink } from '../../src/sinks/remote-write/remote-write-sink';
import { decodeRemoteWriteBody } from '../helpers/independent-remote-write-decoder';
import { ScriptedReceiver, until } from '../helpers/scripted-receiver';

const T0 = 1_800_000_000_000;

function agentRegistry(): Registry {
  const registry = new Registry();
  new Gauge({ name: 'agent_gauge', help: 'an agent metric', registers: [registry] }).set(7);
  new Counter({ name: 'agent_reads_total', help: 'how often the registry was read', registers: [registry], collect() { this.inc(); } });
  return registry;
}

function bridgePart(value: () => number): UnitPart {
  const family = (): MetricFamily => ({ name: 'jitsi_participants', help: 'participants', unit: '', type: 'gauge', series: [{ labels: {}, value: value() }] });
  return {
    families: async (): Promise<LabelledFamilies[]> => [{ families: [family()], labels: {} }],
    text: async () => `# TYPE jitsi_participants gauge\njitsi_participants ${value()}\n`,
  };
}

test('SelfMetrics: read afresh at the first poll and then once the interval has passed; the text of a read is kept in between', async () => {
  const registry = agentRegistry();
  const self = new SelfMetrics(registry);
  const schedule = [0, 1000, 9999, 10_000, 10_500, 25_000].map((dt) => self.forPoll(T0 + dt).fresh);
  assert.equal(schedule, [true, false, false, true, false, true]);

  const again = new SelfMetrics(agentRegistry());
  const first = again.forPoll(T0);
  const textAtRead = await first.text();
  assert.match(textAtRead, /agent_reads_total 1/);
  const between = again.forPoll(T0 + 1000);
  assert.is(await between.text(), textAtRead, 'a poll between reads serves the text of the last read');
  const next = again.forPoll(T0 + SELF_METRICS_INTERVAL_MS);
  assert.match(await next.text(), /agent_reads_total 2/);
});

test('remote write: the agent metrics go out when read, with no stale markers between reads; a target without them ends them', async () => {
  const receiver = await new ScriptedReceiver().start();
  const registry = new Registry();
  const metrics = createRemoteWriteMetrics(registry);
  const log = createLogger({ level: 'error', format: 'logfmt', write: () => undefined });
  const sink = new RemoteWriteSink(
    {
      name: 'rw',
      http: { url: `${receiver.url}/api/v1/write`, timeoutMs: 5000, headers: {}, tls: { insecureSkipVerify: false } },
      urlSetting: '--remote-write.url',
      maxSamplesPerRequest: 2000,
      retryOn429: true,
      minBackoffMs: 10,
      maxBackoffMs: 100,
      protobufMessage: WRITE_REQUEST_V1,
      protobufMessageSetting: '--remote-write.protobuf-message',
      onAuthError: 'drop',
      credentialSettings: [],
    },
    new MemoryRequestQueue(1e9, Infinity),
    metrics,
    log,
  );
  try {
    const self = new SelfMetrics(agentRegistry());
    let poll = 0;
    const bridge = bridgePart(() => poll);
    const target = (timestampMs: number) => ({ key: 'jvb', job: 'jvb', instance: 'jvb', timestampMs });
    // Polls every second for 21 s: the agent metrics are read at 0, 10 and 20 s.
    for (poll = 0; poll <= 20; poll++) {
      const timestampMs = T0 + poll * 1000;
      await sink.afterPoll(pushUnit(target(timestampMs), [bridge], self.forPoll(timestampMs)));
    }
    // Then the bridge goes on without them (it became one of several).
    await sink.afterPoll(pushUnit(target(T0 + 21_000), [bridge]));

    const samples = () =>
      receiver.received.flatMap((r) => decodeRemoteWriteBody(r.body).timeseries).flatMap((ts) => {
        const name = ts.labels.find((l) => l.name === '__name__')?.value ?? '';
        return ts.samples.map((s) => ({ name, timestamp: s.timestamp, stale: Number.isNaN(s.value) }));
      });
    await until('every poll delivered', () => samples().filter((s) => s.name === 'jitsi_participants').length === 22, 10_000);
    await until('the agent metrics ended', () => samples().some((s) => s.name === 'agent_gauge' && s.stale), 10_000);
    const agent = samples().filter((s) => s.name === 'agent_gauge');
    assert.equal(
      agent.map((s) => [(s.timestamp - T0) / 1000, s.stale]),
      [
        [0, false],
        [10, false],
        [20, false],
        [21, true],
      ],
    );
    assert.ok(samples().every((s) => s.name !== 'jitsi_participants' || !s.stale), 'the bridge series never went stale');
  } finally {
    await sink.stop(1000);
    await receiver.stop();
  }
});

test.run();
