import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHttpTransport } from '../../src/http/http-transport';
import { createLogger } from '../../src/log/logger';
import { MemoryRequestQueue } from '../../src/sinks/queue/memory-request-queue';
import type { QueueEntry } from '../../src/sinks/queue/request-queue';
import { AuthHold, type AuthHoldOptions } from '../../src/sinks/remote-write/auth-hold';
import { createRemoteWriteMetrics } from '../../src/sinks/remote-write/remote-write-metrics';
import { RemoteWriteSender } from '../../src/sinks/remote-write/remote-write-sender';
import { parseExposition, sampleValue } from '../helpers/parse-exposition';
import { ScriptedReceiver, until } from '../helpers/scripted-receiver';

/**
 * on-auth-error: hold. A receiver that refuses every request whose bearer
 * token is not "new" (401, or 403 where said); the token is a file. Nothing
 * is dropped while held, the refused request is sent again only on a file
 * change, a reload (retryHeld) or the slow backoff, and everything held
 * arrives, in order, once the token is right.
 */

function entry(name: string, samples = 10): QueueEntry {
  return { body: Buffer.from(name), samples, maxTimestampMs: 1_700_000_000_000 };
}

async function setUp(status: 401 | 403, timings: Pick<AuthHoldOptions, 'minRetryMs' | 'maxRetryMs' | 'filePollMs'>, hold = true) {
  const dir = mkdtempSync(join(tmpdir(), 'auth-hold-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'old\n');
  const receiver = await new ScriptedReceiver().start();
  receiver.answer = (req) => (req.headers['authorization'] === 'Bearer new' ? { status: 204 } : { status, body: 'invalid token' });
  const url = `${receiver.url}/api/v1/write`;
  const registry = new Registry();
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'logfmt', write: (line) => lines.push(line) });
  const metrics = createRemoteWriteMetrics(registry);
  const labels = { remote_name: 'grafana', url };
  const queue = new MemoryRequestQueue(1 << 20);
  const authHold = hold
    ? new AuthHold({ ...timings, credentialFiles: [tokenFile], credentialSettings: ['--remote-write.bearer-token-file'], log, gauge: { set: (v) => metrics.authHeld.set(labels, v) } })
    : undefined;
  const sender = new RemoteWriteSender({
    urlSetting: '--remote-write.url',
    name: 'grafana',
    displayUrl: url,
    transport: createHttpTransport({ url, timeoutMs: 2000, headers: {}, tls: { insecureSkipVerify: false }, bearerTokenFile: tokenFile }, 'jvb-prometheus-adapter/test'),
    queue,
    metrics,
    retry: { minBackoffMs: 20, maxBackoffMs: 50, retryOn429: true },
    log,
    ...(authHold !== undefined ? { authHold } : {}),
  });
  sender.start();
  const metric = async (name: string, extra: Record<string, string> = {}) => sampleValue(parseExposition(await registry.metrics()), name, { remote_name: 'grafana', ...extra });
  const bodies = () => receiver.received.map((r) => `${r.body.toString()}:${r.headers['authorization'] === 'Bearer new' ? 'ok' : 'refused'}`);
  const done = async () => {
    await sender.stop(1000);
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { sender, receiver, queue, lines, metric, bodies, tokenFile, done };
}

const test = suite('remote-write on-auth-error: hold');

test('401 holds the queue; a reload tries the head once; the token file fixed: every sample arrives, in order, none dropped', async () => {
  const s = await setUp(401, { minRetryMs: 600_000, maxRetryMs: 600_000, filePollMs: 50 });
  try {
    await s.sender.enqueue([entry('A'), entry('B'), entry('C')]);
    await until('held', async () => (await s.metric('jvb_remote_write_held')) === 1);
    await s.sender.enqueue([entry('D', 5)]);
    // Held: nothing dropped, everything queued; only the head went out, once.
    assert.is(await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' }), 0);
    assert.is(s.queue.pendingSamples, 35);
    assert.equal(s.bodies(), ['A:refused']);
    const said = s.lines.filter((l) => l.includes('refused the credentials'));
    assert.is(said.length, 1, s.lines.join('\n'));
    assert.match(said[0]!, /level=error/);
    assert.match(said[0]!, /HTTP 401 Unauthorized/);
    assert.match(said[0]!, /credentials=--remote-write.bearer-token-file/);
    assert.match(said[0]!, /status=401/);
    assert.not.match(said[0]!, /old/); // never the secret

    // A reload with the token still wrong: the head once more, then held again (logged once per hold, not per attempt).
    s.sender.retryHeld();
    await until('the head sent again on reload', () => s.receiver.received.length === 2);
    await until('held again', () => s.lines.some((l) => l.includes('still refuses the credentials')));
    assert.equal(s.bodies(), ['A:refused', 'A:refused']);
    assert.is(s.lines.filter((l) => l.includes('refused the credentials')).length, 1);

    // The token file is fixed: the head goes again within a file poll, then everything held.
    writeFileSync(s.tokenFile, 'new\n');
    await until('all delivered', async () => (await s.metric('jvb_remote_write_samples_total')) === 35);
    assert.equal(s.bodies(), ['A:refused', 'A:refused', 'A:ok', 'B:ok', 'C:ok', 'D:ok']);
    assert.is(await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' }), 0);
    assert.is(await s.metric('jvb_remote_write_held'), 0);
    assert.is(await s.metric('jvb_remote_write_requests_total', { code: '401' }), 2);
    assert.ok(s.lines.some((l) => l.includes('a credentials file changed')), s.lines.join('\n'));
    assert.ok(s.lines.some((l) => /accepts the credentials again.*refused_attempts=2/.test(l)), s.lines.join('\n'));
  } finally {
    await s.done();
  }
});

test('403 held too; without a change the head is tried again on a slow doubling backoff, never sooner', async () => {
  const s = await setUp(403, { minRetryMs: 200, maxRetryMs: 400, filePollMs: 10_000 });
  try {
    const times: number[] = [];
    const answer = s.receiver.answer;
    s.receiver.answer = (req, i) => {
      times.push(Date.now());
      return answer(req, i);
    };
    await s.sender.enqueue([entry('A'), entry('B')]);
    await until('four attempts', () => times.length >= 4);
    // Waits of at least 200, 400, 400 ms between attempts (by default 1 min doubling to 10 min); a little slack for timer rounding.
    const gaps = times.slice(1, 4).map((t, i) => t - times[i]!);
    for (const [i, least] of [200, 400, 400].entries()) assert.ok(gaps[i]! >= least - 5, `gap ${i}: ${gaps.join(',')}`);
    assert.is(await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' }), 0);
    assert.is(s.queue.pendingSamples, 20);
    assert.ok(s.bodies().every((b) => b === 'A:refused'), s.bodies().join(','));
  } finally {
    await s.done();
  }
});

test('stop while held: returns at once, the held requests stay queued', async () => {
  const s = await setUp(401, { minRetryMs: 600_000, maxRetryMs: 600_000, filePollMs: 10_000 });
  try {
    await s.sender.enqueue([entry('A'), entry('B')]);
    await until('held', async () => (await s.metric('jvb_remote_write_held')) === 1);
    const started = Date.now();
    await s.sender.stop(20_000);
    assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
    assert.is(s.queue.pendingEntries, 2);
  } finally {
    await s.done();
  }
});

test('on-auth-error: drop (no hold) keeps today\'s behaviour: the refused request is dropped and counted', async () => {
  const s = await setUp(401, {}, false);
  try {
    await s.sender.enqueue([entry('A'), entry('B')]);
    await until('both refused', async () => (await s.metric('jvb_remote_write_samples_dropped_total', { reason: 'refused' })) === 20);
    assert.equal(s.bodies(), ['A:refused', 'B:refused']);
  } finally {
    await s.done();
  }
});

test.run();
