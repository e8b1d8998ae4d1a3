import { hostname } from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { COLIBRI_2026, FakeBridge, type FakeBridgeOptions } from '../helpers/fake-bridge';
import { parseExposition, type ExpositionSample } from '../helpers/parse-exposition';

/**
 * Which endpoint of a bridge the agent reads: `--jvb.url` with a base URL
 * (auto: /metrics first, then /colibri/stats), a full endpoint URL, or
 * `--jvb.source`. Each case: its own fake bridge and its own agent, which
 * serves what it read on its own /metrics.
 */

const NATIVE_FAMILY = 'jitsi_jvb_conferences';
const COLIBRI_FAMILY = 'jitsi_conferences';

interface Running {
  readonly bridge: FakeBridge;
  readonly agent: AgentProcess;
  readonly port: number;
}

/** Everything started, for the `after` hooks (also what a failed start-up left running). */
const started: { bridge: FakeBridge; agent: AgentProcess }[] = [];

async function startCase(bridgeOptions: FakeBridgeOptions, jvbArgs: (bridge: FakeBridge) => string[]): Promise<Running> {
  const bridge = await new FakeBridge(bridgeOptions).start();
  const agent = AgentProcess.spawn([...jvbArgs(bridge), '--poll.interval=500ms', '--web.listen-address=127.0.0.1:0']);
  started.push({ bridge, agent });
  const port = await agent.metricsPort();
  return { bridge, agent, port };
}

async function stopAll(): Promise<void> {
  for (const { agent, bridge } of started.splice(0)) {
    await agent.stop();
    await bridge.stop();
  }
}

async function agentSamples(port: number): Promise<ExpositionSample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  return [...parseExposition(await res.text()).samples];
}

function named(samples: readonly ExpositionSample[], name: string): ExpositionSample[] {
  return samples.filter((s) => s.name === name);
}

function total(samples: readonly ExpositionSample[], name: string): number {
  return named(samples, name).reduce((sum, s) => sum + s.value, 0);
}

/**
 * Reads the agent's /metrics until `accept` likes it (at least `minPolls`
 * polls done), or throws after `timeoutMs` with the last answer and the log.
 */
