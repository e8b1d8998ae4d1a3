import { hostname } from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { FakeBridge, NATIVE_CONTENT_TYPES } from '../helpers/fake-bridge';
import { ACTIVE_2021, fixtureJson } from '../helpers/fixtures';
import { parseExposition, type Exposition } from '../helpers/parse-exposition';
import { PrometheusServer } from '../helpers/prometheus-server';
import { familyValue, PushgatewayServer, sameLabels, type GatewayGroup } from '../helpers/pushgateway-server';

/**
 * The built agent pushing to Debian's real prometheus-pushgateway, and a
 * real Prometheus scraping that gateway. Expected values come from the
 * fixture JSON, never from the agent's own output.
 */

const stats = fixtureJson(ACTIVE_2021);
const fixtureBody = JSON.stringify(stats);

/**
 * What the README's rules make of the fixture's plain fields: every numeric
 * field that is not a `total_*` counter or a millisecond field is the gauge
 * `jitsi_<field>` with the field's value; a boolean is a 0/1 gauge.
 */
function expectedGauges(fields: Record<string, unknown>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of Object.entries(fields)) {
    if (key.startsWith('total_') || key.includes('milliseconds')) continue;
    if (typeof value === 'number') out.set(`jitsi_${key}`, value);
    else if (typeof value === 'boolean') out.set(`jitsi_${key}`, value ? 1 : 0);
  }
  return out;
}

const PARTICIPANTS = Number(stats['participants']);

const e2e = suite('Pushgateway: the agent pushes to a real prometheus-pushgateway');
const jvb = new FakeBridge();
const jvb2 = new FakeBridge();
let gw: PushgatewayServer;
let gw2: PushgatewayServer | undefined;
let prometheus: PrometheusServer | undefined;
const agents: AgentProcess[] = [];

const GROUP_A = { job: 'jvb', instance: 'pg-a' };

function spawnAgent(gatewayUrl: string, instance: string, extra: string[] = [], jvbUrl = jvb.colibriUrl): AgentProcess {
  const agent = AgentProcess.spawn([
    `--jvb.url=${jvbUrl}`,
    '--poll.interval=300ms',
    '--jvb.timeout=250ms',
    '--web.listen-address=127.0.0.1:0',
    `--pushgateway.url=${gatewayUrl}`,
    `--pushgateway.instance=${instance}`,
    ...extra,
  ]);
  agents.push(agent);
  return agent;
}

/** The agent's own /metrics. */
async function agentMetrics(agent: AgentProcess): Promise<Exposition> {
  const port = await agent.metricsPort();
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
  return parseExposition(await res.text());
}

function selfValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Repeats `read` until `accept` likes the value or `timeoutMs` passes; returns the last value. */
async function waitForValue<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

const hasParticipants = (group: GatewayGroup | undefined) => familyValue(group, 'jitsi_participants') !== undefined;

e2e.before(async () => {
  await jvb.start();
  jvb.respond = () => ({ body: fixtureBody });
  await jvb2.start();
  jvb2.respond = () => ({ body: fixtureBody });
  gw = await PushgatewayServer.start();
});

e2e.after(async () => {
  await Promise.all(agents.map((agent) => agent.stop('SIGKILL')));
  await prometheus?.stop();
  await gw2?.stop();
  await gw?.stop();
  await jvb.stop();
  await jvb2.stop();
});

