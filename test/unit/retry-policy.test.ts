import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpOutcome } from '../../src/http/http-transport';
import {
  MAX_RETRY_AFTER_MS,
  classifyResponse,
  describeDrop,
  networkErrorReason,
  nextBackoffMs,
  parseRetryAfter,
  retryDelayMs,
} from '../../src/http/retry-policy';

function response(status: number, headers: Record<string, string> = {}, bodyPreview = ''): HttpOutcome {
  return { kind: 'response', status, headers, bodyPreview, durationMs: 1 };
}

function networkError(code: string): HttpOutcome {
  return { kind: 'network-error', code, message: `failed: ${code}`, durationMs: 1 };
}

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

const classify = suite('retry-policy: classifyResponse');

classify('every 2xx is a success', () => {
  for (const status of [200, 201, 202, 204, 206, 299]) {
    assert.equal(classifyResponse(response(status)), { kind: 'success' }, `status ${status}`);
  }
});

classify('every 5xx is retried, with a label-safe reason', () => {
  for (const status of [500, 501, 502, 503, 504, 507, 529, 599]) {
    const decision = classifyResponse(response(status));
    assert.is(decision.kind, 'retry', `status ${status}`);
    if (decision.kind === 'retry') {
      assert.is(decision.reason, `http_${status}`);
      assert.ok(/^[a-z0-9_]+$/.test(decision.reason));
      assert.is(decision.retryAfterMs, undefined);
    }
  }
});

classify('the named 4xx codes and every other 4xx are dropped, never retried', () => {
  for (const status of [400, 401, 403, 404, 405, 407, 408, 409, 410, 413, 415, 422, 451, 499]) {
    const decision = classifyResponse(response(status));
    assert.equal(decision, { kind: 'drop', reason: `http_${status}`, status }, `status ${status}`);
  }
});

classify('1xx and 3xx are dropped (redirects are not followed)', () => {
  for (const status of [100, 101, 199, 300, 301, 302, 303, 304, 307, 308]) {
    const decision = classifyResponse(response(status));
    assert.is(decision.kind, 'drop', `status ${status}`);
  }
});

classify('a status outside 100-599 is dropped with the bounded reason http_other', () => {
  for (const status of [0, 99, 600, 999]) {
    assert.equal(classifyResponse(response(status)), { kind: 'drop', reason: 'http_other', status });
  }
});

classify('429 is retried by default and when retryOn429 is true, dropped when it is false', () => {
  assert.equal(classifyResponse(response(429)), { kind: 'retry', reason: 'http_429' });
  assert.equal(classifyResponse(response(429), { retryOn429: true }), { kind: 'retry', reason: 'http_429' });
  assert.equal(classifyResponse(response(429), { retryOn429: false }), { kind: 'drop', reason: 'http_429', status: 429 });
});

classify('retryOn429=false does not stop 5xx from being retried', () => {
  assert.is(classifyResponse(response(503), { retryOn429: false }).kind, 'retry');
});

classify('Retry-After on 429 and 503 is returned in ms; an HTTP date is measured from nowMs', () => {
  assert.equal(classifyResponse(response(429, { 'retry-after': '7' })), { kind: 'retry', reason: 'http_429', retryAfterMs: 7000 });
  const date = new Date(NOW + 90_000).toUTCString();
  assert.equal(classifyResponse(response(503, { 'retry-after': date }), { nowMs: NOW }), {
    kind: 'retry',
    reason: 'http_503',
    retryAfterMs: 90_000,
  });
});

classify('a huge Retry-After is capped at MAX_RETRY_AFTER_MS (5 minutes)', () => {
  assert.is(MAX_RETRY_AFTER_MS, 300_000);
  const decision = classifyResponse(response(503, { 'retry-after': '999999999' }));
  assert.equal(decision, { kind: 'retry', reason: 'http_503', retryAfterMs: MAX_RETRY_AFTER_MS });
});

classify('Retry-After on a dropped status is ignored', () => {
  assert.equal(classifyResponse(response(400, { 'retry-after': '5' })), { kind: 'drop', reason: 'http_400', status: 400 });
});

