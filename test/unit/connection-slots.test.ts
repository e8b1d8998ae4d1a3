import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectionSlots, type Admission } from '../../src/server/connection-slots';

const GRACE = 1000;

function slots(cap: number, ceiling = cap * 2): ConnectionSlots<string> {
  return new ConnectionSlots<string>({ cap, ceiling, graceMs: GRACE });
}

/** A connection that has been answered and kept alive. */
function answer(s: ConnectionSlots<string>, key: string, now: number): void {
  s.requestStarted(key);
  s.answerWritten(key, now);
  s.answerFlushed(key, now);
}

function evicted(a: Admission<string>): string | undefined {
  return a.admitted ? a.evicted?.key : 'refused';
}

const test = suite('connection slots: which connection a newcomer pushes out');

test('under the cap every connection is let in and none pushed out', () => {
  const s = slots(3);
  for (const key of ['a', 'b', 'c']) assert.equal(s.opened(key, 0), { admitted: true, evicted: undefined });
  assert.is(s.size, 3);
  assert.equal(s.counts(), { head: 3, busy: 0, draining: 0, idle: 0 });
});

test('at the cap the connection idle the longest goes first, before any older one still sending its head', () => {
  const s = slots(3);
  s.opened('slow-head', 0);
  s.opened('a', 10);
  s.opened('b', 20);
  answer(s, 'b', 30); // idle since 30
  answer(s, 'a', 40); // idle since 40
  assert.equal(s.opened('new', 5000), { admitted: true, evicted: { key: 'b', reason: 'idle' } });
  assert.equal(s.opened('new2', 5000), { admitted: true, evicted: { key: 'a', reason: 'idle' } });
  assert.equal(s.opened('new3', 5000), { admitted: true, evicted: { key: 'slow-head', reason: 'slow_head' } });
  assert.is(s.size, 3);
});

test('an idle connection goes even when it fell idle a moment ago (no answer in progress)', () => {
  const s = slots(1);
  s.opened('a', 0);
  answer(s, 'a', 100);
  assert.is(evicted(s.opened('b', 100)), 'a');
});

test('the oldest head goes once it has had a second; younger heads are not pushed out, the newcomer is let in over the cap', () => {
  const s = slots(2, 4);
  s.opened('old', 0);
  s.opened('young', 900);
  assert.equal(s.opened('p', 999), { admitted: true, evicted: undefined }, 'nothing a second old: let in over the cap');
  assert.is(s.size, 3);
  assert.equal(s.opened('q', 1000), { admitted: true, evicted: { key: 'old', reason: 'slow_head' } });
  assert.equal(s.opened('r', 1500), { admitted: true, evicted: undefined }, 'young and p are under a second old');
  assert.is(s.size, 4);
  assert.equal(s.opened('s', 1600), { admitted: false }, 'at the ceiling, nothing to push out: refused');
  assert.is(s.size, 4);
  assert.equal(s.opened('t', 1900), { admitted: true, evicted: { key: 'young', reason: 'slow_head' } });
});

test('a connection being answered is never pushed out; at the ceiling the newcomer is refused', () => {
  const s = slots(2, 3);
  for (const key of ['a', 'b', 'c']) {
    s.opened(key, 0);
    s.requestStarted(key);
  }
  assert.equal(s.counts(), { head: 0, busy: 3, draining: 0, idle: 0 });
  assert.equal(s.opened('d', 60_000), { admitted: false });
});

test('a slow reader (answer written, not taken) goes last, and only after a second', () => {
  const s = slots(3, 3);
  s.opened('reader', 0);
  s.requestStarted('reader');
  s.answerWritten('reader', 100);
  s.opened('head', 50);
  s.opened('busy', 60);
  s.requestStarted('busy');
  assert.equal(s.counts(), { head: 1, busy: 1, draining: 1, idle: 0 });
  assert.equal(s.opened('x', 1000), { admitted: false }, 'the head and the reader are not a second in their state yet');
  assert.equal(s.opened('y', 1050), { admitted: true, evicted: { key: 'head', reason: 'slow_head' } }, 'a slow head before a slow reader');
  assert.equal(s.opened('z', 1100), { admitted: true, evicted: { key: 'reader', reason: 'slow_reader' } });
  assert.equal(s.counts(), { head: 2, busy: 1, draining: 0, idle: 0 });
});

test('lifecycle: head, busy, draining, idle, busy again on the next request; closed leaves no trace', () => {
  const s = slots(10);
  s.opened('a', 0);
  assert.equal(s.counts(), { head: 1, busy: 0, draining: 0, idle: 0 });
  s.requestStarted('a');
  assert.equal(s.counts(), { head: 0, busy: 1, draining: 0, idle: 0 });
  s.answerWritten('a', 5);
  assert.equal(s.counts(), { head: 0, busy: 0, draining: 1, idle: 0 });
  s.answerFlushed('a', 6);
  assert.equal(s.counts(), { head: 0, busy: 0, draining: 0, idle: 1 });
  s.requestStarted('a');
  assert.equal(s.counts(), { head: 0, busy: 1, draining: 0, idle: 0 });
  s.closed('a');
  assert.is(s.size, 0);
  // Events of a connection already closed (an answer finishing after its socket was pushed out) change nothing.
  s.requestStarted('a');
  s.answerWritten('a', 7);
  s.answerFlushed('a', 8);
  s.closed('a');
  assert.is(s.size, 0);
});

