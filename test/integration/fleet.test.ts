import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { COLIBRI_2026, FakeBridge, type ReceivedRequest } from '../helpers/fake-bridge';
import { parseExposition, type ExpositionSample } from '../helpers/parse-exposition';
import { PrometheusServer, type PromSample } from '../helpers/prometheus-server';
import { eventually as eventuallyWatching } from '../helpers/eventually';
import { setUpBefore } from '../helpers/set-up-before';

/**
 * Many bridges from one agent, from the `bridges:` list of a YAML file, all
 * pushed to one real Prometheus (remote_write receiver), each under its own
 * instance label: two native bridges, one with only /colibri/stats, and one
 * that never answers.
 */

const test = suite('a fleet of bridges from one agent (--config.file bridges:)');

const NATIVE_A = 'native-a';
const NATIVE_B = 'native-b';
const COLIBRI_C = 'colibri-c';
const HANGING_D = 'hanging-d';
const GOOD = [NATIVE_A, NATIVE_B, COLIBRI_C] as const;

const nativeA = new FakeBridge({ metrics: true });
const nativeB = new FakeBridge({ metrics: true });
const colibriC = new FakeBridge({ metrics: false, colibri: COLIBRI_2026 });
const hangingD = new FakeBridge({ hang: true });
const bridges = [nativeA, nativeB, colibriC, hangingD];

let dir: string | undefined;
let prometheus: PrometheusServer | undefined;
let agent: AgentProcess | undefined;
let agentPort = 0;

/** The first request the hanging bridge got: it must stay open while the others are polled. */
let firstHangingRequest: ReceivedRequest | undefined;

let agentExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

/** Throws when the set-up failed or the agent is gone. */
function ready(): void {
  setUpDone.check();
  if (agentExit !== undefined) throw new Error(`the agent exited (${JSON.stringify(agentExit)}); log:\n${log()}`);
}

const setUpDone = setUpBefore(test, setUp);

async function setUp(): Promise<void> {
  for (const bridge of bridges) await bridge.start();
  prometheus = await PrometheusServer.start({ remoteWriteReceiver: true });
  dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-fleet-'));
  const configFile = join(dir, 'agent.yml');
  // native-a and colibri-c are auto (base URL), native-b names its endpoint.
  // hanging-d has a long interval and timeout, so that its first request
  // stays open while the others are polled several times.
  writeFileSync(
    configFile,
    `poll:
  interval: 1s
bridges:
  - url: "${nativeA.baseUrl}"
    name: ${NATIVE_A}
  - url: "${nativeB.metricsUrl}"
    name: ${NATIVE_B}
  - url: "${colibriC.baseUrl}"
    name: ${COLIBRI_C}
  - url: "${hangingD.baseUrl}"
    name: ${HANGING_D}
    interval: 20s
    timeout: 20s
remote_write:
  - url: ${prometheus.url}/api/v1/write
`,
  );
  agent = AgentProcess.spawn([`--config.file=${configFile}`, '--web.listen-address=127.0.0.1:0']);
  void agent.exited.then((exit) => (agentExit = exit));
  agentPort = await agent.metricsPort();
}