classify('network errors are retried, with a reason per kind of failure', () => {
  const cases: Record<string, string> = {
    ETIMEDOUT: 'network_timeout',
    ECONNABORTED: 'network_timeout',
    ECONNREFUSED: 'network_refused',
    ECONNRESET: 'network_reset',
    EPIPE: 'network_reset',
    ENOTFOUND: 'network_dns',
    EAI_AGAIN: 'network_dns',
    EHOSTUNREACH: 'network_unreachable',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'network_tls',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'network_tls',
    SELF_SIGNED_CERT_IN_CHAIN: 'network_tls',
    CERT_HAS_EXPIRED: 'network_tls',
    ERR_TLS_CERT_ALTNAME_INVALID: 'network_tls',
    ERR_SSL_WRONG_VERSION_NUMBER: 'network_tls',
    EPROTO: 'network_tls',
    ABORTED: 'network_aborted',
    ECLOSED: 'network_aborted',
    ECREDENTIALS: 'network_credentials',
    SOMETHING_ELSE: 'network_other',
  };
  for (const [code, reason] of Object.entries(cases)) {
    assert.equal(classifyResponse(networkError(code)), { kind: 'retry', reason }, code);
    assert.is(networkErrorReason(code), reason);
  }
});

const retryAfter = suite('retry-policy: parseRetryAfter');

retryAfter('delay-seconds', () => {
  assert.is(parseRetryAfter('0', NOW), 0);
  assert.is(parseRetryAfter('1', NOW), 1000);
  assert.is(parseRetryAfter('120', NOW), 120_000);
  assert.is(parseRetryAfter(' 30 ', NOW), 30_000);
});

retryAfter('negative seconds count as 0', () => {
  assert.is(parseRetryAfter('-5', NOW), 0);
});

retryAfter('IMF-fixdate in the future', () => {
  assert.is(parseRetryAfter('Thu, 15 Jan 2026 12:00:30 GMT', NOW), 30_000);
  assert.is(parseRetryAfter(new Date(NOW + 3_600_000).toUTCString(), NOW), 3_600_000);
});

retryAfter('obsolete RFC 850 and asctime forms are read as GMT', () => {
  assert.is(parseRetryAfter('Thursday, 15-Jan-26 12:01:00 GMT', NOW), 60_000);
  assert.is(parseRetryAfter('Thu Jan 15 12:00:10 2026', NOW), 10_000);
  assert.is(parseRetryAfter('Thu Jan  8 12:00:00 2026', NOW), 0);
});

retryAfter('a date in the past gives 0', () => {
  assert.is(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0);
  assert.is(parseRetryAfter(new Date(NOW - 1000).toUTCString(), NOW), 0);
});

retryAfter('other zoned date strings Date.parse reads are accepted', () => {
  assert.is(parseRetryAfter('2026-01-15T12:00:05Z', NOW), 5000);
});

retryAfter('garbage and absent values give undefined', () => {
  for (const value of [undefined, '', '   ', 'soon', '1.5', '12abc', 'Thu, 32 Jan 2026 12:00:00 GMT', 'Thu, 30 Feb 2026 12:00:00 GMT', '1 2', 'Mon, 15 Foo 2026 12:00:00 GMT', 'NaN', 'Infinity']) {
    assert.is(parseRetryAfter(value, NOW), undefined, JSON.stringify(value));
  }
});

const backoff = suite('retry-policy: nextBackoffMs / retryDelayMs');

const opts = { minMs: 30, maxMs: 5000 };

backoff('random()=0 gives half the exponential ceiling; random()~1 gives (almost) the ceiling', () => {
  assert.is(nextBackoffMs(0, opts, () => 0), 15);
  assert.is(nextBackoffMs(1, opts, () => 0), 30);
  assert.is(nextBackoffMs(3, opts, () => 0), 120);
  assert.is(nextBackoffMs(0, opts, () => 0.999999), 29);
  assert.is(nextBackoffMs(3, opts, () => 0.999999), 239);
  assert.is(nextBackoffMs(3, opts, () => 1), 240);
});

backoff('the delay grows with the attempt and stops at maxMs', () => {
  assert.is(nextBackoffMs(20, opts, () => 1), 5000);
  assert.is(nextBackoffMs(20, opts, () => 0), 2500);
});

