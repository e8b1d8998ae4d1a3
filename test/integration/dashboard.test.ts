import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { colibriFixtureText, FakeBridge } from '../helpers/fake-bridge';
import { PrometheusServer, type PromSample } from '../helpers/prometheus-server';
import { PushgatewayServer } from '../helpers/pushgateway-server';
import { eventually as eventuallyWatching } from '../helpers/eventually';
import { setUpBefore } from '../helpers/set-up-before';

/**
 * dashboards/jvb.json against real data: one agent polls two fake bridges,
 * one with only /colibri/stats (the seed's `jitsi_*` names, with the
 * conference-size arrays), one with only the native /metrics
 * (`jitsi_jvb_*`), and pushes both (and its own metrics) into a real
 * Prometheus by remote_write, and to a real Pushgateway (so that the
 * Pushgateway self metrics exist). Then every query of every panel runs
 * against that Prometheus, with the dashboard's variables resolved, and
 * must return data: for each bridge whose source has the metric (decided
 * by the table below, not by the dashboard).
 */

const test = suite('dashboards/jvb.json: every panel query returns data for both namings');

const ROOT = resolve(__dirname, '..', '..');
const DASHBOARD = join(ROOT, 'dashboards', 'jvb.json');
const COLIBRI = 'colibri-bridge';
const NATIVE = 'native-bridge';
const BRIDGES = [COLIBRI, NATIVE] as const;
/** A capture that has the conference_sizes arrays (bridges since 2024 no longer send them). */
const COLIBRI_FIXTURE = 'colibri-stats-2021-08-v2.1.508-active.json';

/**
 * What each panel target (`<panel title>/<refId>`) shows, decided here from
 * the fixtures and the agent's mapping rules, independently of the
 * dashboard: `bridge` targets read a bridge's series; `colibri` and
 * `native` name the metric the target reads for a bridge of that kind,
 * when that bridge's fixture has it (then the target must return data for
 * that bridge). `agent` targets read the agent's own remote-write and
 * Pushgateway metrics (instance: this host, with several bridges).
 */
type Expectation = { scope: 'bridge'; colibri?: string; native?: string } | { scope: 'agent'; metric: string };

const EXPECTED: Readonly<Record<string, Expectation>> = {
  'Bridges up/A': { scope: 'bridge', colibri: 'jvb_up', native: 'jvb_up' },
  'Conferences/A': { scope: 'bridge', colibri: 'jitsi_conferences', native: 'jitsi_jvb_conferences' },
  'Participants / endpoints/A': { scope: 'bridge', colibri: 'jitsi_participants', native: 'jitsi_jvb_local_endpoints' },
  // colibri's `endpoints` field appeared after JVB 2.1.508 (the capture used here); the 2026 capture has it.
  'Participants / endpoints/B': { scope: 'bridge', native: 'jitsi_jvb_current_endpoints' },
  'Bitrate in / out/A': { scope: 'bridge', colibri: 'jitsi_bit_rate_download', native: 'jitsi_jvb_incoming_bitrate' },
  'Bitrate in / out/B': { scope: 'bridge', colibri: 'jitsi_bit_rate_upload', native: 'jitsi_jvb_outgoing_bitrate' },
  'Packet loss/A': { scope: 'bridge', colibri: 'jitsi_incoming_loss', native: 'jitsi_jvb_incoming_loss_fraction' },
  'Packet loss/B': { scope: 'bridge', colibri: 'jitsi_outgoing_loss', native: 'jitsi_jvb_outgoing_loss_fraction' },
  'RTT/A': { scope: 'bridge', colibri: 'jitsi_rtt_aggregate', native: 'jitsi_jvb_average_rtt' },
  'Stress/A': { scope: 'bridge', colibri: 'jitsi_stress_level', native: 'jitsi_jvb_stress' },
  'ICE failures/A': { scope: 'bridge', colibri: 'jitsi_total_ice_failed', native: 'jitsi_jvb_ice_failed_total' },
  // No colibri field counts endpoints whose ICE failed in the versions with fixtures.
  'ICE failures/B': { scope: 'bridge', native: 'jitsi_jvb_endpoints_ice_failed_total' },
  'Conference sizes (current)/A': { scope: 'bridge', colibri: 'jitsi_conference_sizes_bucket', native: 'jitsi_jvb_conferences_by_size_bucket' },
  'Polls and failed polls/A': { scope: 'bridge', colibri: 'jvb_polls_total', native: 'jvb_polls_total' },
  'Polls and failed polls/B': { scope: 'bridge', colibri: 'jvb_poll_failures_total', native: 'jvb_poll_failures_total' },
  'Time since last successful poll/A': {
    scope: 'bridge',
    colibri: 'jvb_last_successful_poll_timestamp_seconds',
    native: 'jvb_last_successful_poll_timestamp_seconds',
  },
  'Time since last successful push/A': { scope: 'agent', metric: 'jvb_remote_write_last_success_timestamp_seconds' },
  'Time since last successful push/B': { scope: 'agent', metric: 'jvb_pushgateway_last_success_timestamp_seconds' },
  'Remote-write samples/A': { scope: 'agent', metric: 'jvb_remote_write_samples_total' },
  'Remote-write samples/B': { scope: 'agent', metric: 'jvb_remote_write_samples_failed_total' },
  'Remote-write samples/C': { scope: 'agent', metric: 'jvb_remote_write_samples_retried_total' },
  'Remote-write backlog/A': { scope: 'agent', metric: 'jvb_remote_write_samples_pending' },
  'Dropped samples/A': { scope: 'agent', metric: 'jvb_remote_write_samples_dropped_total' },
  'Remote-write queue size/A': { scope: 'agent', metric: 'jvb_remote_write_queue_bytes' },
  'Oldest queued sample/A': { scope: 'agent', metric: 'jvb_remote_write_oldest_pending_sample_age_seconds' },
  'Pushgateway pushes/A': { scope: 'agent', metric: 'jvb_pushgateway_pushes_total' },
};