e2e("after a poll, the gateway's /api/v1/metrics shows our group (job, instance) with the fixture's values", async () => {
  spawnAgent(gw.url, 'pg-a');
  const group = await gw.waitForGroup(GROUP_A, hasParticipants);
  assert.ok(group, `no group ${JSON.stringify(GROUP_A)}; groups: ${JSON.stringify((await gw.groups()).map((g) => g.labels))}`);
  assert.equal(group!.labels, GROUP_A);

  const gauges = expectedGauges(stats);
  assert.ok(gauges.size > 30, 'the fixture has plenty of plain fields');
  for (const [name, value] of gauges) {
    assert.is(familyValue(group, name), value, name);
    assert.is(group!.families.get(name)!.type, 'GAUGE', `${name} type`);
  }
  // A seed counter (the seed's name, without _total) and the info metric.
  assert.is(familyValue(group, 'jitsi_total_conferences_created'), Number(stats['total_conferences_created']));
  assert.is(group!.families.get('jitsi_total_conferences_created')!.type, 'COUNTER');
  const info = group!.families.get('jitsi_bridge_info')!;
  assert.is(info.metrics[0]!.labels['version'], stats['version']);
  assert.is(Number(info.metrics[0]!.value), 1);

  // The conference_sizes histogram: cumulative buckets le=0..20, +Inf, _sum = Σ i·n_i.
  const slots = stats['conference_sizes'] as number[];
  const hist = group!.families.get('jitsi_conference_sizes');
  assert.ok(hist, 'the histogram is pushed');
  assert.is(hist!.type, 'HISTOGRAM');
  const m = hist!.metrics[0]!;
  let running = 0;
  for (let le = 0; le <= 20; le++) {
    running += slots[le]!;
    assert.is(Number(m.buckets![String(le)]), running, `bucket le=${le}`);
  }
  const total = slots.reduce((a, b) => a + b, 0);
  assert.is(Number(m.buckets!['+Inf']), total);
  assert.is(Number(m.count), total);
  assert.is(Number(m.sum), slots.reduce((s, n, i) => s + i * n, 0));

  // Every sample carries the grouping key; the agent's health metrics come along.
  assert.equal(group!.families.get('jitsi_participants')!.metrics[0]!.labels, { instance: 'pg-a', job: 'jvb' });
  assert.is(familyValue(group, 'jvb_up'), 1);
  assert.ok(familyValue(group, 'jvb_polls_total')! >= 1);
  assert.ok(familyValue(group, 'push_time_seconds')! > 0, 'the gateway recorded a successful push');
});

e2e('two agents with different --pushgateway.instance keep two groups (and "/", empty and non-ASCII values round-trip)', async () => {
  const groupB = { job: 'jvb', instance: 'bridge/2 zürich', rack: '' };
  spawnAgent(gw.url, groupB.instance, ['--pushgateway.grouping=rack=']);
  const b = await gw.waitForGroup(groupB, hasParticipants);
  assert.ok(b, `no group ${JSON.stringify(groupB)}; groups: ${JSON.stringify((await gw.groups()).map((g) => g.labels))}`);
  assert.is(familyValue(b, 'jitsi_participants'), PARTICIPANTS);

  // Both keep being pushed after both exist: neither replaces the other.
  const since = Math.max(familyValue(b, 'push_time_seconds')!, familyValue(await gw.group(GROUP_A), 'push_time_seconds')!);
  const fresher = (group: GatewayGroup | undefined) => hasParticipants(group) && familyValue(group, 'push_time_seconds')! > since;
  assert.ok(fresher(await gw.waitForGroup(GROUP_A, fresher)), 'A pushed again and its group is intact');
  assert.ok(fresher(await gw.waitForGroup(groupB, fresher)), 'B pushed again and its group is intact');
  const jvbGroups = (await gw.groups()).filter((g) => g.labels['job'] === 'jvb');
  assert.is(jvbGroups.length, 2, `groups: ${JSON.stringify(jvbGroups.map((g) => g.labels))}`);
  assert.ok(jvbGroups.some((g) => sameLabels(g.labels, GROUP_A)));
});

e2e('without --pushgateway.instance the group is keyed by the host name, and --pushgateway.job names the job', async () => {
  const agent = AgentProcess.spawn([
    `--jvb.url=${jvb.colibriUrl}`,
    '--poll.interval=300ms',
    '--jvb.timeout=250ms',
    '--web.listen-address=127.0.0.1:0',
    `--pushgateway.url=${gw.url}`,
    '--pushgateway.job=jvb-default-instance',
  ]);
  agents.push(agent);
  const group = await gw.waitForGroup({ job: 'jvb-default-instance', instance: hostname() }, hasParticipants);
  assert.is(familyValue(group, 'jitsi_participants'), PARTICIPANTS, `groups: ${JSON.stringify((await gw.groups()).map((g) => g.labels))}`);
  await agent.stop('SIGTERM');
});

