import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { createSource } from '../../src/sources/create-source';
import { EndpointSource, type EndpointReader } from '../../src/sources/endpoint-source';
import type { FetchedBody } from '../../src/sources/fetch-endpoint';
import { createHttpTransport } from '../../src/http/http-transport';
import { createNativeReader } from '../../src/sources/native/native-reader';
import { parseExposition, type ExpositionFormat } from '../../src/sources/native/parse-exposition';
import { LARGE_BODY_BYTES, type ReadDeadline } from '../../src/sources/read-deadline';
import { FakeBridge, nativeFixtureText } from '../helpers/fake-bridge';

/**
 * The poll's deadline covers reading the body: a large body is parsed a
 * slice at a time (other work runs between slices) and given up at the
 * deadline; a small one is parsed at once, as before, and a poll whose
 * parse ends past the deadline fails as a timeout.
 */
const test = suite('poll deadline: parsing within the timeout');
const quiet = createLogger({ level: 'error', format: 'logfmt', write: () => {} });
const NO_DEADLINE: ReadDeadline = { signal: new AbortController().signal, endsAt: Number.POSITIVE_INFINITY };

/** A body of `series` samples in a few families (histograms among them), about 60 bytes a sample. */
function largeBody(series: number, om: boolean): string {
  const lines: string[] = [];
  const families = 4;
  for (let f = 0; f < families; f++) {
    lines.push(`# HELP fam_${f} Family ${f}, with an "escaped\\\\" help text.`, `# TYPE fam_${f} gauge`);
    for (let i = f; i < series; i += families) lines.push(`fam_${f}{conference="c${i % 97}",endpoint="e${i}"} ${i}.25`);
  }
  lines.push('# TYPE lat histogram');
  for (let c = 0; c < 50; c++) {
    for (const le of ['0.1', '1.0', '+Inf']) lines.push(`lat_bucket{c="${c}",le="${le}"} ${c}`);
    lines.push(`lat_sum{c="${c}"} ${c}.5`, `lat_count{c="${c}"} ${c}`);
  }
  if (om) lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

function fetched(text: string, format: ExpositionFormat): FetchedBody {
  const contentType = format === 'openmetrics-1.0' ? 'application/openmetrics-text; version=1.0.0' : 'text/plain; version=0.0.4';
  return { ok: true, contentType, text, bytes: Buffer.byteLength(text) };
}

/** Counts turns of the event loop (setImmediate) until stopped. */
function countTurns(): { readonly count: number; stop(): void } {
  let count = 0;
  let stopped = false;
  const turn = () => {
    if (stopped) return;
    count++;
    setImmediate(turn);
  };
  setImmediate(turn);
  return {
    get count() {
      return count;
    },
    stop: () => (stopped = true),
  };
}

test('a small body (a real JVB /metrics) is read at once: no promise, no turn of the event loop', () => {
  const text = nativeFixtureText('text');
  assert.ok(text.length < LARGE_BODY_BYTES);
  const reading = createNativeReader().read(fetched(text, 'text-0.0.4'), 20_000, NO_DEADLINE);
  assert.not.instance(reading, Promise);
  assert.ok(!(reading instanceof Promise) && reading.ok);
});

for (const format of ['text-0.0.4', 'openmetrics-1.0'] as const) {
  test(`${format}: a large body is parsed in slices, other work runs between them, and the result is parseExposition()'s`, async () => {
    const text = largeBody(25_000, format === 'openmetrics-1.0');
    assert.ok(text.length > 4 * LARGE_BODY_BYTES, `${text.length} characters`);
    const turns = countTurns();
    const pending = createNativeReader().read(fetched(text, format), 100_000, NO_DEADLINE);
    assert.instance(pending, Promise);
    const reading = await pending;
    turns.stop();
    assert.ok(turns.count >= 2, `the event loop turned ${turns.count} times while the body was parsed`);
    const whole = parseExposition(text, format, { maxSamples: 100_000 });
    assert.ok(reading.ok && whole.ok);
    if (reading.ok && whole.ok) {
      assert.equal(reading.families, whole.families);
      assert.equal(reading.skipped, whole.skipped);
    }
  });
}

for (const format of ['text-0.0.4', 'openmetrics-1.0'] as const) {
  test(`${format}: a large body with only new values reuses the last parse (same objects, new values), read at once; a new shape is parsed in slices again`, async () => {
    const reader = createNativeReader();
    const first = largeBody(20_000, format === 'openmetrics-1.0');
    const a = await reader.read(fetched(first, format), 100_000, NO_DEADLINE);
    assert.ok(a.ok);
    // The same text with other values: every "<n>.25" becomes "<n>.75".
    const second = first.replace(/\.25$/gm, '.75');
    assert.is.not(second, first);
    const b = reader.read(fetched(second, format), 100_000, NO_DEADLINE);
    assert.not.instance(b, Promise, 'reused at once, not parsed in slices');
    const whole = parseExposition(second, format, { maxSamples: 100_000 });
    assert.ok(!(b instanceof Promise) && b.ok && whole.ok && a.ok);
    if (!(b instanceof Promise) && b.ok && whole.ok && a.ok) {
      assert.ok(b.families === a.families, 'the same family objects');
      assert.equal(b.families, whole.families, 'with the new values');
    }
    // A new series: not the same shape, parsed afresh in slices.
    const third = second.replace('# TYPE lat histogram', 'fam_0{conference="new",endpoint="new"} 1\n# TYPE lat histogram');
    const c = reader.read(fetched(third, format), 100_000, NO_DEADLINE);
    assert.instance(c, Promise);
    const read = await c;
    const expected = parseExposition(third, format, { maxSamples: 100_000 });
    assert.ok(read.ok && expected.ok);
    if (read.ok && expected.ok) assert.equal(read.families, expected.families);
  });
}

test('a large body refused (a bad line near its end, or too many series) is refused as parseExposition() refuses it', async () => {
  const bad = `${largeBody(20_000, false)}fam_0{conference="x" 1\n`;
  const reading = await createNativeReader().read(fetched(bad, 'text-0.0.4'), 100_000, NO_DEADLINE);
  assert.equal(reading, parseExposition(bad, 'text-0.0.4', { maxSamples: 100_000 }));
  assert.is(reading.ok, false);
  const many = largeBody(20_000, false);
  const limited = await createNativeReader().read(fetched(many, 'text-0.0.4'), 1000, NO_DEADLINE);
  assert.equal(limited, parseExposition(many, 'text-0.0.4', { maxSamples: 1000 }));
  assert.ok(!limited.ok && limited.reason === 'too_many_series');
});

test('the deadline passing during the parse stops it: a timeout saying how far it got', async () => {
  const text = largeBody(25_000, false);
  const deadline = new AbortController();
  // The deadline fires (as AbortSignal.timeout does, with a TimeoutError) once the parse has given the event loop a turn.
  setImmediate(() => deadline.abort(new DOMException('the deadline', 'TimeoutError')));
  const reading = await createNativeReader().read(fetched(text, 'text-0.0.4'), 100_000, { signal: deadline.signal, endsAt: Number.POSITIVE_INFINITY });
  assert.ok(!reading.ok && reading.reason === 'timeout', JSON.stringify(reading));
  assert.match(reading.ok ? '' : reading.message, /^\d+% of it parsed when the deadline passed$/);
});

test('a shutdown during the parse stops it: aborted', async () => {
  const text = largeBody(25_000, false);
  const shutdown = new AbortController();
  setImmediate(() => shutdown.abort());
  const reading = await createNativeReader().read(fetched(text, 'text-0.0.4'), 100_000, { signal: shutdown.signal, endsAt: Number.POSITIVE_INFINITY });
  assert.ok(!reading.ok && reading.reason === 'aborted', JSON.stringify(reading));
});

test('after a large body, the next small one is parsed in full and right (the last result is not reused across)', async () => {
  const reader = createNativeReader();
  const small = nativeFixtureText('text');
  const first = reader.read(fetched(small, 'text-0.0.4'), 100_000, NO_DEADLINE);
  assert.ok((await reader.read(fetched(largeBody(25_000, false), 'text-0.0.4'), 100_000, NO_DEADLINE)).ok);
  const again = reader.read(fetched(small, 'text-0.0.4'), 100_000, NO_DEADLINE);
  const expected = parseExposition(small, 'text-0.0.4', { maxSamples: 100_000 });
  if (first instanceof Promise || again instanceof Promise || !first.ok || !again.ok || !expected.ok) throw new Error('the small body is read at once, and parses');
  assert.ok(again.families !== first.families, 'a fresh result');
  assert.equal(again.families, expected.families);
});

const jvb = new FakeBridge();
test.before(async () => {
  await jvb.start();
});
test.after(async () => {
  await jvb.stop();
});

test('a body parsed at once but past the deadline fails the poll as a timeout, naming the parse and the body size', async () => {
  const text = nativeFixtureText('text');
  jvb.respond = () => ({ body: text, contentType: 'text/plain; version=0.0.4' });
  // A reader that takes until past the deadline, when there is one (a parse slower than the time left).
  const slow: EndpointReader = {
    accept: 'text/plain',
    read(_body, _max, deadline) {
      const until = Number.isFinite(deadline.endsAt) ? deadline.endsAt + 2 : performance.now() + 5;
      while (performance.now() <= until) {
        // busy: a synchronous parse
      }
      return { ok: true, families: [], skipped: [] };
    },
  };
  const transport = createHttpTransport({ url: jvb.metricsUrl, timeoutMs: 10_000, headers: {}, tls: { insecureSkipVerify: false } }, 'test');
  const source = new EndpointSource({ url: jvb.metricsUrl, transport, maxBodyBytes: 1 << 20 }, slow, 1000);
  try {
    // The budget: long enough for the answer on loopback (the poll fails only if the parse passes it).
    let outcome = await source.poll(new AbortController().signal, 2000);
    assert.ok(!outcome.ok && outcome.reason === 'timeout', JSON.stringify(outcome));
    if (!outcome.ok) {
      assert.match(outcome.message, `the body (${Buffer.byteLength(text)} bytes, received in `);
      assert.match(outcome.message, 'took too long to parse: the poll must end within 2000ms (parsed in ');
    }
    // Without a deadline the same reader succeeds.
    outcome = await source.poll(new AbortController().signal);
    assert.ok(outcome.ok);
  } finally {
    source.close();
  }
});

test('a real poll through the deadline: the fixture within the timeout succeeds, as before', async () => {
  jvb.respond = undefined;
  const url = jvb.metricsUrl;
  const source = createSource(
    { source: 'native', url, endpoints: [{ kind: 'native', url }], connection: { headers: {}, tls: { insecureSkipVerify: false } }, timeoutMs: 10_000, maxBodyBytes: 1 << 24, maxSeries: 20_000 },
    quiet,
  );
  try {
    const outcome = await source.poll(new AbortController().signal);
    assert.ok(outcome.ok, JSON.stringify(outcome));
  } finally {
    source.close();
  }
});

test.run();