test('pipelined requests: busy while any answer is unwritten, idle once all are taken', () => {
  const s = slots(10);
  s.opened('a', 0);
  s.requestStarted('a');
  s.requestStarted('a');
  s.answerWritten('a', 1);
  assert.equal(s.counts(), { head: 0, busy: 1, draining: 0, idle: 0 }, 'one of two written');
  s.answerFlushed('a', 2);
  assert.equal(s.counts(), { head: 0, busy: 1, draining: 0, idle: 0 });
  s.answerWritten('a', 3);
  assert.equal(s.counts(), { head: 0, busy: 0, draining: 1, idle: 0 });
  s.answerFlushed('a', 4);
  assert.equal(s.counts(), { head: 0, busy: 0, draining: 0, idle: 1 });
});

test('a health probe among slow clients holding every slot: let in, never pushed out by the slow clients reconnecting', () => {
  const s = slots(4, 8);
  for (let i = 0; i < 4; i++) s.opened(`slow${i}`, 0);
  let t = 5000;
  assert.equal(s.opened('probe', t), { admitted: true, evicted: { key: 'slow0', reason: 'slow_head' } });
  // Every pushed-out slow client comes back at once.
  for (let i = 0; i < 20; i++) {
    t += 10;
    const a = s.opened(`again${i}`, t);
    // Let in (over the cap, the others being under a second old) or, at the ceiling, refused: the probe stays either way.
    if (a.admitted) assert.is.not(a.evicted?.key, 'probe');
  }
  s.requestStarted('probe');
  assert.is(s.counts().busy, 1, 'the probe got its request in');
});

test('a health probe in a burst of brand-new connections beyond the cap: let in, within the ceiling', () => {
  const s = slots(4, 12);
  for (let i = 0; i < 4; i++) answer(s, (s.opened(`scrape${i}`, 0), `scrape${i}`), 1);
  const burst = Array.from({ length: 6 }, (_, i) => `new${i}`);
  for (const key of burst.slice(0, 3)) assert.is(evicted(s.opened(key, 2)) !== 'refused', true);
  assert.equal(s.opened('probe', 2), { admitted: true, evicted: { key: 'scrape3', reason: 'idle' } });
  for (const key of burst.slice(3)) assert.equal(s.opened(key, 2), { admitted: true, evicted: undefined });
  assert.is(s.size, 7);
  s.requestStarted('probe');
  assert.is(s.counts().busy, 1);
});

test('random events: never over the ceiling, counts add up, never pushes out a busy connection or a head under a second old', () => {
  let seed = 17;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const s = slots(20, 30);
  const state = new Map<string, { kind: 'head' | 'busy' | 'draining' | 'idle'; since: number }>();
  let t = 0;
  for (let i = 0; i < 20_000; i++) {
    t += Math.floor(random() * 50);
    const keys = [...state.keys()];
    const key = keys[Math.floor(random() * keys.length)];
    const r = random();
    if (r < 0.4 || key === undefined) {
      const admission = s.opened(`c${i}`, t);
      if (!admission.admitted) {
        assert.ok(state.size >= 30, 'refused only at the ceiling');
        continue;
      }
      const victim = admission.evicted;
      if (victim !== undefined) {
        const was = state.get(victim.key)!;
        assert.ok(state.size >= 20, 'pushes out only at the cap');
        assert.is.not(was.kind, 'busy', 'a busy connection is never pushed out');
        if (was.kind !== 'idle') assert.ok(t - was.since >= GRACE, `a ${was.kind} connection ${t - was.since} ms in its state`);
        assert.is(victim.reason, { idle: 'idle', head: 'slow_head', draining: 'slow_reader' }[was.kind as 'idle' | 'head' | 'draining']);
        const others = [...state.values()];
        if (was.kind !== 'idle') assert.not.ok(others.some((o) => o.kind === 'idle'), 'idle ones go first');
        if (was.kind === 'draining') assert.not.ok(others.some((o) => o.kind === 'head' && t - o.since >= GRACE), 'slow heads before slow readers');
        state.delete(victim.key);
      }
      state.set(`c${i}`, { kind: 'head', since: t });
    } else if (r < 0.6) {
      const was = state.get(key)!;
      if (was.kind === 'head' || was.kind === 'idle') {
        s.requestStarted(key);
        state.set(key, { kind: 'busy', since: t });
      }
    } else if (r < 0.75) {
      if (state.get(key)!.kind === 'busy') {
        s.answerWritten(key, t);
        state.set(key, { kind: 'draining', since: t });
      }
    } else if (r < 0.9) {
      if (state.get(key)!.kind === 'draining') {
        s.answerFlushed(key, t);
        state.set(key, { kind: 'idle', since: t });
      }
    } else {
      s.closed(key);
      state.delete(key);
    }
    assert.ok(s.size <= 30);
    assert.is(s.size, state.size);
    const c = s.counts();
    assert.is(c.head + c.busy + c.draining + c.idle, s.size);
  }
});

test('nonsense bounds are refused', () => {
  assert.throws(() => new ConnectionSlots({ cap: 0, ceiling: 1, graceMs: 0 }), RangeError);
  assert.throws(() => new ConnectionSlots({ cap: 5, ceiling: 4, graceMs: 0 }), RangeError);
});

test.run();