e2e('one agent polling two bridges keeps one group per bridge (job, instance = bridge name), and one for its own metrics', async () => {
  const stats2 = { ...stats, participants: PARTICIPANTS + 7 };
  jvb2.respond = () => ({ body: JSON.stringify(stats2) });
  const agent = AgentProcess.spawn([
    `--jvb.url=${jvb.colibriUrl}`,
    `--jvb.url=${jvb2.colibriUrl}`,
    '--poll.interval=300ms',
    '--jvb.timeout=250ms',
    '--web.listen-address=127.0.0.1:0',
    `--pushgateway.url=${gw.url}`,
  ]);
  agents.push(agent);
  // Both fakes listen on 127.0.0.1: local bridges are named after this host, with the port when there are several.
  const nameOf = (url: string) => `${hostname()}:${new URL(url).port}`;
  const first = await gw.waitForGroup({ job: 'jvb', instance: nameOf(jvb.colibriUrl) }, hasParticipants);
  const second = await gw.waitForGroup({ job: 'jvb', instance: nameOf(jvb2.colibriUrl) }, hasParticipants);
  assert.is(familyValue(first, 'jitsi_participants'), PARTICIPANTS, `groups: ${JSON.stringify((await gw.groups()).map((g) => g.labels))}`);
  assert.is(familyValue(second, 'jitsi_participants'), PARTICIPANTS + 7);
  assert.is(familyValue(second, 'jvb_up'), 1, "each bridge's own poll metrics are in its group");
  const own = await gw.waitForGroup({ job: 'jvb-prometheus-adapter', instance: hostname() }, (group) => familyValue(group, 'jvb_adapter_build_info') === 1);
  assert.ok(own, "the agent's own metrics have a group of their own");
  assert.is(familyValue(own, 'jitsi_participants'), undefined);
  await agent.stop('SIGTERM');
  jvb2.respond = () => ({ body: fixtureBody });
});

e2e('a real Prometheus scraping the gateway with honor_labels: true returns jitsi_participants for our instance', async () => {
  prometheus = await PrometheusServer.start({ scrape: [{ job: 'pushgateway', target: gw.address, honorLabels: true }] });
  const result = await prometheus.waitFor('jitsi_participants{instance="pg-a"}', (r) => r.length === 1);
  assert.is(result.length, 1);
  assert.is(Number(result[0]!.value[1]), PARTICIPANTS);
  assert.is(result[0]!.metric['job'], 'jvb', 'the pushed job label, not the scrape job');
  assert.is(result[0]!.metric['instance'], 'pg-a');
  assert.is(result[0]!.metric['exported_instance'], undefined);
});

e2e('a second push replaces the first (PUT): a series gone from the next poll disappears from the group', async () => {
  const group = { job: 'jvb', instance: 'pg-replace' };
  spawnAgent(gw.url, group.instance, [], jvb2.colibriUrl);
  const first = await gw.waitForGroup(group, (g) => familyValue(g, 'jitsi_largest_conference') !== undefined);
  assert.is(familyValue(first, 'jitsi_largest_conference'), Number(stats['largest_conference']));
  assert.ok(first!.families.has('jitsi_conference_sizes'));

  const changed: Record<string, unknown> = { ...stats, participants: PARTICIPANTS + 5 };
  delete changed['largest_conference'];
  delete changed['conference_sizes'];
  jvb2.respond = () => ({ body: JSON.stringify(changed) });
  const second = await gw.waitForGroup(group, (g) => familyValue(g, 'jitsi_participants') === PARTICIPANTS + 5);
  assert.is(familyValue(second, 'jitsi_participants'), PARTICIPANTS + 5, 'the new poll was pushed');
  assert.not.ok(second!.families.has('jitsi_largest_conference'), 'the vanished gauge is gone from the group');
  assert.not.ok(second!.families.has('jitsi_conference_sizes'), 'the vanished histogram is gone from the group');
  assert.is(familyValue(second, 'jitsi_conferences'), Number(stats['conferences']), 'the rest is still there');
});