// ---- the dashboard ----

interface Target {
  refId: string;
  expr: string;
  format?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Variable {
  type: string;
  name: string;
  query?: string | { query: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}
interface Dashboard {
  schemaVersion: number;
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

/** Data panels (rows are only containers), nested ones (collapsed rows) included. */
function dataPanels(dashboard: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') out.push(...(((panel as { panels?: Panel[] }).panels ?? []) as Panel[]));
    else out.push(panel);
  }
  return out;
}

function targetsOf(dashboard: Dashboard): Array<{ key: string; panel: Panel; target: Target }> {
  return dataPanels(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => ({ key: `${panel.title}/${target.refId}`, panel, target })));
}

function variableQuery(variable: Variable): string {
  return typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
}

/**
 * Resolves Grafana's variables as Grafana would before sending the query:
 * `$name`, `${name}`, `${name:fmt}` and `[[name]]`. `$1` and the like (a
 * label_replace replacement) are not variables and stay.
 */
function resolveVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, braced?: string, bracketed?: string, bare?: string) => {
    const name = (braced ?? bracketed ?? bare)!;
    if (/^\d+$/.test(name)) return whole;
    const value = values[name];
    if (value === undefined) throw new Error(`unknown variable $${name} in ${expr}`);
    return value;
  });
}

const BUILTINS = { __rate_interval: '1m', __interval: '1m', __range: '1m', __range_s: '60', __interval_ms: '60000' };

/** The variables with `instance` set to `instance` (a bridge's name, or a regex) and the others to All. */
function variables(instance: string): Record<string, string> {
  return { ...BUILTINS, datasource: 'prometheus', instance, job: '.*', agent: '.*' };
}

// ---- the setup: bridges, Prometheus, Pushgateway, agent ----

const colibriBridge = new FakeBridge({ metrics: false, colibri: COLIBRI_FIXTURE });
const nativeBridge = new FakeBridge({ metrics: true });
let prometheus: PrometheusServer | undefined;
let pushgateway: PushgatewayServer | undefined;
let agent: AgentProcess | undefined;
let dir: string | undefined;

let agentExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

function log(): string {
  return agent ? agent.lines.slice(-60).join('\n') : '(no agent)';
}

