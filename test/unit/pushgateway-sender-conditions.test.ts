import { Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHttpTransport } from '../../src/http/http-transport';
import { createLogger } from '../../src/log/logger';
import { createPushgatewayMetrics } from '../../src/sinks/pushgateway/pushgateway-metrics';
import { PushgatewaySender } from '../../src/sinks/pushgateway/pushgateway-sender';
import { parseExposition } from '../helpers/parse-exposition';
import { ScriptedReceiver, until } from '../helpers/scripted-receiver';
import { setUpBefore } from '../helpers/set-up-before';

/**
 * What the Pushgateway sender says: the same rule as remote-write for
 * repeated conditions (a 401, an outage), with an injected clock; the first
 * accepted push; an HTML answer.
 */

const gateway = new ScriptedReceiver();
const test = suite('Pushgateway sender: repeated conditions, first push, HTML answers');
const setUp = setUpBefore(test, () => gateway.start());
test.before.each(() => {
  setUp.check();
  gateway.received.length = 0;
  gateway.answer = () => ({ status: 200 });
});
test.after(() => gateway.stop());

function makeSender(baseUrl = gateway.url) {
  const registry = new Registry();
  const lines: string[] = [];
  let now = 5_000_000;
  const displayUrl = `${baseUrl}/metrics/job/jvb/instance/h`;
  const sender = new PushgatewaySender({
    displayUrl,
    transport: createHttpTransport({ url: displayUrl, timeoutMs: 2000, headers: {}, tls: { insecureSkipVerify: false } }, 'test'),
    metrics: createPushgatewayMetrics(registry),
    log: createLogger({ level: 'debug', format: 'logfmt', write: (line) => lines.push(line.replace(/^ts=\S+ /, '')) }),
    retryBackoffMs: 10,
    deleteOnShutdown: false,
    now: () => now,
  });
  const pushesCounted = async () =>
    parseExposition(await registry.metrics())
      .samples.filter((s) => s.name === 'jvb_pushgateway_pushes_total')
      .reduce((sum, s) => sum + s.value, 0);
  /** Pushes once and waits until that push is counted, whatever its result. */
  const pushAndSettle = async (): Promise<void> => {
    const before = await pushesCounted();
    sender.push(async () => 'x 1\n');
    await until('the push is counted', async () => (await pushesCounted()) > before, 5000);
  };
  return { sender, lines, pushAndSettle, advance: (ms: number) => (now += ms) };
}

const at = (lines: readonly string[], level: string, pattern: RegExp) => lines.filter((l) => l.startsWith(`level=${level} `) && pattern.test(l));

test('a 401 at every push: one error when it starts, one a minute with the count, one info line when it ends', async () => {
  let status = 401;
  gateway.answer = () => ({ status, body: status === 401 ? 'Unauthorized' : '' });
  const s = makeSender();
  try {
    for (let i = 0; i < 5; i++) await s.pushAndSettle();
    assert.is(at(s.lines, 'error', /HTTP 401/).length, 1, s.lines.join('\n'));
    s.advance(60_000);
    for (let i = 0; i < 3; i++) await s.pushAndSettle();
    const errors = at(s.lines, 'error', /HTTP 401/);
    assert.is(errors.length, 2);
    assert.match(errors[1]!, /status=401 ongoing_for=1m refused_pushes=6$/);
    status = 200;
    s.advance(30_000);
    await s.pushAndSettle();
    await s.pushAndSettle();
    const ended = at(s.lines, 'info', /accepts pushes again/);
    assert.is(ended.length, 1);
    assert.match(ended[0]!, /after=refusals lasted=1m30s refused_pushes=8/);
  } finally {
    await s.sender.stop(2000);
  }
});

test('a gateway down: one warning when it starts, one a minute with the failed attempts, one line with how long it lasted', async () => {
  let down = true;
  gateway.answer = () => (down ? { status: 503, body: 'down for maintenance' } : { status: 200 });
  const s = makeSender();
  try {
    for (let i = 0; i < 4; i++) await s.pushAndSettle();
    assert.is(at(s.lines, 'warn', /push failed/).length, 1, s.lines.join('\n'));
    assert.match(at(s.lines, 'warn', /push failed/)[0]!, /msg="push failed, retrying once" reason=http_503 err="HTTP 503: down for maintenance" failed_attempts=1/);
    assert.ok(at(s.lines, 'debug', /push failed again/).length >= 1, 'the others at debug');
    s.advance(61_000);
    await s.pushAndSettle();
    const warnings = at(s.lines, 'warn', /push failed/);
    assert.is(warnings.length, 2);
    assert.match(warnings[1]!, /ongoing_for=1m1s failed_attempts=9$/);
    down = false;
    s.advance(1_000);
    await s.pushAndSettle();
    const back = at(s.lines, 'info', /accepts pushes again/);
    assert.is(back.length, 1);
    assert.match(back[0]!, /after=failures lasted=1m2s failed_attempts=10/);
  } finally {
    await s.sender.stop(2000);
  }
});

test('the first accepted push is logged at info, once; an HTML answer is warned about once, naming --pushgateway.url', async () => {
  gateway.answer = () => ({ status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: '<!doctype html><html><head><title>Grafana</title>' });
  const s = makeSender();
  try {
    for (let i = 0; i < 3; i++) await s.pushAndSettle();
    assert.is(at(s.lines, 'info', /first push accepted/).length, 1);
    const html = at(s.lines, 'warn', /HTML page/);
    assert.is(html.length, 1, s.lines.join('\n'));
    assert.match(html[0]!, /check --pushgateway\.url/);
    assert.match(html[0]!, /content_type="text\/html; charset=utf-8"/);
  } finally {
    await s.sender.stop(2000);
  }
});

test('a plain 200 (what a real gateway answers) is no HTML page', async () => {
  const s = makeSender();
  try {
    await s.pushAndSettle();
    assert.is(at(s.lines, 'warn', /HTML/).length, 0);
  } finally {
    await s.sender.stop(2000);
  }
});

test.run();