e2e('SIGTERM: DELETE removes the group with --pushgateway.delete-on-shutdown, and not without it', async () => {
  const deleted = { job: 'jvb', instance: 'pg-delete' };
  const kept = { job: 'jvb', instance: 'pg-keep' };
  const withDelete = spawnAgent(gw.url, deleted.instance, ['--pushgateway.delete-on-shutdown']);
  const withoutDelete = spawnAgent(gw.url, kept.instance);
  assert.ok(hasParticipants(await gw.waitForGroup(deleted, hasParticipants)));
  assert.ok(hasParticipants(await gw.waitForGroup(kept, hasParticipants)));

  const [codeDelete, codeKeep] = await Promise.all([withDelete.stop('SIGTERM'), withoutDelete.stop('SIGTERM')]);
  assert.is(codeDelete.code, 0);
  assert.is(codeKeep.code, 0);
  assert.ok(withDelete.lines.some((l) => l.includes('deleted the group')), withDelete.lines.join('\n'));

  // The gateway applies writes in order: once a later write of ours shows, any DELETE the agents sent is applied.
  const sentinel = await gw.request('PUT', '/metrics/job/sentinel', 'sentinel_marker 1\n');
  assert.is(sentinel.status, 200, sentinel.body);
  assert.ok(await gw.waitForGroup({ job: 'sentinel' }, (g) => g !== undefined));

  assert.is(await gw.waitForGroup(deleted, (g) => g === undefined), undefined, 'the group was deleted');
  const stillThere = await gw.group(kept);
  assert.is(familyValue(stillThere, 'jitsi_participants'), PARTICIPANTS, 'without the setting the group stays');
});

e2e('a gateway that is down, then up, receives the next push; the agent never stopped polling', async () => {
  gw2 = await PushgatewayServer.start();
  await gw2.stop();
  const agent = spawnAgent(gw2.url, 'pg-outage');
  const group = { job: 'jvb', instance: 'pg-outage' };

  const down = await waitForValue(() => agentMetrics(agent), (m) => selfValue(m, 'jvb_pushgateway_pushes_total', { result: 'failed' }) >= 1);
  assert.ok(selfValue(down, 'jvb_pushgateway_pushes_total', { result: 'failed' }) >= 1, 'failed pushes are counted');
  const pollsWhileDown = selfValue(down, 'jvb_polls_total');
  const later = await waitForValue(() => agentMetrics(agent), (m) => selfValue(m, 'jvb_polls_total') >= pollsWhileDown + 3);
  assert.ok(selfValue(later, 'jvb_polls_total') >= pollsWhileDown + 3, 'polling goes on while the gateway is down');
  assert.is(selfValue(later, 'jvb_up'), 1);
  assert.ok(agent.lines.some((l) => /level=warn msg="push failed, retrying once".*reason=network_refused/.test(l)), agent.lines.join('\n'));

  await gw2.start();
  const back = await gw2.waitForGroup(group, hasParticipants);
  assert.is(familyValue(back, 'jitsi_participants'), PARTICIPANTS, 'the next push landed');
  // The pushed data itself says that earlier pushes failed: the agent's own metrics are read every 10 s (docs/metrics.md), so a push carries them at the latest from the next read on.
  const failedPushed = (g: GatewayGroup | undefined) =>
    (g?.families.get('jvb_pushgateway_pushes_total')?.metrics ?? []).filter((s) => s.labels['result'] === 'failed').reduce((sum, s) => sum + Number(s.value), 0);
  const told = await gw2.waitForGroup(group, (g) => failedPushed(g) >= 1, 60_000);
  assert.ok(failedPushed(told) >= 1, 'jvb_pushgateway_pushes_total{result="failed"} reached the gateway');

  // The served text is rendered once per poll, so the agent's own counters show a push from the poll after it on.
  const succeeded = (x: Exposition) =>
    selfValue(x, 'jvb_pushgateway_pushes_total', { result: 'success' }) + selfValue(x, 'jvb_pushgateway_pushes_total', { result: 'retried_success' });
  const pollsBefore = selfValue(later, 'jvb_polls_total');
  const after = await waitForValue(() => agentMetrics(agent), (x) => selfValue(x, 'jvb_polls_total') >= pollsBefore + 2 && succeeded(x) >= 1);
  assert.ok(selfValue(after, 'jvb_polls_total') >= pollsBefore + 2, 'still polling');
  assert.ok(succeeded(after) >= 1, 'the successful push is counted');
  assert.ok(selfValue(after, 'jvb_pushgateway_last_success_timestamp_seconds') > 0);
  const code = await agent.stop('SIGTERM');
  assert.is(code.code, 0);
});

