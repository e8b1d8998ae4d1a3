import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { FakeBridge } from '../helpers/fake-bridge';
import { ACTIVE_2021, fixtureJson, fixtureText } from '../helpers/fixtures';
import { expectedQuantile, jvbHistogram } from '../helpers/histogram-quantile';
import { PrometheusServer } from '../helpers/prometheus-server';

const e2e = suite('end to end: a real Prometheus scrapes the agent, which polls a fake JVB');
const jvb = new FakeBridge();
let agent: AgentProcess;
let prometheus: PrometheusServer;

e2e.before(async () => {
  await jvb.start();
  jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  agent = AgentProcess.spawn([`--jvb.url=${jvb.colibriUrl}`, '--poll.interval=1s', '--jvb.timeout=900ms', '--web.listen-address=127.0.0.1:0', '--label=dc=e2e']);
  const port = await agent.metricsPort();
  prometheus = await PrometheusServer.start({ scrape: [{ job: 'jvb', target: `127.0.0.1:${port}` }] });
});

e2e.after(async () => {
  await prometheus?.stop();
  await agent?.stop();
  await jvb.stop();
});

e2e('PromQL returns jitsi_participants as the capture has it, with the constant label', async () => {
  const expected = Number(fixtureJson(ACTIVE_2021)['participants']);
  const result = await prometheus.waitFor('jitsi_participants', (r) => r.length === 1);
  assert.is(result.length, 1);
  assert.is(Number(result[0]!.value[1]), expected);
  assert.is(result[0]!.metric['dc'], 'e2e');
  assert.is(result[0]!.metric['job'], 'jvb');
});

e2e('histogram_quantile(0.5, jitsi_conference_sizes_bucket) is what the capture implies', async () => {
  const counts = fixtureJson(ACTIVE_2021)['conference_sizes'] as number[];
  const { bounds, cumulative } = jvbHistogram(counts);
  const expected = expectedQuantile(0.5, bounds, cumulative);
  const result = await prometheus.waitFor('histogram_quantile(0.5, jitsi_conference_sizes_bucket)', (r) => r.length === 1);
  assert.is(result.length, 1);
  assert.ok(Math.abs(Number(result[0]!.value[1]) - expected) < 1e-9, `got ${result[0]!.value[1]}, expected ${expected}`);
  // And the corrected _sum: the sum of sizes, not the number of conferences.
  const sum = await prometheus.query('jitsi_conference_sizes_sum');
  assert.is(Number(sum[0]!.value[1]), counts.reduce((s, n, i) => s + i * n, 0));
});

e2e('a JVB that goes down: jvb_up drops to 0 and the JVB series go stale, the agent keeps running', async () => {
  await prometheus.waitFor('jvb_up == 1', (r) => r.length === 1);
  await jvb.stop();
  const up = await prometheus.waitFor('jvb_up', (r) => r.length === 1 && r[0]!.value[1] === '0');
  assert.is(up[0]!.value[1], '0');
  const participants = await prometheus.waitFor('jitsi_participants', (r) => r.length === 0);
  assert.is(participants.length, 0, 'jitsi_participants is stale once the JVB is down');
  assert.ok(agent.lines.some((line) => /level=warn msg="poll failed".* reason=connection_error/.test(line)));
  await jvb.start();
  const back = await prometheus.waitFor('jitsi_participants', (r) => r.length === 1);
  assert.is(back.length, 1, 'fresh samples once the JVB is back');
});

e2e('SIGTERM: the agent exits 0', async () => {
  const result = await agent.stop('SIGTERM');
  assert.is(result.code, 0);
  assert.ok(agent.lines.some((line) => line.includes('msg=stopped')));
});

e2e.run();
