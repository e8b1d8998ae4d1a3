import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgent, type RunningAgent } from '../../src/agent';
import type { AgentConfig } from '../../src/config/load-config';
import { loadConfig } from '../../src/config/load-config';
import { createLogger } from '../../src/log/logger';
import { refreshSeconds } from '../../src/server/status-routes';
import type { StatusSnapshot } from '../../src/status/status-model';
import { renderStatusPage } from '../../src/status/status-page';
import { FakeBridge } from '../helpers/fake-bridge';
import { ACTIVE_2021, fixtureText } from '../helpers/fixtures';
import { ScriptedReceiver, until } from '../helpers/scripted-receiver';
import { setUpBefore } from '../helpers/set-up-before';

const HOSTILE = `<script>alert("x")</script>&'`;

function snapshot(): StatusSnapshot {
  return {
    generatedAt: '2026-01-01T12:00:00.000Z',
    agent: {
      version: '1.2.3',
      revision: 'abc1234',
      startedAt: '2026-01-01T11:00:00.000Z',
      uptimeSeconds: 3600,
      configFile: '/etc/jvb/agent.yml',
      lastReload: { at: '2026-01-01T11:30:00.000Z', ok: false, error: `--config.file: ${HOSTILE}` },
      telemetryPath: '/metrics',
    },
    bridges: [
      {
        name: 'jvb-good',
        job: 'jvb',
        source: 'auto',
        endpointKind: 'native',
        url: 'http://jvb1:8080',
        up: true,
        lastPoll: '2026-01-01T11:59:55.000Z',
        lastPollDurationSeconds: 0.012,
        lastSuccess: '2026-01-01T11:59:55.000Z',
        series: 321,
        lastError: null,
      },
      {
        name: HOSTILE,
        job: 'jvb',
        source: 'native',
        endpointKind: 'native',
        url: 'http://jvb2:8080/metrics',
        up: false,
        lastPoll: '2026-01-01T11:59:58.000Z',
        lastPollDurationSeconds: 0.003,
        lastSuccess: null,
        series: 0,
        lastError: { reason: 'connection_error', message: `connect ECONNREFUSED ${HOSTILE}`, at: '2026-01-01T11:59:58.000Z', since: '2026-01-01T11:50:00.000Z' },
      },
    ],
    destinations: [
      {
        kind: 'remote_write',
        name: 'mimir',
        url: 'https://mimir.example/api/v1/push?api_key=<redacted>',
        protobufMessage: 'prometheus.WriteRequest',
        protobufMessageConfigured: 'io.prometheus.write.v2.Request',
        lastSuccess: null,
        lastError: { status: 401, message: `HTTP 401: ${HOSTILE}`, at: '2026-01-01T11:59:59.000Z', since: '2026-01-01T11:00:05.000Z' },
        queue: { requests: 12, samples: 3456, bytes: 1536, maxBytes: 512 * 1024 * 1024, oldestAgeSeconds: 75, maxAgeSeconds: 7200, durable: true },
        samplesSent: 0,
        samplesDropped: { refused: 587, queue_full: 0 },
        held: false,
      },
    ],
  };
}

const page = suite('the status page (render function)');

page('every value is escaped; the page has no script', () => {
  const html = renderStatusPage(snapshot());
  assert.not.match(html, '<script', 'no script element, nor the hostile name unescaped');
  assert.not.match(html, 'alert("x")');
  assert.match(html, '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;');
  // The hostile text appears escaped in the bridge name, its error, the destination's error and the reload error.
  assert.is(html.split('&#60;script&#62;').length - 1, 4);
});

page('a destination whose credentials were refused and whose queue is held says so', () => {
  const held = snapshot();
  const destinations = held.destinations.map((d) => ({ ...d, held: true }));
  const text = renderStatusPage({ ...held, destinations }).replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
  assert.match(text, 'HELD: CREDENTIALS REFUSED');
  assert.not.match(renderStatusPage(snapshot()), 'HELD');
});