e2e("a 400 (a metric's type clashes with another group's) is logged once per explanation, with the gateway's words, not every interval", async () => {
  assert.ok(gw2, 'the previous test started the second gateway');
  await gw2!.wipe();
  // jvb_polls_total, a counter for the agent, as a gauge in a group of our own: the gateway then refuses the agent's pushes.
  const conflict = await gw2!.request('PUT', '/metrics/job/conflict', '# TYPE jvb_polls_total gauge\njvb_polls_total 1\n');
  assert.is(conflict.status, 200, conflict.body);

  const agent = spawnAgent(gw2!.url, 'pg-refused');
  const m = await waitForValue(() => agentMetrics(agent), (x) => selfValue(x, 'jvb_pushgateway_pushes_total', { result: 'failed' }) >= 6);
  assert.ok(selfValue(m, 'jvb_pushgateway_pushes_total', { result: 'failed' }) >= 6, 'several pushes were refused');
  const refusals = agent.lines.filter((l) => l.includes('HTTP 400'));
  // The gateway words one clash from either side at random (Go map order): "... counter:<value:N > } is not a GAUGE"
  // about our sample, or "... gauge:<value:1 > } is not a COUNTER" about the other group's. Each is logged once, ever.
  const explanations = refusals.map((l) => l.replace(/^ts=\S+ /, '').replace(/value:[-+0-9.eE]+/g, 'value:N'));
  assert.ok(refusals.length >= 1 && refusals.length <= 2, `logged once per explanation, got ${refusals.length}:\n${refusals.join('\n')}`);
  assert.is(new Set(explanations).size, refusals.length, `an explanation was repeated:\n${refusals.join('\n')}`);
  assert.match(refusals[0]!, /level=error/);
  assert.match(refusals[0]!, /inconsistent with existing metrics/, "the gateway's explanation");
  assert.match(refusals[0]!, /jvb_polls_total/);
  assert.not.ok(hasParticipants(await gw2!.group({ job: 'jvb', instance: 'pg-refused' })), 'nothing of ours was stored');

  // Once the clash is gone, the next push is accepted and the agent says so.
  const removed = await gw2!.request('DELETE', '/metrics/job/conflict');
  assert.is(removed.status, 202);
  const accepted = await gw2!.waitForGroup({ job: 'jvb', instance: 'pg-refused' }, hasParticipants);
  assert.is(familyValue(accepted, 'jitsi_participants'), PARTICIPANTS);
  await agent.waitForLine(/Pushgateway accepts pushes again/, 5000);
  assert.is(agent.lines.filter((l) => l.includes('HTTP 400')).length, refusals.length);
});

e2e('a native bridge whose samples carry timestamps: the gateway refuses a push with one, so the agent pushes them without, every sample kept', async () => {
  const T = Date.now() - 60_000;
  // The gateway's own rule, asked directly: a pushed sample with a timestamp is refused.
  const direct = await gw.request('PUT', '/metrics/job/timestamp-check', `jitsi_stamped 1 ${T}\n`);
  assert.is(direct.status, 400, direct.body);
  const bridge = new FakeBridge({ format: 'text' });
  const body = ['# TYPE jitsi_stamped gauge', `jitsi_stamped{k="a"} 4 ${T}`, 'jitsi_stamped{k="b"} 5', ''].join('\n');
  bridge.respond = (request) => (request.path === '/metrics' ? { body, contentType: NATIVE_CONTENT_TYPES.text } : undefined);
  await bridge.start();
  try {
    const agent = spawnAgent(gw.url, 'pg-stamped', [], bridge.metricsUrl);
    const both = (group: GatewayGroup | undefined) => group?.families.get('jitsi_stamped')?.metrics.length === 2;
    const group = await gw.waitForGroup({ job: 'jvb', instance: 'pg-stamped' }, both);
    assert.ok(both(group), `groups: ${JSON.stringify((await gw.groups()).map((g) => g.labels))}\n${agent.lines.slice(-10).join('\n')}`);
    const values = Object.fromEntries(group!.families.get('jitsi_stamped')!.metrics.map((m) => [m.labels['k'], Number(m.value)]));
    assert.equal(values, { a: 4, b: 5 });
    assert.is(agent.lines.filter((l) => l.includes('HTTP 400')).length, 0, agent.lines.join('\n'));
    await agent.stop('SIGTERM');
  } finally {
    await bridge.stop();
  }
});

e2e.run();