async function waitForAgent(
  { agent, port }: Running,
  what: string,
  accept: (samples: ExpositionSample[]) => boolean,
  minPolls = 3,
  timeoutMs = 20_000,
): Promise<ExpositionSample[]> {
  const deadline = Date.now() + timeoutMs;
  let samples: ExpositionSample[] = [];
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      samples = await agentSamples(port);
      if (total(samples, 'jvb_polls_total') >= minPolls && accept(samples)) return samples;
    } catch (error) {
      lastError = String(error);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const shown = samples
    .filter((s) => s.name.startsWith('jvb_') || s.name === NATIVE_FAMILY || s.name === COLIBRI_FAMILY)
    .map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`);
  throw new Error(`agent never showed ${what} within ${timeoutMs}ms ${lastError}\nlast /metrics (excerpt):\n${shown.join('\n')}\nagent log:\n${agent.lines.join('\n')}`);
}

function upIs(value: number) {
  return (samples: ExpositionSample[]) => {
    const up = named(samples, 'jvb_up');
    return up.length === 1 && up[0]!.value === value;
  };
}

function detectedLines(agent: AgentProcess): string[] {
  return agent.lines.filter((line) => line.includes('msg="JVB endpoint detected"'));
}

function assertDetectedOnce(running: Running, endpoint: '/metrics' | '/colibri/stats'): void {
  const lines = detectedLines(running.agent);
  assert.is(lines.length, 1, `expected one "JVB endpoint detected" line, got:\n${lines.join('\n')}\nlog:\n${running.agent.lines.join('\n')}`);
  const line = lines[0]!;
  assert.match(line, new RegExp(`(^| )endpoint="?${endpoint.replace(/\//g, '\\/')}"?( |$)`), line);
  // The default name of a single local bridge is this machine's host name (a remote one's is host:port).
  const name = hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(line, new RegExp(`(^| )bridge="?${name}"?( |$)`), line);
}

/** Every /metrics request carried an Accept header naming both formats JVB speaks. */
function assertExplicitAccept(bridge: FakeBridge): void {
  const accepts = bridge.acceptHeaders('/metrics');
  assert.ok(accepts.length > 0, 'the agent never asked /metrics');
  for (const accept of accepts) {
    assert.ok(accept !== undefined, `a /metrics request without an Accept header (JVB answers 500): ${JSON.stringify(accepts)}`);
    assert.ok(accept!.includes('application/openmetrics-text'), `Accept does not name application/openmetrics-text: ${accept}`);
    assert.ok(accept!.includes('text/plain'), `Accept does not name text/plain: ${accept}`);
  }
}

const auto = suite('source selection, auto (--jvb.url=http://host:port): /metrics first, then /colibri/stats');
auto.after(stopAll);

auto('a bridge with only /colibri/stats (e.g. /metrics switched off): colibri, detected once', async () => {
  const running = await startCase({ metrics: false, colibri: COLIBRI_2026 }, (b) => [`--jvb.url=${b.baseUrl}`]);
  const samples = await waitForAgent(running, 'jvb_up 1 and jitsi_conferences', (s) => upIs(1)(s) && named(s, COLIBRI_FAMILY).length === 1);
  assert.is(named(samples, NATIVE_FAMILY).length, 0, 'no native family from a colibri-only bridge');
  assertDetectedOnce(running, '/colibri/stats');
  assert.ok(running.bridge.count('/colibri/stats') >= 3, 'colibri keeps being polled');
  assertExplicitAccept(running.bridge);
});

auto('a bridge with only /metrics (500 without Accept, no COLIBRI REST): native, detected once', async () => {
  const running = await startCase({ metrics: true, colibri: false }, (b) => [`--jvb.url=${b.baseUrl}`]);
  const samples = await waitForAgent(running, 'jvb_up 1 and jitsi_jvb_conferences', (s) => upIs(1)(s) && named(s, NATIVE_FAMILY).length === 1);
  assert.is(named(samples, NATIVE_FAMILY)[0]!.value, 2);
  assert.is(named(samples, COLIBRI_FAMILY).length, 0);
  assertDetectedOnce(running, '/metrics');
  assert.ok(running.bridge.count('/metrics') >= 3, '/metrics keeps being polled');
  assertExplicitAccept(running.bridge);
  const bad = running.bridge.requestsTo('/metrics').filter((r) => r.status !== undefined && r.status !== 200);
  assert.is(bad.length, 0, `/metrics answered ${JSON.stringify(bad)}`);
});

auto('a bridge with both: /metrics wins, /colibri/stats is never asked', async () => {
  const running = await startCase({ metrics: true, colibri: COLIBRI_2026 }, (b) => [`--jvb.url=${b.baseUrl}`]);
  const samples = await waitForAgent(running, 'jvb_up 1 and jitsi_jvb_conferences', (s) => upIs(1)(s) && named(s, NATIVE_FAMILY).length === 1);
  assert.is(named(samples, COLIBRI_FAMILY).length, 0, 'no colibri family when /metrics answered');
  assertDetectedOnce(running, '/metrics');
  assert.is(running.bridge.count('/colibri/stats'), 0);
  assertExplicitAccept(running.bridge);
});

auto('a bridge with neither (404 everywhere): a failure naming both endpoints and how to switch them on; jvb_up 0; the agent keeps running', async () => {
  const running = await startCase({ metrics: false, colibri: false }, (b) => [`--jvb.url=${b.baseUrl}`]);
  let exited = false;
  void running.agent.exited.then(() => (exited = true));
  const match = await running.agent.waitForLine(/videobridge\.rest\.prometheus\.enabled/);
  const line = match.input!;
  for (const needle of ['/metrics', '/colibri/stats', 'videobridge.rest.prometheus.enabled', 'videobridge.apis.rest.enabled', 'COLIBRI_REST_ENABLED']) {
    assert.ok(line.includes(needle), `the failure line does not mention ${needle}: ${line}`);
  }
  const samples = await waitForAgent(running, 'jvb_up 0 after several polls', upIs(0));
  assert.is(named(samples, NATIVE_FAMILY).length + named(samples, COLIBRI_FAMILY).length, 0);
  assert.ok(total(samples, 'jvb_poll_failures_total') >= 3, `failures counted: ${total(samples, 'jvb_poll_failures_total')}`);
  assert.is(detectedLines(running.agent).length, 0, 'nothing was detected');
  assert.not.ok(exited, 'the agent exited');
  assert.ok(running.bridge.count('/metrics') >= 1 && running.bridge.count('/colibri/stats') >= 1, 'both endpoints were asked');
  assertExplicitAccept(running.bridge);
});

auto.run();

const explicit = suite('source selection, explicit: a full endpoint URL or --jvb.source means exactly that endpoint');
explicit.after(stopAll);

explicit('--jvb.url=.../colibri/stats on a bridge with both: colibri only, /metrics never asked', async () => {
  const running = await startCase({ metrics: true, colibri: COLIBRI_2026 }, (b) => [`--jvb.url=${b.colibriUrl}`]);
  const samples = await waitForAgent(running, 'jvb_up 1 and jitsi_conferences', (s) => upIs(1)(s) && named(s, COLIBRI_FAMILY).length === 1);
  assert.is(named(samples, NATIVE_FAMILY).length, 0);
  assert.is(running.bridge.count('/metrics'), 0);
});

explicit('--jvb.url=.../metrics on a bridge with both: native only, /colibri/stats never asked', async () => {
  const running = await startCase({ metrics: true, colibri: COLIBRI_2026 }, (b) => [`--jvb.url=${b.metricsUrl}`]);
  const samples = await waitForAgent(running, 'jvb_up 1 and jitsi_jvb_conferences', (s) => upIs(1)(s) && named(s, NATIVE_FAMILY).length === 1);
  assert.is(named(samples, COLIBRI_FAMILY).length, 0);
  assert.is(running.bridge.count('/colibri/stats'), 0);
  assertExplicitAccept(running.bridge);
});

explicit('--jvb.source=colibri with a base URL on a bridge with both: colibri only', async () => {
  const running = await startCase({ metrics: true, colibri: COLIBRI_2026 }, (b) => [`--jvb.url=${b.baseUrl}`, '--jvb.source=colibri']);
  const samples = await waitForAgent(running, 'jvb_up 1 and jitsi_conferences', (s) => upIs(1)(s) && named(s, COLIBRI_FAMILY).length === 1);
  assert.is(named(samples, NATIVE_FAMILY).length, 0);
  assert.is(running.bridge.count('/metrics'), 0);
});

explicit('--jvb.source=native with a base URL on a colibri-only bridge: no fallback to colibri, jvb_up 0', async () => {
  const running = await startCase({ metrics: false, colibri: COLIBRI_2026 }, (b) => [`--jvb.url=${b.baseUrl}`, '--jvb.source=native']);
  const samples = await waitForAgent(running, 'jvb_up 0 after several polls', upIs(0));
  assert.is(named(samples, COLIBRI_FAMILY).length, 0);
  assert.is(running.bridge.count('/colibri/stats'), 0);
  assert.ok(running.bridge.count('/metrics') >= 1);
});

explicit.run();