page('it names what is wrong: the bridge down with its error, the destination failing with its status', () => {
  const text = renderStatusPage(snapshot()).replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
  assert.match(text, '2 bridges: 1 down');
  assert.match(text, '1 destination: 1 failing');
  assert.match(text, /DOWN .* connection_error : connect ECONNREFUSED/);
  assert.match(text, 'failing since 10m 0s ago');
  assert.match(text, /FAILING never HTTP 401: &/);
  assert.match(text, 'failing since 59m 55s ago');
  assert.match(text, 'remote-write 1.0 prometheus.WriteRequest configured 2.0: the receiver does not read it');
  assert.match(text, '1.5 KiB of 512 MiB');
  assert.match(text, '12 requests, 3456 samples');
  assert.match(text, 'oldest 1m 15s of 2h 0m');
  assert.match(text, 'refused: 587');
  assert.not.match(text, 'queue_full: 0', 'reasons at 0 are left out');
  assert.match(text, 'auto: native (/metrics)');
  assert.match(text, '321');
  assert.match(text, 'took 12 ms');
  assert.match(text, 'FAILED 30m 0s ago');
  assert.match(text, '1.2.3 (revision abc1234)');
  assert.match(text, '/etc/jvb/agent.yml');
});

page('auto-refresh: off by default, ?refresh=N (1 to 3600 s) turns it on', () => {
  assert.not.match(renderStatusPage(snapshot()), 'http-equiv="refresh"');
  assert.match(renderStatusPage(snapshot(), { refreshSeconds: 7 }), '<meta http-equiv="refresh" content="7">');
  const q = (s: string) => refreshSeconds(new URLSearchParams(s));
  assert.is(q('refresh=5'), 5);
  assert.is(q('refresh=3600'), 3600);
  assert.is(q(''), undefined);
  assert.is(q('refresh=0'), undefined);
  assert.is(q('refresh=3601'), undefined);
  assert.is(q('refresh=-1'), undefined);
  assert.is(q('refresh=1e3'), undefined);
  assert.is(q('refresh=%22%3E%3Cscript%3E'), undefined);
});

page.run();

// ---------------------------------------------------------------------------

const PASSWORD = 'rw-Passw0rd-SECRET';
const BEARER = 'pg-Bearer-TOKEN-SECRET';
const URL_PASSWORD = 'url-Userinfo-SECRET';
const QUERY_TOKEN = 'query-Token-SECRET';
const SECRETS = [PASSWORD, BEARER, URL_PASSWORD, QUERY_TOKEN, Buffer.from(`rw-user:${PASSWORD}`).toString('base64')];

const live = suite('/ and /api/v1/status of a running agent');
const quietLog = createLogger({ level: 'error', format: 'logfmt', write: () => {} });
const goodBridge = new FakeBridge();
const receiver = new ScriptedReceiver();
const gateway = new ScriptedReceiver();
let closedPort = 0;
let dir = '';
let agent: RunningAgent | undefined;
let base = '';

/** Puts credentials into a URL (the configuration may refuse them on flags; the page must hide them whatever it was given). */
function withCredentials(url: string): string {
  const u = new URL(url);
  u.username = 'url-user';
  u.password = URL_PASSWORD;
  u.searchParams.set('api_key', QUERY_TOKEN);
  return u.toString();
}

