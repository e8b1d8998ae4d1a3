import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { BridgeRegistry } from '../../src/registry/bridge-registry';
import { mapColibriStats } from '../../src/sources/colibri/map-colibri-stats';
import { createHttpTransport } from '../../src/http/http-transport';
import { groupingKeyPath, groupUrl } from '../../src/sinks/pushgateway/grouping-key-path';
import { createPushgatewayMetrics } from '../../src/sinks/pushgateway/pushgateway-metrics';
import { PushgatewaySender } from '../../src/sinks/pushgateway/pushgateway-sender';
import { PushgatewaySink } from '../../src/sinks/pushgateway/pushgateway-sink';
import type { PushUnit, Sink } from '../../src/sinks/sink';
import { registryPart } from '../../src/scheduler/push-unit';
import { unusedPort } from '../helpers/ports';
import { ACTIVE_2021, fixtureJson } from '../helpers/fixtures';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';
import { closeServer } from '../helpers/close-server';

/** URL-safe base64 without padding, from the standard alphabet by hand (RFC 4648 §5), not Buffer's base64url. */
function urlSafeBase64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// ---------------------------------------------------------------------------
const path = suite('Pushgateway group path');

path('a plain value is a plain segment, instance first, then the grouping labels in order', () => {
  assert.is(groupingKeyPath('jvb', [['instance', 'jvb-01.example.com']]), '/metrics/job/jvb/instance/jvb-01.example.com');
  assert.is(
    groupingKeyPath('jvb', [['instance', 'h1'], ['dc', 'eu1'], ['rack', 'r7']]),
    '/metrics/job/jvb/instance/h1/dc/eu1/rack/r7',
  );
});

path('an empty value uses @base64 with "="', () => {
  assert.is(groupingKeyPath('jvb', [['instance', '']]), '/metrics/job/jvb/instance@base64/=');
  assert.is(groupingKeyPath('jvb', [['instance', 'h1'], ['dc', '']]), '/metrics/job/jvb/instance/h1/dc@base64/=');
});

path('a value with "/" uses @base64 in the URL-safe alphabet', () => {
  // "a/b" = 61 2f 62 -> 011000 010010 111101 100010 -> Y S 9 i
  assert.is(groupingKeyPath('jvb', [['instance', 'a/b']]), '/metrics/job/jvb/instance@base64/YS9i');
  // "/?>" = 2f 3f 3e -> 001011 110011 111100 111110 -> L z 8 and 62, which is "+" in standard base64, "-" URL-safe
  assert.is(groupingKeyPath('jvb', [['instance', '/?>']]), '/metrics/job/jvb/instance@base64/Lz8-');
  const value = 'eu-west-1/bridge/7??';
  const encoded = urlSafeBase64(value);
  assert.ok(/^[A-Za-z0-9_-]+$/.test(encoded));
  assert.is(groupingKeyPath('jvb', [['instance', 'h'], ['path', value]]), `/metrics/job/jvb/instance/h/path@base64/${encoded}`);
  // The job too.
  assert.is(groupingKeyPath('a/b', [['instance', 'h']]), '/metrics/job@base64/YS9i/instance/h');
});

path('a non-ASCII value is percent-encoded UTF-8; with a "/" it is base64 of the UTF-8 bytes', () => {
  // ü = U+00FC = C3 BC in UTF-8
  assert.is(groupingKeyPath('jvb', [['instance', 'zürich']]), '/metrics/job/jvb/instance/z%C3%BCrich');
  // 東 = E6 9D B1, 京 = E4 BA AC
  assert.is(groupingKeyPath('jvb', [['instance', '東京']]), '/metrics/job/jvb/instance/%E6%9D%B1%E4%BA%AC');
  assert.is(groupingKeyPath('jvb', [['instance', 'köln/2']]), `/metrics/job/jvb/instance@base64/${urlSafeBase64('köln/2')}`);
  // "ö" is C3 B6; "köln/2" = 6b c3 b6 6c 6e 2f 32 -> a8O2bG4vMg
  assert.is(urlSafeBase64('köln/2'), 'a8O2bG4vMg');
});

