import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { COLIBRI_2026, FakeBridge } from '../helpers/fake-bridge';
import { PrometheusServer, type PromSample } from '../helpers/prometheus-server';
import { PushgatewayServer } from '../helpers/pushgateway-server';
import { VictoriaMetricsServer } from '../helpers/victoria-metrics-server';
import { sidComponents, sidPackages, versionOf, type SidComponents } from '../helpers/sid-components';
import { setUpBefore } from '../helpers/set-up-before';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';

/**
 * The receivers matrix: one fleet (a native bridge with histograms, a
 * colibri bridge) pushed by the built agent into every receiver that runs
 * here, each compared with what a Prometheus scrape of the same bridges
 * stores (the oracle: Prometheus 2.42 scraping the native bridge itself, and
 * the agent's /metrics for the colibri bridge, whose JSON Prometheus cannot
 * read). Two agents poll the same bridges: agent v1 (label via="v1") writes
 * remote-write 1.0 to Prometheus 2.42, Prometheus 3.5 and VictoriaMetrics
 * and pushes to Pushgateway 1.5 and 1.11; agent v2 (via="v2") is configured
 * for 2.0 towards the three remote-write receivers: Prometheus 3.5 takes
 * it, Prometheus 2.42 and VictoriaMetrics must make it fall back to 1.0
 * with nothing lost. Then the colibri bridge goes down: every remote-write
 * receiver must drop its series as the oracle does (stale markers). The sid
 * binaries are fetched by test/helpers/sid-components.ts into a cache.
 */

const test = suite('receivers matrix: what each receiver stores is what a Prometheus scrape stores');

type Store = { query(promql: string): Promise<PromSample[]> };

/** Bridge series both sides can have: not Prometheus' per-scrape series, the agent's own, the Pushgateway's, nor *_created. */
function comparable(name: string): boolean {
  if (name === 'up' || name.startsWith('scrape_') || name.startsWith('push_')) return false;
  if (name.startsWith('jvb_') || name.startsWith('nodejs_') || name.startsWith('process_')) return false;
  return !name.endsWith('_created');
}

/** name{labels} (job, instance, via and gw left out; le and quantile as numbers: the Pushgateway writes le="1" for "1.0") -> value. */
function seriesMap(result: readonly PromSample[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const sample of result) {
    const { __name__: name = '', job: _j, instance: _i, via: _v, gw: _g, ...labels } = sample.metric;
    if (!comparable(name)) continue;
    for (const key of ['le', 'quantile']) if (labels[key] !== undefined) labels[key] = String(Number(labels[key]));
    const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
    map.set(key, Number(sample.value[1]));
  }
  return map;
}

function differences(oracle: ReadonlyMap<string, number>, stored: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));
  for (const [key, value] of oracle) {
    if (!stored.has(key)) out.push(`only in the oracle: ${key} ${value}`);
    else if (!same(stored.get(key)!, value)) out.push(`value differs: ${key} oracle=${value} stored=${stored.get(key)}`);
  }
  for (const [key, value] of stored) if (!oracle.has(key)) out.push(`only stored: ${key} ${value}`);
  return out.sort();
}

const ORACLE_QUERY = {
  native: '{job="oracle-native"}',
  colibri: '{job="oracle-agent",instance="colibri-bridge"}',
} as const;

let sid: SidComponents;
const native = new FakeBridge({ format: 'text' });
const colibri = new FakeBridge({ metrics: false, colibri: COLIBRI_2026 });
let oracle: PrometheusServer | undefined;
let prom2: PrometheusServer | undefined;
let prom3: PrometheusServer | undefined;
let vm: VictoriaMetricsServer | undefined;
let gw15: PushgatewayServer | undefined;
let gw111: PushgatewayServer | undefined;
let gwScraper: PrometheusServer | undefined;
let agentV1: AgentProcess | undefined;
let agentV2: AgentProcess | undefined;
let agentV2Port = 0;
let dir = '';

