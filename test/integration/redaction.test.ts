import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/config/config-error';
import { loadConfig } from '../../src/config/load-config';
import { redactUrl, redactUrlsInText } from '../../src/log/redact-url';
import { AgentProcess } from '../helpers/agent-process';
import { closeServer } from '../helpers/close-server';

const TOKEN = 'SECRET123';
const PASSWORD = 'pw-SECRET456';

const unit = suite('redactUrl and redactUrlsInText');

unit('redactUrl hides every query value and keeps the names, the host, the path and the fragment', () => {
  const shown = redactUrl(`https://mimir.example/api/v1/push?api_key=${TOKEN}&tenant=t1&empty=#frag`);
  assert.not.match(shown, TOKEN);
  assert.not.match(shown, 't1');
  const url = new URL(shown);
  assert.is(url.host, 'mimir.example');
  assert.is(url.pathname, '/api/v1/push');
  assert.equal([...url.searchParams.keys()], ['api_key', 'tenant', 'empty']);
  assert.is(url.searchParams.get('empty'), '', 'an empty value has nothing to hide');
  assert.ok(url.searchParams.get('api_key') !== '', 'a hidden value is shown as hidden, not as empty');
  assert.is(url.hash, '#frag');
});

unit('redactUrl hides userinfo and query together; a URL without either is unchanged', () => {
  const shown = redactUrl(`http://user:${PASSWORD}@127.0.0.1:9090/api/v1/write?token=${TOKEN}`);
  assert.not.match(shown, PASSWORD);
  assert.not.match(shown, TOKEN);
  assert.not.match(shown, 'user');
  assert.match(shown, /^http:\/\/127\.0\.0\.1:9090\/api\/v1\/write\?token=/);
  assert.is(redactUrl('http://127.0.0.1:9091/metrics/job/jvb'), 'http://127.0.0.1:9091/metrics/job/jvb');
});

unit('redactUrl: a bare query part (?TOKEN) is hidden as a whole', () => {
  const shown = redactUrl(`https://r.example/write?${TOKEN}`);
  assert.not.match(shown, TOKEN);
  assert.match(shown, /^https:\/\/r\.example\/write\?\S+$/);
});

unit('redactUrl on strings that are no URL: userinfo and query still hidden, nothing thrown', () => {
  for (const value of [`not a url //u:${PASSWORD}@host/path?k=${TOKEN}`, `host:port?api_key=${TOKEN}`, `//@?=${TOKEN}`, `%%%?a=${TOKEN}#x`]) {
    const shown = redactUrl(value);
    assert.not.match(shown, TOKEN, value);
    assert.not.match(shown, PASSWORD, value);
  }
  for (const plain of ['', '?', 'localhost:8080', 'just words', 'a?', '::::']) assert.is(redactUrl(plain), plain);
});

unit('redactUrlsInText: URLs and request paths in free text lose their secrets, the words around them stay', () => {
  const text = [
    `POST http://user:${PASSWORD}@r.example/api/v1/write?api_key=${TOKEN} failed:`,
    `{"error":"bad request to /api/v1/write?api_key=${TOKEN}&x=1"}`,
    `url="https://r.example/?token=${TOKEN}" next`,
  ].join('\n');
  const shown = redactUrlsInText(text);
  assert.not.match(shown, TOKEN);
  assert.not.match(shown, PASSWORD);
  assert.match(shown, /^POST http:\/\/r\.example\/api\/v1\/write\?api_key=\S+ failed:$/m);
  assert.match(shown, /^\{"error":"bad request to \/api\/v1\/write\?api_key=[^"&]+&x=[^"&]+"\}$/m);
  assert.match(shown, /^url="https:\/\/r\.example\/\?token=[^"]+" next$/m);
});

unit('redactUrlsInText leaves prose with question marks alone', () => {
  for (const prose of [
    'is the JVB REST API enabled, and is this /colibri/stats?): "<html>"',
    'what? no. a=b',
    'expected http://host/path? got nothing',
    '',
  ]) {
    assert.is(redactUrlsInText(prose), prose);
  }
});

unit('a bad URL setting is echoed without its token', () => {
  let message = '';
  try {
    loadConfig({ argv: [`--remote-write.url=ftp://r.example/write?api_key=${TOKEN}`], env: {} });
  } catch (error) {
    assert.instance(error, ConfigError);
    message = (error as Error).message;
  }
  assert.match(message, /--remote-write\.url: invalid value "ftp:\/\/r\.example\/write\?api_key=/);
  assert.not.match(message, TOKEN);
});

unit.run();

/** A loopback server that answers every request with `status` and a body echoing the request line (as many servers' errors do). */
async function echoingServer(status: number): Promise<{ server: http.Server; port: number; urls: string[] }> {
  const urls: string[] = [];
  const server = http.createServer((req, res) => {
    urls.push(req.url ?? '');
    req.resume();
    req.on('end', () => res.writeHead(status, { 'Content-Type': 'text/plain' }).end(`error handling ${req.method} ${req.url}\n`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, urls };
}

const agent = suite('a token in a URL never reaches the logs or /metrics (built agent)');

agent('remote-write receiver answering 500 and a failing bridge, both with a token in their URL', async () => {
  const receiver = await echoingServer(500);
  const bridge = await echoingServer(503);
  const jvbToken = 'JVBTOKEN789';
  let process_: AgentProcess | undefined;
  try {
    process_ = AgentProcess.spawn([
      `--jvb.url=http://127.0.0.1:${bridge.port}/colibri/stats?token=${jvbToken}`,
      '--poll.interval=200ms',
      '--web.listen-address=127.0.0.1:0',
      '--log.level=debug',
      '--storage.in-memory',
      '--storage.flush-deadline=200ms',
      `--remote-write.url=http://127.0.0.1:${receiver.port}/api/v1/write?api_key=${TOKEN}`,
      '--remote-write.min-backoff=50ms',
      '--remote-write.max-backoff=100ms',
    ]);
    const port = await process_.metricsPort();
    // The failures are logged: the receiver's 500 (with its echo of our request line) and the bridge's 503.
    await process_.waitForLine(/request failed/);
    await process_.waitForLine(/poll failed/);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

    // The secrets did go where they belong: in the requests themselves.
    assert.ok(receiver.urls.some((u) => u === `/api/v1/write?api_key=${TOKEN}`), `receiver saw ${JSON.stringify(receiver.urls.slice(0, 2))}`);
    assert.ok(bridge.urls.some((u) => u === `/colibri/stats?token=${jvbToken}`), `bridge saw ${JSON.stringify(bridge.urls.slice(0, 2))}`);

    // /metrics shows the destination's URL (so the check below looks at it), without the token.
    assert.match(metrics, new RegExp(`url="http://127\\.0\\.0\\.1:${receiver.port}/api/v1/write\\?api_key=[^"]+"`));
    assert.not.match(metrics, TOKEN);
    assert.not.match(metrics, jvbToken);
  } finally {
    await process_?.stop();
    await closeServer(receiver.server);
    await closeServer(bridge.server);
  }
  const lines = process_!.lines;
  // The logs name both URLs (so the check below looks at them), without either token.
  assert.ok(lines.some((line) => line.includes(`127.0.0.1:${receiver.port}/api/v1/write?api_key=`)), 'a log line names the receiver URL');
  assert.ok(lines.some((line) => line.includes(`/colibri/stats?token=`)), 'a log line names the bridge URL');
  const leaking = lines.filter((line) => line.includes(TOKEN) || line.includes(jvbToken));
  assert.equal(leaking, [], 'log lines with a token');
});

agent.run();
