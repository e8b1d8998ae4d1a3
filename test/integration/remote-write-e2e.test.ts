import https from 'node:https';
import { hashSync } from 'bcryptjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess } from '../helpers/agent-process';
import { closeServer } from '../helpers/close-server';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';
import { FakeBridge } from '../helpers/fake-bridge';
import { ACTIVE_2021, CAPTURE_2026, fixtureJson, fixtureText } from '../helpers/fixtures';
import { expectedQuantile, jvbHistogram } from '../helpers/histogram-quantile';
import { PrometheusServer, type PromSample } from '../helpers/prometheus-server';
import { TestCertificates } from '../helpers/test-certificates';

const INTERVAL_MS = 500;

const push = suite('remote_write to a real Prometheus (--web.enable-remote-write-receiver)');
const jvb = new FakeBridge();
let prometheus: PrometheusServer;
let agent: AgentProcess;

push.before(async () => {
  await jvb.start();
  jvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  prometheus = await PrometheusServer.start({ remoteWriteReceiver: true });
  agent = AgentProcess.spawn([
    `--jvb.url=${jvb.colibriUrl}`,
    `--poll.interval=${INTERVAL_MS}ms`,
    '--jvb.timeout=400ms',
    '--web.listen-address=127.0.0.1:0',
    '--label=dc=rw-e2e',
    `--remote-write.url=${prometheus.url}/api/v1/write`,
    '--remote-write.instance=bridge-e2e',
  ]);
});

push.after(async () => {
  await agent?.stop();
  await prometheus?.stop();
  await jvb.stop();
});

push("the capture's values arrive with the constant, job and instance labels", async () => {
  const stats = fixtureJson(ACTIVE_2021);
  const result = await prometheus.waitFor('jitsi_participants', (r) => r.length === 1);
  assert.is(result.length, 1);
  assert.equal(result[0]!.metric, { __name__: 'jitsi_participants', dc: 'rw-e2e', instance: 'bridge-e2e', job: 'jvb' });
  assert.is(Number(result[0]!.value[1]), stats['participants']);
  const bytes = await prometheus.query('jitsi_total_bytes_received');
  assert.is(Number(bytes[0]!.value[1]), stats['total_bytes_received']);
  const info = await prometheus.query('jitsi_bridge_info');
  assert.is(info[0]!.metric['version'], stats['version']);
  const up = await prometheus.query('jvb_up');
  assert.is(up[0]!.value[1], '1');
});

push('histogram_quantile works on the pushed histograms', async () => {
  const counts = fixtureJson(ACTIVE_2021)['conference_sizes'] as number[];
  const { bounds, cumulative } = jvbHistogram(counts);
  const expected = expectedQuantile(0.5, bounds, cumulative);
  const result = await prometheus.waitFor('histogram_quantile(0.5, jitsi_conference_sizes_bucket)', (r) => r.length === 1);
  assert.ok(Math.abs(Number(result[0]!.value[1]) - expected) < 1e-9, `got ${result[0]?.value[1]}, expected ${expected}`);
  const buckets = await prometheus.query('jitsi_conference_sizes_bucket');
  assert.is(buckets.length, 22);
});

push('samples arrive once per poll with increasing timestamps, none out of order', async () => {
  // Prometheus answers 400 to out-of-order samples; the agent counts those as refused. None must be.
  const refused = await prometheus.query('jvb_remote_write_samples_dropped_total{reason="refused"}');
  assert.ok(refused.every((s) => s.value[1] === '0'), JSON.stringify(refused));
  const count = await prometheus.query('count_over_time(jvb_polls_total[1m])');
  const polls = await prometheus.query('jvb_polls_total');
  // Every poll's sample arrived: as many samples as the counter says polls, give or take the one in flight.
  assert.ok(Math.abs(Number(count[0]!.value[1]) - Number(polls[0]!.value[1])) <= 2, `${count[0]!.value[1]} samples for ${polls[0]!.value[1]} polls`);
});