function ready(): PrometheusServer {
  setUpDone.check();
  if (agentExit !== undefined) throw new Error(`the agent exited (${JSON.stringify(agentExit)}); log:\n${log()}`);
  return prometheus!;
}

/** The agent, for eventually(). */
const watchedAgent = { gone: () => (agentExit === undefined ? undefined : `the agent exited (${JSON.stringify(agentExit)})`), log };

/** Repeats `probe` until it returns a value (see helpers/eventually.ts). */
function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  return eventuallyWatching(what, probe, watchedAgent, timeoutMs, 250);
}

async function setUp(): Promise<void> {
  await colibriBridge.start();
  await nativeBridge.start();
  prometheus = await PrometheusServer.start({ remoteWriteReceiver: true });
  pushgateway = await PushgatewayServer.start();
  dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-dashboard-'));
  const configFile = join(dir, 'agent.yml');
  writeFileSync(
    configFile,
    `poll:
  interval: 1s
bridges:
  - url: "${colibriBridge.colibriUrl}"
    name: ${COLIBRI}
  - url: "${nativeBridge.metricsUrl}"
    name: ${NATIVE}
pushgateway:
  - url: "${pushgateway.url}"
`,
  );
  agent = AgentProcess.spawn([`--config.file=${configFile}`, `--remote-write.url=${prometheus.url}/api/v1/write`, '--web.listen-address=127.0.0.1:0']);
  void agent.exited.then((exit) => (agentExit = exit));
  await agent.metricsPort();

  // Rate panels need several samples in their window: wait until each
  // bridge was polled successfully a few times, and the agent pushed its
  // own metrics a few times, all seen by Prometheus.
  const prom = prometheus;
  const atLeast = (promql: string, n: number) => async () => {
    const result = await prom.query(promql);
    return result.length > 0 && result.every((s) => Number(s.value[1]) >= n) ? result : undefined;
  };
  for (const bridge of BRIDGES) {
    await eventually(`${bridge} polled successfully 4 times`, atLeast(`sum_over_time(jvb_up{instance="${bridge}"}[1m])`, 4), 45_000);
  }
  await eventually('the agent pushed its remote-write metrics 4 times', atLeast('count_over_time(jvb_remote_write_samples_total[1m])', 4), 45_000);
  await eventually('a successful Pushgateway push counted 4 times', atLeast('count_over_time(jvb_pushgateway_pushes_total{result="success"}[1m])', 4), 45_000);
  await eventually('the Pushgateway last-success time pushed', atLeast('count_over_time(jvb_pushgateway_last_success_timestamp_seconds[1m])', 2), 45_000);
}

const setUpDone = setUpBefore(test, setUp);