const setUp = setUpBefore(test, async () => {
  sid = sidComponents();
  console.log(
    `receivers: ${[versionOf('prometheus'), versionOf(sid.prometheus), versionOf('/usr/bin/prometheus-pushgateway'), versionOf(sid.pushgateway)].join('; ')}; sid packages: ${sidPackages().join(', ')}`,
  );
  dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-matrix-'));
  await native.start();
  await colibri.start();
  prom2 = await PrometheusServer.start({ remoteWriteReceiver: true });
  prom3 = await PrometheusServer.start({ binary: sid.prometheus, remoteWriteReceiver: true, extraArgs: [`--web.local-assets=${sid.prometheusAssets}`] });
  vm = await VictoriaMetricsServer.start(sid.victoriaMetrics);
  gw15 = await PushgatewayServer.start();
  gw111 = await PushgatewayServer.start(undefined, sid.pushgateway);
  gwScraper = await PrometheusServer.start({
    scrape: [
      { job: 'gw15', target: gw15.address, honorLabels: true, labels: { gw: '1.5' } },
      { job: 'gw111', target: gw111.address, honorLabels: true, labels: { gw: '1.11' } },
    ],
  });
  const bridges = `poll:\n  interval: 1s\nbridges:\n  - url: ${native.metricsUrl}\n    name: native-bridge\n  - url: ${colibri.colibriUrl}\n    name: colibri-bridge\n`;
  const rw = (url: string, name: string, v2: boolean) => `  - url: ${url}\n    name: ${name}\n    min-backoff: 100ms\n    max-backoff: 1s\n${v2 ? '    protobuf_message: io.prometheus.write.v2.Request\n' : ''}`;
  const receivers = (v2: boolean) =>
    `remote_write:\n${rw(`${prom2!.url}/api/v1/write`, 'prometheus-2', v2)}${rw(`${prom3!.url}/api/v1/write`, 'prometheus-3', v2)}${rw(`${vm!.url}/api/v1/write`, 'victoria-metrics', v2)}`;
  writeFileSync(join(dir, 'v1.yml'), `${bridges}${receivers(false)}pushgateway:\n  - url: ${gw15.url}\n  - url: ${gw111.url}\n`);
  writeFileSync(join(dir, 'v2.yml'), `${bridges}${receivers(true)}`);
  agentV1 = AgentProcess.spawn([`--config.file=${join(dir, 'v1.yml')}`, '--web.listen-address=127.0.0.1:0', '--label=via=v1']);
  agentV2 = AgentProcess.spawn([`--config.file=${join(dir, 'v2.yml')}`, '--web.listen-address=127.0.0.1:0', '--label=via=v2']);
  const agentV1Port = await agentV1.metricsPort();
  agentV2Port = await agentV2.metricsPort();
  oracle = await PrometheusServer.start({
    scrape: [
      { job: 'oracle-native', target: native.hostPort },
      { job: 'oracle-agent', target: `127.0.0.1:${agentV1Port}`, honorLabels: true },
    ],
  });
});