path('characters that mean something in a URL are percent-encoded', () => {
  assert.is(groupingKeyPath('jvb', [['instance', 'x y%?#']]), '/metrics/job/jvb/instance/x%20y%25%3F%23');
});

path('"." and ".." (dot segments a URL parser would resolve away) use @base64', () => {
  // "." = 2e -> 001011 10(0000) -> L g; ".." = 2e 2e -> L i 4
  assert.is(groupingKeyPath('jvb', [['instance', '.']]), '/metrics/job/jvb/instance@base64/Lg');
  assert.is(groupingKeyPath('jvb', [['instance', '..']]), '/metrics/job/jvb/instance@base64/Li4');
  assert.is(groupUrl('http://gw:9091', 'jvb', [['instance', '..']]), 'http://gw:9091/metrics/job/jvb/instance@base64/Li4');
});

path('groupUrl keeps the base URL path prefix, without doubling slashes', () => {
  assert.is(groupUrl('http://gw:9091/', 'jvb', [['instance', 'h']]), 'http://gw:9091/metrics/job/jvb/instance/h');
  assert.is(groupUrl('https://gw.example/push/', 'jvb', [['instance', 'h']]), 'https://gw.example/push/metrics/job/jvb/instance/h');
});

path('bad or repeated label names are refused', () => {
  assert.throws(() => groupingKeyPath('jvb', [['instance', 'a'], ['1dc', 'x']]), /invalid grouping label name/);
  assert.throws(() => groupingKeyPath('jvb', [['__name__', 'x']]), /invalid grouping label name/);
  assert.throws(() => groupingKeyPath('jvb', [['instance', 'a'], ['instance', 'b']]), /given twice/);
  assert.throws(() => groupingKeyPath('jvb', [['job', 'x']]), /given twice/);
});

path.run();

// ---------------------------------------------------------------------------

interface Captured {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/** A loopback HTTP server that records requests and answers what `reply` says. */
class CaptureServer {
  readonly requests: Captured[] = [];
  reply: (req: Captured, index: number) => { status: number; body?: string; headers?: Record<string, string> } = () => ({ status: 200 });
  private server: http.Server | undefined;
  port = 0;

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const captured = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
        this.requests.push(captured);
        const answer = this.reply(captured, this.requests.length - 1);
        res.writeHead(answer.status, { 'Content-Type': 'text/plain', ...(answer.headers ?? {}) }).end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async waitForRequests(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.requests.length < n) throw new Error(`expected ${n} requests, got ${this.requests.length}`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await closeServer(server);
  }
}

function testLogger(lines: string[]) {
  return createLogger({ level: 'debug', format: 'logfmt', write: (line) => lines.push(line) });
}

const HTTP = (url: string) => ({ url, timeoutMs: 2000, headers: {}, tls: { insecureSkipVerify: false } });

// ---------------------------------------------------------------------------
const body = suite('Pushgateway push body and requests');
const capture = new CaptureServer();

body.before(async () => {
  await capture.start();
});
body.after(async () => {
  await capture.stop();
});
body.before.each(() => {
  capture.requests.length = 0;
  capture.reply = () => ({ status: 200 });
});

body('the sink PUTs the registry as text 0.0.4: right Content-Type, LF only, no timestamps, the fixture values; DELETE on stop', async () => {
  const stats = fixtureJson(ACTIVE_2021);
  const lines: string[] = [];
  const log = testLogger(lines);
  const bridge = new BridgeRegistry('bridge/1', 'jvb', {}, log);
  const registry = bridge.registry;
  const mapped = mapColibriStats(stats);
  bridge.collect({ ok: true, families: mapped.families, skipped: mapped.skipped, endpoint: 'test', durationMs: 3 });
  const sink: Sink = new PushgatewaySink(
    { http: HTTP(`${capture.url}/gw/`), grouping: [['dc', 'zürich']], deleteOnShutdown: true },
    createPushgatewayMetrics(registry),
    log,
  );
  await sink.afterPoll(unitOf(registry, 'bridge/1'));
  await capture.waitForRequests(1);
  await sink.stop(1000);

  const [put, del] = capture.requests;
  assert.is(put!.method, 'PUT');
  assert.is(put!.url, `/gw/metrics/job/jvb/instance@base64/${urlSafeBase64('bridge/1')}/dc/z%C3%BCrich`);
  assert.match(String(put!.headers['content-type']), /^text\/plain; ?version=0\.0\.4(;|$)/);
  const text = put!.body.toString('utf8');
  assert.ok(text.length > 0);
  assert.not.ok(text.includes('\r'), 'no CR anywhere');
  assert.ok(text.endsWith('\n'), 'the last line ends with LF');
  // Every sample line is `name{labels} value`: nothing after the value, so no timestamp.
  const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? \S+$/;
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.startsWith('#') || line === '') continue;
    assert.ok(sample.test(line), `a sample with something after its value (a timestamp?): ${JSON.stringify(line)}`);
  }
  const parsed = parseExposition(text);
  assert.is(sampleValue(parsed, 'jitsi_participants'), Number(stats['participants']));
  assert.is(sampleValue(parsed, 'jitsi_conferences'), Number(stats['conferences']));
  assert.is(sampleValue(parsed, 'jvb_up'), 1);
  assert.is(parsed.type.get('jitsi_participants'), 'gauge');