backoff('always within [ceiling/2, ceiling] and never above maxMs over many attempts', () => {
  const randoms = [() => 0, () => 0.5, () => 0.999999999, () => 1];
  for (let attempt = 0; attempt <= 200; attempt++) {
    const ceiling = Math.min(opts.maxMs, opts.minMs * 2 ** attempt);
    for (const random of randoms) {
      const d = nextBackoffMs(attempt, opts, random);
      assert.ok(Number.isInteger(d), `integer at ${attempt}`);
      assert.ok(d >= 0 && d <= opts.maxMs, `attempt ${attempt}: ${d} outside [0, ${opts.maxMs}]`);
      assert.ok(d <= ceiling && d >= Math.floor(ceiling / 2), `attempt ${attempt}: ${d} vs ceiling ${ceiling}`);
    }
  }
});

backoff('odd inputs stay in range: huge/Infinite/negative/NaN attempts, random() out of [0,1), min > max', () => {
  for (const attempt of [1e9, Number.MAX_SAFE_INTEGER, Infinity, -1, NaN]) {
    for (const r of [-5, 0, 0.3, 2, NaN]) {
      const d = nextBackoffMs(attempt, opts, () => r);
      assert.ok(Number.isFinite(d) && d >= 0 && d <= opts.maxMs, `attempt ${attempt}, random ${r}: ${d}`);
    }
  }
  assert.is(nextBackoffMs(Infinity, opts, () => 1), 5000);
  assert.is(nextBackoffMs(-1, opts, () => 1), 30);
  assert.ok(nextBackoffMs(0, { minMs: 10_000, maxMs: 1000 }, () => 1) <= 1000);
  assert.is(nextBackoffMs(5, { minMs: 0, maxMs: 1000 }, () => 1), 0);
});

backoff('the default random source stays in range', () => {
  for (let i = 0; i < 1000; i++) {
    const d = nextBackoffMs(i % 12, opts);
    assert.ok(d >= 0 && d <= opts.maxMs);
  }
});

backoff('a positive Retry-After wins over the backoff, but is capped at 5 minutes', () => {
  assert.is(retryDelayMs(0, 10_000, opts, () => 0), 10_000);
  assert.is(retryDelayMs(10, 1, opts, () => 1), 1);
  assert.is(retryDelayMs(0, 3_600_000, opts, () => 0), MAX_RETRY_AFTER_MS);
  assert.is(retryDelayMs(0, Infinity, opts, () => 0), 15);
});

backoff('without Retry-After (or with 0) the backoff applies', () => {
  assert.is(retryDelayMs(2, undefined, opts, () => 0), 60);
  assert.is(retryDelayMs(2, 0, opts, () => 0), 60);
});

const drop = suite('retry-policy: describeDrop');

drop('401 and 403 say plainly that the credentials are wrong or rejected', () => {
  const m401 = describeDrop(401, 'invalid token');
  assert.match(m401, /HTTP 401/);
  assert.match(m401, /credentials are wrong/);
  assert.match(m401, /invalid token/);
  const m403 = describeDrop(403, '');
  assert.match(m403, /HTTP 403/);
  assert.match(m403, /credentials were rejected/);
  assert.match(m403, /body was empty/);
});

drop('each message names the status, says the batch is dropped and shows the body on one line', () => {
  for (const status of [400, 404, 409, 413, 415, 429, 302, 418]) {
    const message = describeDrop(status, 'line one\nline two\r\n\tend');
    assert.match(message, new RegExp(`HTTP ${status}`));
    assert.match(message, /dropped, not retried/);
    assert.ok(!/[\r\n\t]/.test(message), `${status}: ${JSON.stringify(message)}`);
    assert.match(message, /line one line two end/);
  }
  assert.match(describeDrop(400, ''), /invalid/);
  assert.match(describeDrop(404, ''), /URL/);
  assert.match(describeDrop(413, ''), /too large/);
  assert.match(describeDrop(308, ''), /redirect/);
});

drop('the body shown is at most 1 KiB', () => {
  const message = describeDrop(400, 'x'.repeat(5000));
  assert.ok(!message.includes('x'.repeat(1025)));
  assert.ok(message.includes('x'.repeat(1024)));
});

classify.run();
retryAfter.run();
backoff.run();
drop.run();