test.after(async () => {
  for (const stop of [() => agentV1?.stop(), () => agentV2?.stop(), () => oracle?.stop(), () => prom2?.stop(), () => prom3?.stop(), () => vm?.stop(), () => gwScraper?.stop(), () => gw15?.stop(), () => gw111?.stop(), () => native.stop(), () => colibri.stop()]) {
    await Promise.resolve(stop()).catch(() => undefined);
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** Compares a receiver's series of one bridge with the oracle's until equal or 45 s have passed; returns the last differences. */
async function compare(store: Store, selector: string, bridge: keyof typeof ORACLE_QUERY): Promise<{ diff: string[]; oracleSize: number; storedSize: number }> {
  const deadline = Date.now() + 45_000;
  let diff = ['no comparison yet'];
  let oracleSize = 0;
  let storedSize = 0;
  while (Date.now() < deadline) {
    const expected = seriesMap(await oracle!.query(ORACLE_QUERY[bridge]));
    const stored = seriesMap(await store.query(selector));
    diff = differences(expected, stored);
    oracleSize = expected.size;
    storedSize = stored.size;
    if (oracleSize > 20 && diff.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { diff, oracleSize, storedSize };
}

const cases: Array<[string, () => Store, string]> = [
  ['Prometheus 2.42, remote-write 1.0', () => prom2!, 'v1'],
  ['Prometheus 2.42, 2.0 configured (falls back to 1.0)', () => prom2!, 'v2'],
  ['Prometheus 3.5 (sid), remote-write 1.0', () => prom3!, 'v1'],
  ['Prometheus 3.5 (sid), remote-write 2.0', () => prom3!, 'v2'],
  ['VictoriaMetrics (sid), remote-write 1.0', () => vm!, 'v1'],
  ['VictoriaMetrics (sid), 2.0 configured (falls back to 1.0)', () => vm!, 'v2'],
];

for (const [what, store, via] of cases) {
  test(`${what}: both bridges' series and values equal the oracle's`, async () => {
    setUp.check();
    for (const bridge of ['native', 'colibri'] as const) {
      const instance = bridge === 'native' ? 'native-bridge' : 'colibri-bridge';
      const { diff, oracleSize, storedSize } = await compare(store(), `{via="${via}",instance="${instance}"}`, bridge);
      assert.ok(oracleSize > 20, `the oracle stored only ${oracleSize} series of the ${bridge} bridge`);
      assert.equal(diff.slice(0, 40), [], `${bridge}: ${oracleSize} in the oracle, ${storedSize} stored; agent log:\n${(via === 'v1' ? agentV1 : agentV2)!.lines.slice(-20).join('\n')}`);
    }
  });
}

for (const [what, gw] of [['Pushgateway 1.5 (bookworm)', '1.5'], ['Pushgateway 1.11 (sid)', '1.11']] as const) {
  test(`${what}: both bridges' groups, scraped back, equal the oracle's`, async () => {
    setUp.check();
    for (const bridge of ['native', 'colibri'] as const) {
      const instance = bridge === 'native' ? 'native-bridge' : 'colibri-bridge';
      const { diff, oracleSize, storedSize } = await compare(gwScraper!, `{gw="${gw}",instance="${instance}"}`, bridge);
      assert.ok(oracleSize > 20, `the oracle stored only ${oracleSize} series of the ${bridge} bridge`);
      assert.equal(diff.slice(0, 40), [], `${bridge}: ${oracleSize} in the oracle, ${storedSize} stored`);
    }
  });
}

test('the 2.0 agent fell back for Prometheus 2.42 and VictoriaMetrics (logged once each, naming the setting), not for Prometheus 3.5, and dropped nothing', async () => {
  setUp.check();
  const metrics = parseExposition(await (await fetch(`http://127.0.0.1:${agentV2Port}/metrics`)).text());
  const message = (remote: string, m: string) => sampleValue(metrics, 'jvb_remote_write_protobuf_message', { remote_name: remote, message: m });
  assert.is(message('prometheus-3', 'io.prometheus.write.v2.Request'), 1);
  assert.is(message('prometheus-2', 'prometheus.WriteRequest'), 1);
  assert.is(message('victoria-metrics', 'prometheus.WriteRequest'), 1);
  assert.is(message('victoria-metrics', 'io.prometheus.write.v2.Request'), 0);
  const fallbacks = agentV2!.lines.filter((l) => l.includes('does not read remote-write 2.0'));
  assert.is(fallbacks.length, 2, fallbacks.join('\n'));
  assert.ok(fallbacks.some((l) => l.includes(prom2!.url)) && fallbacks.some((l) => l.includes(vm!.url)), fallbacks.join('\n'));
  assert.ok(fallbacks.every((l) => l.includes('remote_write[') && l.includes('protobuf-message')), fallbacks.join('\n'));
  for (const remote of ['prometheus-2', 'prometheus-3', 'victoria-metrics']) {
    for (const reason of ['refused', 'queue_full', 'too_old', 'too_big', 'storage_error', 'corrupt']) {
      assert.is(sampleValue(metrics, 'jvb_remote_write_samples_dropped_total', { remote_name: remote, reason }), 0, `${remote} ${reason}`);
    }
  }
});

test('a bridge going down: every remote-write receiver drops its series as the oracle does (stale markers)', async () => {
  setUp.check();
  const live = 'count({instance="colibri-bridge",__name__=~"jitsi_.+"})';
  const before = await prom2!.query(live);
  assert.ok(Number(before[0]?.value[1] ?? 0) > 20, 'the colibri bridge has series before it goes down');
  await colibri.stop();
  const gone = async (store: Store, selector: string) => {
    const deadline = Date.now() + 30_000;
    let n = -1;
    while (Date.now() < deadline) {
      n = Number((await store.query(`count(${selector})`))[0]?.value[1] ?? 0);
      if (n === 0) return 0;
      await new Promise((r) => setTimeout(r, 500));
    }
    return n;
  };
  assert.is(await gone(oracle!, '{job="oracle-agent",instance="colibri-bridge",__name__=~"jitsi_.+"}'), 0, 'the oracle still has the series');
  for (const [name, store] of [['Prometheus 2.42', prom2!], ['Prometheus 3.5', prom3!], ['VictoriaMetrics', vm!]] as const) {
    for (const via of ['v1', 'v2']) {
      assert.is(await gone(store, `{via="${via}",instance="colibri-bridge",__name__=~"jitsi_.+"}`), 0, `${name} (${via}) still has the series`);
    }
    // The other bridge is untouched.
    assert.ok(Number((await store.query('count({via="v2",instance="native-bridge"})'))[0]?.value[1] ?? 0) > 20, `${name} lost the native bridge`);
  }
});

test('nothing lost in the fallback: after the 2.0 agent stops, each receiver holds as many of its samples as Prometheus 3.5 got over 2.0', async () => {
  setUp.check();
  await agentV2!.stop();
  // (One histogram family: its series differ by le, so count_over_time, which drops the name, keeps them apart.)
  const count = 'sum(count_over_time({via="v2",instance="native-bridge",__name__="jitsi_jvb_conferences_by_video_sender_bucket"}[1h]))';
  const counts = async () => Promise.all([prom3!, prom2!, vm!].map(async (store) => Number((await store.query(count))[0]?.value[1] ?? 0)));
  const deadline = Date.now() + 20_000;
  let got = await counts();
  while (Date.now() < deadline && !(got[0]! > 0 && got.every((n) => n === got[0]))) {
    await new Promise((r) => setTimeout(r, 500));
    got = await counts();
  }
  assert.ok(got[0]! > 0, 'Prometheus 3.5 stored no samples over 2.0');
  assert.equal(got, [got[0], got[0], got[0]], `samples stored: Prometheus 3.5 ${got[0]}, Prometheus 2.42 ${got[1]}, VictoriaMetrics ${got[2]}`);
});

test.run();