  assert.ok(del, 'a DELETE follows on stop with delete-on-shutdown');
  assert.is(del!.method, 'DELETE');
  assert.is(del!.url, put!.url);
  assert.is(del!.body.length, 0);
  assert.ok(lines.some((l) => l.includes('deleted the group')));
});

body('without delete-on-shutdown, stop sends nothing', async () => {
  const registry = new Registry();
  const log = testLogger([]);
  const sink: Sink = new PushgatewaySink(
    { http: HTTP(capture.url), instance: 'h', grouping: [], deleteOnShutdown: false },
    createPushgatewayMetrics(registry),
    log,
  );
  await sink.afterPoll(unitOf(registry, 'bridge'));
  await capture.waitForRequests(1);
  await sink.stop(1000);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(capture.requests.map((r) => r.method), ['PUT']);
});

/** One poll of a bridge named `name` (job jvb) as the agent hands it to the sinks. */
function unitOf(registry: Registry, name: string): PushUnit {
  return { key: name, job: 'jvb', instance: name, timestampMs: Date.now(), ...registryPart(registry) };
}

/** A sender to the capture server with its own registry, metrics and log. */
function makeSender(opts: { backoffMs?: number; render?: () => Promise<string>; url?: string } = {}) {
  const registry = new Registry();
  const metrics = createPushgatewayMetrics(registry);
  const lines: string[] = [];
  const displayUrl = `${opts.url ?? capture.url}/metrics/job/jvb/instance/h`;
  const sender = new PushgatewaySender({
    displayUrl,
    transport: createHttpTransport(HTTP(displayUrl), 'test'),
    metrics,
    log: testLogger(lines),
    retryBackoffMs: opts.backoffMs ?? 50,
    deleteOnShutdown: false,
  });
  const render = opts.render ?? (async () => 'x 1\n');
  const exposition = async () => parseExposition(await registry.metrics());
  const pushes = async (result: string) => {
    const found = (await exposition()).samples.find((s) => s.name === 'jvb_pushgateway_pushes_total' && s.labels['result'] === result);
    return found?.value ?? 0;
  };
  /** Pushes once and waits until that push is counted (whatever its result). */
  const pushAndSettle = async (): Promise<void> => {
    const total = async () =>
      (await exposition()).samples.filter((s) => s.name === 'jvb_pushgateway_pushes_total').reduce((sum, s) => sum + s.value, 0);
    const before = await total();
    sender.push(render);
    const deadline = Date.now() + 5000;
    while ((await total()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if ((await total()) === before) throw new Error('the push was not counted within 5 s');
  };
  return { sender, lines, pushes, pushAndSettle, exposition };
}

body('a 400 is logged once per distinct explanation, even when the quoted value changes and two explanations alternate', async () => {
  // What prometheus-pushgateway 1.5.1 answers for a type clash: it quotes either side at random (Go map order), with the value.
  let value = 0;
  capture.reply = (_req, i) => {
    value++;
    return {
      status: 400,
      body:
        i % 3 === 2
          ? 'pushed metrics are invalid or inconsistent with existing metrics: collected metric "jvb_polls_total" { label:<name:"instance" value:"" > label:<name:"job" value:"conflict" > gauge:<value:1 > } is not a COUNTER\n'
          : `pushed metrics are invalid or inconsistent with existing metrics: collected metric "jvb_polls_total" { label:<name:"instance" value:"h" > label:<name:"job" value:"jvb" > counter:<value:${value} > } is not a GAUGE\n`,
    };
  };
  const { sender, lines, pushes, pushAndSettle } = makeSender();
  for (let i = 0; i < 9; i++) await pushAndSettle();
  assert.is(capture.requests.length, 9, 'a 400 is not retried');
  const refusals = lines.filter((l) => l.includes('HTTP 400'));
  assert.is(refusals.length, 2, `logged once per explanation, got:\n${refusals.join('\n')}`);
  assert.ok(refusals[0]!.includes('is not a GAUGE') && refusals[0]!.includes('jvb_polls_total'), 'the gateway explanation is in the log');
  assert.ok(refusals[1]!.includes('is not a COUNTER'));
  assert.ok(refusals.every((l) => l.includes('level=error')));
  assert.is(await pushes('failed'), 9);

  // Another explanation is logged; then success says so once; after it, a refusal is news again.
  capture.reply = () => ({ status: 400, body: 'text format parsing error in line 1: invalid metric name\n' });
  await pushAndSettle();
  await pushAndSettle();
  assert.is(lines.filter((l) => l.includes('HTTP 400')).length, 3);
  capture.reply = () => ({ status: 200 });
  await pushAndSettle();
  await pushAndSettle();
  assert.is(lines.filter((l) => l.includes('accepts pushes again')).length, 1);
  assert.is(await pushes('success'), 2);
  capture.reply = () => ({ status: 400, body: 'text format parsing error in line 1: invalid metric name\n' });
  await pushAndSettle();
  assert.is(lines.filter((l) => l.includes('HTTP 400')).length, 4);
  await sender.stop(5000);
});

body('a 5xx is retried once after the backoff; Retry-After: 0 still waits the backoff', async () => {
  capture.reply = (_req, i) => (i === 0 ? { status: 503, body: 'busy', headers: { 'Retry-After': '0' } } : { status: 200 });
  const { sender, pushes, pushAndSettle } = makeSender({ backoffMs: 300 });
  await pushAndSettle();
  assert.is(capture.requests.length, 2);
  const gap = capture.requests[1]!.at - capture.requests[0]!.at;
  assert.ok(gap >= 250, `the retry came ${gap} ms after the first try`);
  assert.is(await pushes('retried_success'), 1);
  await sender.stop(5000);
});

body('a gateway that does not answer: two tries, then counted failed; the sender keeps working', async () => {
  const port = await unusedPort();
  const { sender, pushes, lines, pushAndSettle } = makeSender({ url: `http://127.0.0.1:${port}` });
  await pushAndSettle();
  assert.is(await pushes('failed'), 1);
  assert.ok(lines.some((l) => l.includes('retrying once')));
  assert.ok(lines.some((l) => l.includes('push failed again')));
  await sender.stop(5000);
});

body('a render that throws is counted failed and does not reject (no unhandled rejection)', async () => {
  const { sender, pushes, lines, pushAndSettle } = makeSender({ render: async () => Promise.reject(new Error('collect blew up')) });
  let unhandled: unknown;
  const onUnhandled = (reason: unknown) => (unhandled = reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await pushAndSettle().catch((err) => (unhandled = err));
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.is(unhandled, undefined);
  assert.is(await pushes('failed'), 1);
  assert.ok(lines.some((l) => l.includes('collect blew up')));
  assert.is(capture.requests.length, 0);
  await sender.stop(5000);
});

body('every push result is exposed at 0 before the first push, so rate() and alerts see the first failure', async () => {
  const { sender, exposition } = makeSender();
  const results = (await exposition()).samples.filter((s) => s.name === 'jvb_pushgateway_pushes_total').map((s) => `${s.labels['result']}=${s.value}`);
  assert.equal(results.sort(), ['failed=0', 'retried_success=0', 'success=0']);
  await sender.stop(100);
});

body.run();