push('the JVB goes down: its series are stale (absent from an instant query) within about one interval; jvb_up is 0', async () => {
  await prometheus.waitFor('jitsi_participants', (r) => r.length === 1);
  const stoppedAt = Date.now();
  await jvb.stop();
  let result: PromSample[] = [];
  while (Date.now() - stoppedAt < 10_000) {
    result = await prometheus.query('jitsi_participants');
    if (result.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const elapsed = Date.now() - stoppedAt;
  assert.is(result.length, 0, 'jitsi_participants is still there');
  // One interval to the failing poll, plus the push; generous slack for a loaded machine.
  assert.ok(elapsed < INTERVAL_MS * 2 + 2000, `stale only after ${elapsed}ms`);
  const up = await prometheus.waitFor('jvb_up', (r) => r[0]?.value[1] === '0');
  assert.is(up[0]!.value[1], '0');
  // And back: fresh samples after the stale markers.
  jvb.respond = () => ({ body: fixtureText(CAPTURE_2026) });
  await jvb.start();
  const back = await prometheus.waitFor('jitsi_healthy', (r) => r.length === 1);
  assert.is(back[0]!.value[1], '1');
});

push('one failing destination never delays another (two destinations from the YAML file, one never answers)', async () => {
  const blackhole = http.createServer(() => {
    // never answers
  });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'jvb-adapter-two-'));
  const configFile = join(dir, 'agent.yml');
  writeFileSync(
    configFile,
    `remote_write:
  - url: http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/api/v1/write
    name: blackhole
    timeout: 20s
    instance: two-destinations
  - url: ${prometheus.url}/api/v1/write
    name: prometheus
    instance: two-destinations
`,
  );
  const two = AgentProcess.spawn([`--config.file=${configFile}`, `--jvb.url=${jvb.colibriUrl}`, `--poll.interval=${INTERVAL_MS}ms`, '--jvb.timeout=400ms', '--web.listen-address=127.0.0.1:0']);
  try {
    // Five polls' worth of samples arrive at Prometheus while the other destination has not answered a single request.
    const result = await prometheus.waitFor('count_over_time(jvb_up{instance="two-destinations"}[1m])', (r) => Number(r[0]?.value[1] ?? 0) >= 5, 15_000);
    assert.ok(Number(result[0]?.value[1] ?? 0) >= 5, 'samples arrive at the working destination');
    const port = await two.metricsPort();
    const out = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    assert.is(sampleValue(out, 'jvb_remote_write_samples_total', { remote_name: 'blackhole' }), 0);
    assert.ok(sampleValue(out, 'jvb_remote_write_samples_pending', { remote_name: 'blackhole' }) > 0);
  } finally {
    await two.stop();
    await closeServer(blackhole);
    rmSync(dir, { recursive: true, force: true });
  }
});

push.run();

const secure = suite('remote_write over TLS with basic auth, to a Prometheus with --web.config.file');
const certs = new TestCertificates();
const PASSWORD = 's3cret-Pa55word-for-the-test';
let securePrometheus: PrometheusServer;
const secureJvb = new FakeBridge();

/** An instant query over https with the test CA and basic auth (fetch cannot take a CA of its own). */
function httpsQuery(base: string, promql: string): Promise<PromSample[]> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      `${base}/api/v1/query?query=${encodeURIComponent(promql)}`,
      { ca: readFileSync(certs.file('ca.crt')), auth: `pusher:${PASSWORD}` },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          try {
            resolve((JSON.parse(text) as { data: { result: PromSample[] } }).data.result);
          } catch (error) {
            reject(new Error(`bad answer ${res.statusCode}: ${text}`));
          }
        });
      },
    );
    req.on('error', reject);
  });
}

secure.before(async () => {
  await secureJvb.start();
  secureJvb.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  writeFileSync(certs.file('password'), `${PASSWORD}\n`);
  writeFileSync(certs.file('wrong-password'), 'not-the-password\n');
  securePrometheus = await PrometheusServer.start({
    remoteWriteReceiver: true,
    webConfig: `tls_server_config:
  cert_file: ${certs.file('server.crt')}
  key_file: ${certs.file('server.key')}
basic_auth_users:
  pusher: ${hashSync(PASSWORD, 10)}
`,
  });
});

secure.after(async () => {
  await securePrometheus?.stop();
  await secureJvb.stop();
  certs.remove();
});

function secureAgent(passwordFile: string, instance: string): AgentProcess {
  const base = securePrometheus.url.replace('http://127.0.0.1', 'https://localhost');
  return AgentProcess.spawn([
    `--jvb.url=${secureJvb.colibriUrl}`,
    `--poll.interval=${INTERVAL_MS}ms`,
    '--jvb.timeout=400ms',
    '--web.listen-address=127.0.0.1:0',
    `--remote-write.url=${base}/api/v1/write`,
    '--remote-write.username=pusher',
    `--remote-write.password-file=${passwordFile}`,
    `--remote-write.tls.ca-file=${certs.file('ca.crt')}`,
    `--remote-write.instance=${instance}`,
  ]);
}

secure('the right password, read from a file, over TLS verified with the CA: the data arrives', async () => {
  const agent = secureAgent(certs.file('password'), 'secure-ok');
  try {
    const base = securePrometheus.url.replace('http://127.0.0.1', 'https://localhost');
    const deadline = Date.now() + 20_000;
    let result: PromSample[] = [];
    while (Date.now() < deadline && result.length === 0) {
      result = await httpsQuery(base, 'jitsi_participants{instance="secure-ok"}');
      if (result.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    assert.is(result.length, 1);
    assert.is(Number(result[0]!.value[1]), fixtureJson(ACTIVE_2021)['participants']);
  } finally {
    assert.is((await agent.stop()).code, 0);
  }
  assert.not.ok(agent.lines.some((line) => line.includes(PASSWORD)), 'the password never reaches a log line');
});

secure('a wrong password: a 401 that the agent reports plainly, without printing any password', async () => {
  const agent = secureAgent(certs.file('wrong-password'), 'secure-wrong');
  try {
    const line = await agent.waitForLine(/HTTP 401/);
    assert.match(line.input!, /credentials are wrong/);
    assert.match(line.input!, /level=error/);
  } finally {
    await agent.stop();
  }
  const log = agent.lines.join('\n');
  assert.not.ok(log.includes('not-the-password'));
  assert.not.ok(log.includes(PASSWORD));
  assert.not.ok(log.includes(Buffer.from(`pusher:not-the-password`).toString('base64')));
});

secure.run();