const setUpDone = setUpBefore(live, async () => {
  goodBridge.respond = () => ({ body: fixtureText(ACTIVE_2021) });
  await goodBridge.start();
  // A port nobody listens on: the second bridge is down (connection refused).
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  // A receiver that refuses with 401 and echoes the Authorization header it got, as some do.
  receiver.answer = (req) => ({ status: 401, body: `invalid credentials: ${req.headers.authorization ?? ''}` });
  await receiver.start();
  gateway.answer = (req) => ({ status: 200, body: `${req.headers.authorization ?? ''}` });
  await gateway.start();
  dir = mkdtempSync(join(tmpdir(), 'jvb-status-'));
  writeFileSync(join(dir, 'password'), PASSWORD);
  writeFileSync(join(dir, 'token'), BEARER);
  const request = loadConfig({
    argv: [
      `--jvb.url=${goodBridge.colibriUrl}`,
      `--jvb.url=http://127.0.0.1:${closedPort}/metrics`,
      '--poll.interval=500ms',
      '--jvb.timeout=500ms',
      '--web.listen-address=127.0.0.1:0',
      '--storage.in-memory',
      '--storage.max-bytes=64MiB',
      '--storage.max-age=90m',
      `--remote-write.url=${receiver.url}/api/v1/write`,
      '--remote-write.username=rw-user',
      `--remote-write.password-file=${join(dir, 'password')}`,
      '--remote-write.min-backoff=10ms',
      `--pushgateway.url=${gateway.url}`,
      `--pushgateway.bearer-token-file=${join(dir, 'token')}`,
    ],
    env: {},
  });
  if (request.kind !== 'run') throw new Error('expected run');
  const c = request.config;
  const config: AgentConfig = {
    ...c,
    bridges: c.bridges.map((b) => ({ ...b, url: withCredentials(b.url), endpoints: b.endpoints.map((e) => ({ ...e, url: withCredentials(e.url) })) })),
    destinations: {
      remoteWrite: c.destinations.remoteWrite.map((d) => ({ ...d, http: { ...d.http, url: withCredentials(d.http.url) } })),
      pushgateway: c.destinations.pushgateway.map((d) => ({ ...d, http: { ...d.http, url: withCredentials(d.http.url) } })),
    },
  };
  agent = await startAgent(config, quietLog);
  base = `http://127.0.0.1:${agent.server.address.port}`;
});