test.after(async () => {
  await agent?.stop();
  await prometheus?.stop();
  await pushgateway?.stop();
  await colibriBridge.stop();
  await nativeBridge.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** An instant query, repeated (bounded) until it returns something; the last result. */
async function queryWithData(prom: PrometheusServer, promql: string, timeoutMs = 5000): Promise<PromSample[]> {
  return prom.waitFor(promql, (r) => r.length > 0, timeoutMs);
}

// ---- static checks: no set-up needed ----

test('the dashboard is valid JSON with schemaVersion >= 36, the variables, and a datasource and targets on every panel', () => {
  const dashboard = loadDashboard();
  assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
  assert.type(dashboard.title, 'string');
  assert.type(dashboard.uid, 'string');
  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  assert.is(vars.get('datasource')?.type, 'datasource');
  assert.is((vars.get('datasource') as { query?: string } | undefined)?.query, 'prometheus');
  const instance = vars.get('instance');
  assert.ok(instance, 'an instance variable');
  assert.is(instance!.type, 'query');
  assert.is(variableQuery(instance!).replace(/\s+/g, ''), 'label_values(jvb_up,instance)');
  assert.is(instance!.multi, true, 'instance is multi-value');
  assert.is(instance!.includeAll, true, 'instance includes All');
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    assert.equal((v as { datasource?: unknown }).datasource, { type: 'prometheus', uid: '${datasource}' }, `variable ${v.name} uses the datasource variable`);
  }

  const panels = dataPanels(dashboard);
  assert.ok(panels.length >= 15, `${panels.length} panels`);
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal([...new Set(ids)], ids, 'panel ids are unique');
  const titles = panels.map((p) => p.title);
  assert.equal([...new Set(titles)], titles, 'panel titles are unique');
  for (const panel of panels) {
    assert.equal(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, `${panel.title}: datasource`);
    assert.ok((panel.targets ?? []).length > 0, `${panel.title}: no target`);
    for (const target of panel.targets!) {
      assert.type(target.expr, 'string', `${panel.title}/${target.refId}: no expr`);
      assert.ok(target.expr.trim().length > 0, `${panel.title}/${target.refId}: empty expr`);
      assert.equal(target.datasource, { type: 'prometheus', uid: '${datasource}' }, `${panel.title}/${target.refId}: datasource`);
    }
    const refIds = panel.targets!.map((t) => t.refId);
    assert.equal([...new Set(refIds)], refIds, `${panel.title}: refIds are unique`);
  }
});

test('the table of expectations names exactly the dashboard\'s targets', () => {
  const keys = targetsOf(loadDashboard()).map((t) => t.key);
  const missing = keys.filter((k) => !(k in EXPECTED));
  const extra = Object.keys(EXPECTED).filter((k) => !keys.includes(k));
  assert.equal(missing, [], `targets without an expectation in this test: ${missing.join(', ')}`);
  assert.equal(extra, [], `expectations for targets the dashboard lacks: ${extra.join(', ')}`);
});

test('bridge panels filter on $instance and $job; agent panels on $agent; the conference-size histograms are never rate()d', () => {
  for (const { key, target } of targetsOf(loadDashboard())) {
    const expectation = EXPECTED[key]!;
    if (expectation.scope === 'bridge') {
      assert.ok(/instance=~"\$instance"/.test(target.expr) && /job=~"\$job"/.test(target.expr), `${key} does not filter on $instance and $job: ${target.expr}`);
    } else {
      assert.ok(/instance=~"\$agent"/.test(target.expr), `${key} does not filter on $agent: ${target.expr}`);
    }
    if (/conference_sizes|conferences_by_size/.test(target.expr)) {
      assert.not.match(target.expr, /\b(rate|irate|increase|delta|idelta|deriv)\s*\(/, `${key} applies a rate to a snapshot histogram: ${target.expr}`);
      assert.is(target.format, 'heatmap', `${key}: format`);
    }
  }
});

// ---- against the data ----

test('the variables resolve: $instance to both bridges, $job to jvb, $agent to the agent', async () => {
  const prom = ready();
  const dashboard = loadDashboard();
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
    const match = /^label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)$/.exec(variableQuery(v).trim());
    assert.ok(match, `variable ${v.name}: ${variableQuery(v)} is not label_values(metric, label)`);
    const res = await fetch(`${prom.url}/api/v1/label/${match![2]}/values?match[]=${encodeURIComponent(match![1]!)}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: string[] };
    assert.is(body.status, 'success');
    if (v.name === 'instance') for (const bridge of BRIDGES) assert.ok(body.data.includes(bridge), `$instance offers ${body.data.join(', ')}, not ${bridge}`);
    else if (v.name === 'job') assert.ok(body.data.includes('jvb'), `$job offers ${body.data.join(', ')}`);
    else assert.ok(body.data.length > 0, `variable ${v.name} (${variableQuery(v)}) offers nothing`);
  }
});

test('every panel query returns data; every JVB panel for each bridge whose source has the metric', async () => {
  const prom = ready();
  const failures: string[] = [];
  for (const { key, target } of targetsOf(loadDashboard())) {
    const expectation = EXPECTED[key]!;
    const describe = (instance: string) => {
      const query = resolveVariables(target.expr, variables(instance));
      return { query, label: `panel "${key}" with $instance=${instance}:\n      ${query}` };
    };

    // With everything selected (All = .*) and with a multi-value selection.
    for (const instance of ['.*', `(${BRIDGES.join('|')})`]) {
      const { query, label } = describe(instance);
      try {
        if ((await queryWithData(prom, query)).length === 0) failures.push(`no data: ${label}`);
      } catch (error) {
        failures.push(`query error: ${label}\n      ${(error as Error).message}`);
      }
    }
    if (expectation.scope === 'agent') {
      // The table's metric exists, so an empty panel is the panel's fault.
      if ((await prom.query(expectation.metric)).length === 0) failures.push(`test table: ${expectation.metric} was never pushed (${key})`);
      continue;
    }

    // One bridge at a time: both namings must be covered.
    for (const [bridge, metric] of [
      [COLIBRI, expectation.colibri],
      [NATIVE, expectation.native],
    ] as const) {
      if (metric === undefined) continue;
      const present = await prom.query(`${metric}{instance="${bridge}"}`);
      if (present.length === 0) {
        failures.push(`test table: ${bridge} has no ${metric} (${key}); is the fixture or the mapping different?`);
        continue;
      }
      const { query, label } = describe(bridge);
      try {
        if ((await queryWithData(prom, query)).length === 0) failures.push(`no data for ${bridge} although it has ${metric}: ${label}`);
      } catch (error) {
        failures.push(`query error: ${label}\n      ${(error as Error).message}`);
      }
    }
  }
  assert.ok(failures.length === 0, `${failures.length} panel queries failed:\n  ${failures.join('\n  ')}`);
});

test('bitrates come out in bit/s for both namings (colibri kbit/s times 1000)', async () => {
  const prom = ready();
  const fixture = JSON.parse(colibriFixtureText(COLIBRI_FIXTURE)) as Record<string, number>;
  const panel = targetsOf(loadDashboard()).filter((t) => t.panel.title === 'Bitrate in / out');
  const expected: Record<string, number> = { A: fixture['bit_rate_download']! * 1000, B: fixture['bit_rate_upload']! * 1000 };
  for (const { key, target } of panel) {
    const result = await queryWithData(prom, resolveVariables(target.expr, variables(COLIBRI)));
    assert.is(result.length, 1, `${key}: ${JSON.stringify(result)}`);
    const value = Number(result[0]!.value[1]);
    assert.ok(Math.abs(value - expected[target.refId]!) < 1e-6, `${key}: ${value} bit/s, expected ${expected[target.refId]}`);
    // The native bridge's value is bit/s as JVB reports it: the query returns it unchanged.
    const native = await queryWithData(prom, resolveVariables(target.expr, variables(NATIVE)));
    const raw = await prom.query(`${target.refId === 'A' ? 'jitsi_jvb_incoming_bitrate' : 'jitsi_jvb_outgoing_bitrate'}{instance="${NATIVE}"}`);
    assert.is(native[0]?.value[1], raw[0]?.value[1], `${key}: native value changed`);
  }
});

test('the conference-size heatmap shows the current shape of each bridge\'s histogram, le normalised', async () => {
  const prom = ready();
  const { target } = targetsOf(loadDashboard()).find((t) => t.key === 'Conference sizes (current)/A')!;
  const counts = JSON.parse(colibriFixtureText(COLIBRI_FIXTURE))['conference_sizes'] as number[];
  for (const bridge of BRIDGES) {
    const result = await queryWithData(prom, resolveVariables(target.expr, variables(bridge)));
    const byLe = new Map(result.map((s) => [s.metric['le']!, Number(s.value[1])]));
    assert.is(byLe.size, 22, `${bridge}: le values ${[...byLe.keys()].join(', ')}`);
    for (const le of byLe.keys()) assert.match(le, /^(\d+|\+Inf)$/, `${bridge}: le="${le}" not normalised`);
    if (bridge === COLIBRI) {
      // cumulative, as the capture's arrays say
      let cumulative = 0;
      for (let le = 0; le <= 20; le++) {
        cumulative += counts[le] ?? 0;
        assert.is(byLe.get(String(le)), cumulative, `${bridge} le=${le}`);
      }
      assert.is(byLe.get('+Inf'), counts.reduce((s, n) => s + n, 0));
    }
  }
  // Both bridges together: one series per le, the sum of both.
  const both = await queryWithData(prom, resolveVariables(target.expr, variables('.*')));
  assert.is(both.length, 22, `both bridges: ${both.map((s) => s.metric['le']).join(', ')}`);
});

test.run();