test.after(async () => {
  await agent?.stop();
  await prometheus?.stop();
  for (const bridge of bridges) await bridge.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function log(): string {
  return agent ? agent.lines.join('\n') : '(no agent)';
}

async function agentSamples(): Promise<ExpositionSample[]> {
  const res = await fetch(`http://127.0.0.1:${agentPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  return [...parseExposition(await res.text()).samples];
}

function valueFor(samples: readonly ExpositionSample[], name: string, instance: string): number | undefined {
  const found = samples.filter((s) => s.name === name && s.labels['instance'] === instance);
  return found.length === 1 ? found[0]!.value : undefined;
}

/** The agent, for eventually(). */
const watchedAgent = { gone: () => (agentExit === undefined ? undefined : `the agent exited (${JSON.stringify(agentExit)})`), log };

/** Repeats `probe` until it returns a value (see helpers/eventually.ts). */
function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  return eventuallyWatching(what, probe, watchedAgent, timeoutMs, 200);
}

/** instance -> value, keys sorted (so that JSON.stringify compares it). */
function byInstance(result: readonly PromSample[]): Record<string, string> {
  return sortKeys(Object.fromEntries(result.map((s) => [s.metric['instance'] ?? '(none)', s.value[1]])));
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

test('the good bridges keep being polled at their interval while the hanging one has not answered its first request', async () => {
  ready();
  firstHangingRequest = await eventually('the hanging bridge gets a request', async () => hangingD.requests[0]);
  const before = await eventually('jvb_polls_total for every good bridge on the agent /metrics', async () => {
    const samples = await agentSamples();
    const counts = GOOD.map((name) => valueFor(samples, 'jvb_polls_total', name));
    return counts.every((n) => n !== undefined) ? (counts as number[]) : undefined;
  });
  const after = await eventually('three more polls of every good bridge', async () => {
    const samples = await agentSamples();
    const counts = GOOD.map((name) => valueFor(samples, 'jvb_polls_total', name) ?? 0);
    return counts.every((n, i) => n >= before[i]! + 3) ? counts : undefined;
  });
  assert.ok(
    firstHangingRequest.open,
    `the hanging bridge's first request was closed before the others were polled 3 more times (polls ${JSON.stringify(before)} -> ${JSON.stringify(after)}); log:\n${log()}`,
  );
  // And their samples reached Prometheus meanwhile: pushing does not wait for the slowest bridge.
  const up = await prometheus!.waitFor(
    'jvb_up',
    (r) => GOOD.every((name) => byInstance(r)[name] === '1'),
  );
  assert.ok(GOOD.every((name) => byInstance(up)[name] === '1'), `jvb_up by instance: ${JSON.stringify(byInstance(up))}\nlog:\n${log()}`);
  assert.ok(firstHangingRequest.open, 'the first hanging request is still open');
});

test('each bridge arrives with its own instance label (job jvb): jvb_up 1 for the three good ones, 0 for the hanging one', async () => {
  ready();
  const expected: Record<string, string> = { [NATIVE_A]: '1', [NATIVE_B]: '1', [COLIBRI_C]: '1', [HANGING_D]: '0' };
  // hanging-d's first poll fails only when its 20 s timeout is over (perhaps twice over, if auto-detection
  // gives /colibri/stats a timeout of its own after /metrics).
  const up = await prometheus!.waitFor('jvb_up', (r) => JSON.stringify(byInstance(r)) === JSON.stringify(sortKeys(expected)), 60_000);
  assert.equal(byInstance(up), sortKeys(expected), `jvb_up by instance; log:\n${log()}`);
  assert.ok(up.every((s) => s.metric['job'] === 'jvb'), JSON.stringify(up.map((s) => s.metric)));

  const native = await prometheus!.query('jitsi_jvb_conferences');
  assert.equal(byInstance(native), { [NATIVE_A]: '2', [NATIVE_B]: '2' }, 'jitsi_jvb_conferences by instance');
  const colibri = await prometheus!.query('jitsi_conferences');
  assert.equal(Object.keys(byInstance(colibri)), [COLIBRI_C], 'jitsi_conferences by instance');
  const hanging = await prometheus!.query(`{instance="${HANGING_D}",__name__=~"jitsi_.+"}`);
  assert.is(hanging.length, 0, 'no bridge series for the hanging bridge');
  const polls = await prometheus!.query(`jvb_polls_total{instance="${HANGING_D}"}`);
  assert.is(polls.length, 1, 'the hanging bridge has its own jvb_polls_total');
  const failures = await prometheus!.query(`sum(jvb_poll_failures_total{instance="${HANGING_D}"})`);
  assert.ok(Number(failures[0]?.value[1] ?? 0) >= 1, `jvb_poll_failures_total for the hanging bridge: ${JSON.stringify(failures)}`);
});

test('auto-detection is logged per bridge: native-a /metrics, colibri-c /colibri/stats', () => {
  ready();
  const detected = agent!.lines.filter((line) => line.includes('msg="JVB endpoint detected"'));
  const forBridge = (name: string) => detected.filter((line) => new RegExp(`(^| )bridge="?${name}"?( |$)`).test(line));
  assert.is(forBridge(NATIVE_A).length, 1, detected.join('\n'));
  assert.match(forBridge(NATIVE_A)[0]!, /(^| )endpoint="?\/metrics"?( |$)/);
  assert.is(forBridge(COLIBRI_C).length, 1, detected.join('\n'));
  assert.match(forBridge(COLIBRI_C)[0]!, /(^| )endpoint="?\/colibri\/stats"?( |$)/);
  assert.is(forBridge(HANGING_D).length, 0, 'nothing detected on a bridge that never answered');
});

test("the agent's own /metrics: every bridge series carries its bridge's instance label", async () => {
  ready();
  const samples = await agentSamples();
  const conferences = samples.filter((s) => s.name === 'jitsi_jvb_conferences');
  assert.ok(
    conferences.every((s) => typeof s.labels['instance'] === 'string' && s.labels['instance'] !== ''),
    `jitsi_jvb_conferences without instance: ${JSON.stringify(conferences)}`,
  );
  assert.equal(conferences.map((s) => s.labels['instance']).sort(), [NATIVE_A, NATIVE_B]);
  const colibri = samples.filter((s) => s.name === 'jitsi_conferences');
  assert.equal(colibri.map((s) => s.labels['instance']), [COLIBRI_C]);
  const up = samples.filter((s) => s.name === 'jvb_up');
  assert.ok(up.every((s) => typeof s.labels['instance'] === 'string'), `jvb_up without instance: ${JSON.stringify(up)}`);
  assert.equal(Object.fromEntries(up.map((s) => [s.labels['instance'], s.value])), { [NATIVE_A]: 1, [NATIVE_B]: 1, [COLIBRI_C]: 1, [HANGING_D]: 0 });
});

test('a native bridge goes down: its series go stale at the receiver, the other bridges keep theirs', async () => {
  ready();
  await prometheus!.waitFor(`jitsi_jvb_conferences{instance="${NATIVE_A}"}`, (r) => r.length === 1);
  await nativeA.stop();
  const gone = await prometheus!.waitFor(`jitsi_jvb_conferences{instance="${NATIVE_A}"}`, (r) => r.length === 0);
  assert.is(gone.length, 0, `jitsi_jvb_conferences{instance="${NATIVE_A}"} is still there; log:\n${log()}`);
  const down = await prometheus!.waitFor(`jvb_up{instance="${NATIVE_A}"}`, (r) => r[0]?.value[1] === '0');
  assert.is(down[0]?.value[1], '0', `jvb_up of ${NATIVE_A}`);
  // The others were not marked stale: present in an instant query now, and still fresh.
  assert.is((await prometheus!.query(`jitsi_jvb_conferences{instance="${NATIVE_B}"}`)).length, 1, `${NATIVE_B} went stale too`);
  assert.is((await prometheus!.query(`jitsi_conferences{instance="${COLIBRI_C}"}`)).length, 1, `${COLIBRI_C} went stale too`);
  const allUp = await prometheus!.query('jvb_up');
  assert.equal(byInstance(allUp), sortKeys({ [NATIVE_A]: '0', [NATIVE_B]: '1', [COLIBRI_C]: '1', [HANGING_D]: '0' }));
});

test.run();