live.after(async () => {
  await agent?.stop();
  await goodBridge.stop();
  await receiver.stop();
  await gateway.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Json {
  status: string;
  data: StatusSnapshot;
}

async function statusJson(): Promise<Json> {
  setUpDone.check();
  const res = await fetch(`${base}/api/v1/status`);
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', 'application/json');
  return (await res.json()) as Json;
}

live('/api/v1/status: its shape, the bridge down, the destination refusing with 401', async () => {
  await until('both bridges polled, the receiver and the gateway asked', async () => {
    const { data } = await statusJson();
    const [good, down] = data.bridges;
    const rw = data.destinations.find((d) => d.kind === 'remote_write');
    const pg = data.destinations.find((d) => d.kind === 'pushgateway');
    return good?.up === true && down?.up === false && rw?.lastError?.status === 401 && pg?.lastSuccess !== null;
  }, 30_000);
  const json = await statusJson();
  assert.is(json.status, 'success');
  const { data } = json;
  assert.equal(Object.keys(data).sort(), ['agent', 'bridges', 'destinations', 'generatedAt']);
  assert.equal(Object.keys(data.agent).sort(), ['configFile', 'lastReload', 'revision', 'startedAt', 'telemetryPath', 'uptimeSeconds', 'version']);
  assert.is(data.agent.configFile, null);
  assert.is(data.agent.lastReload, null);
  assert.is(data.agent.telemetryPath, '/metrics');
  assert.ok(!Number.isNaN(Date.parse(data.agent.startedAt)));

  assert.is(data.bridges.length, 2);
  const bridgeKeys = ['endpointKind', 'job', 'lastError', 'lastPoll', 'lastPollDurationSeconds', 'lastSuccess', 'name', 'series', 'source', 'up', 'url'];
  for (const b of data.bridges) assert.equal(Object.keys(b).sort(), bridgeKeys);
  const [good, down] = data.bridges as [StatusSnapshot['bridges'][0], StatusSnapshot['bridges'][0]];
  assert.is(good.up, true);
  assert.is(good.source, 'colibri', 'a full /colibri/stats URL: that endpoint only');
  assert.is(good.endpointKind, 'colibri');
  assert.is(down.endpointKind, 'native');
  assert.ok(good.series > 100, `series of the good bridge: ${good.series}`);
  assert.is(good.lastError, null);
  assert.is(good.url, `${goodBridge.colibriUrl}?api_key=<redacted>`);
  assert.is(down.up, false);
  assert.is(down.series, 0);
  assert.is(down.lastSuccess, null);
  assert.is(down.lastError?.reason, 'connection_error');
  assert.is(down.url, `http://127.0.0.1:${closedPort}/metrics?api_key=<redacted>`);

  assert.is(data.destinations.length, 2);
  const destinationKeys = ['held', 'kind', 'lastError', 'lastSuccess', 'name', 'protobufMessage', 'protobufMessageConfigured', 'queue', 'samplesDropped', 'samplesSent', 'url'];
  for (const d of data.destinations) assert.equal(Object.keys(d).sort(), destinationKeys);
  const rw = data.destinations.find((d) => d.kind === 'remote_write')!;
  const pg = data.destinations.find((d) => d.kind === 'pushgateway')!;
  assert.is(rw.url, `${receiver.url}/api/v1/write?api_key=<redacted>`);
  assert.is(rw.protobufMessage, 'prometheus.WriteRequest');
  assert.is(rw.lastSuccess, null);
  assert.is(rw.lastError?.status, 401);
  assert.match(rw.lastError?.message ?? '', /^HTTP 401: invalid credentials: Basic /);
  assert.equal(Object.keys(rw.queue ?? {}).sort(), ['bytes', 'durable', 'maxAgeSeconds', 'maxBytes', 'oldestAgeSeconds', 'requests', 'samples']);
  assert.is(rw.queue?.maxBytes, 64 * 1024 * 1024);
  assert.is(rw.queue?.maxAgeSeconds, 90 * 60);
  assert.is(rw.queue?.durable, false);
  for (const reason of ['refused', 'queue_full', 'too_old', 'too_big', 'storage_error', 'corrupt']) assert.type(rw.samplesDropped[reason], 'number', reason);
  assert.is(pg.url, `${gateway.url}/?api_key=<redacted>`);
  assert.is(pg.queue, null);
  assert.is(pg.lastError, null);
  assert.ok(pg.lastSuccess !== null);
});

live('no secret in the page nor in the JSON (passwords, tokens, URL credentials, an echoed Authorization header)', async () => {
  setUpDone.check();
  await until('the receiver was asked', () => receiver.received.length > 0);
  assert.match(String(receiver.received[0]?.headers.authorization), `Basic ${SECRETS[4]}`, 'the receiver got the password (and echoes it back)');
  assert.match(String(gateway.received[0]?.headers.authorization), `Bearer ${BEARER}`);
  const pageText = await (await fetch(`${base}/`)).text();
  const jsonText = await (await fetch(`${base}/api/v1/status`)).text();
  assert.match(pageText, 'HTTP 401');
  for (const secret of [...SECRETS, 'url-user']) {
    assert.not.match(pageText, secret, `the page shows ${secret}`);
    assert.not.match(jsonText, secret, `the JSON shows ${secret}`);
  }
});

live('the page: HTML, no script, auto-refresh only when asked; HEAD and the old paths still answer', async () => {
  setUpDone.check();
  const res = await fetch(`${base}/`);
  assert.is(res.status, 200);
  assert.is(res.headers.get('content-type'), 'text/html; charset=utf-8');
  const html = await res.text();
  assert.not.match(html, '<script');
  assert.not.match(html, 'http-equiv="refresh"');
  assert.match(await (await fetch(`${base}/?refresh=10`)).text(), '<meta http-equiv="refresh" content="10">');
  assert.is((await fetch(`${base}/api/v1/status`, { method: 'HEAD' })).status, 200);
  assert.is((await fetch(`${base}/-/healthy`)).status, 200);
  assert.is((await fetch(`${base}/metrics`)).status, 200);
  assert.is((await fetch(`${base}/api/v1/nope`)).status, 404);
});

live.run();
