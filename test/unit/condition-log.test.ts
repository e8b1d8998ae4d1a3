import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConditionLog, describeDuration } from '../../src/log/condition-log';
import { createLogger } from '../../src/log/logger';

const test = suite('ConditionLog: start, at most once a minute while it lasts, end');

function setup(opts: { level?: 'warn' | 'error'; repeatMs?: number } = {}) {
  const lines: string[] = [];
  let now = 1_000_000;
  const log = createLogger({ level: 'debug', format: 'logfmt', write: (line) => lines.push(line.replace(/^ts=\S+ /, '')) });
  const condition = new ConditionLog(log, { ...opts, now: () => now });
  return { lines, condition, advance: (ms: number) => (now += ms) };
}

test('logged when it starts, silent within the minute, once a minute with the totals, once at the end with how long it lasted', () => {
  const { lines, condition, advance } = setup();
  assert.not.ok(condition.active);
  assert.not.ok(condition.end('over'), 'ending what never started writes nothing');
  assert.ok(condition.report('receiver unreachable', { reason: 'network_refused' }, { failed_attempts: 1 }));
  assert.ok(condition.active);
  for (let i = 0; i < 10; i++) {
    advance(5_000);
    assert.not.ok(condition.report('receiver unreachable', { reason: 'network_refused' }, { failed_attempts: 1 }));
  }
  advance(10_000); // 60 s since the start line
  assert.ok(condition.report('receiver unreachable', { reason: 'http_503' }, { failed_attempts: 1 }));
  advance(30_000);
  assert.not.ok(condition.report('receiver unreachable', {}, { failed_attempts: 2 }));
  assert.equal(condition.counts, { failed_attempts: 14 });
  advance(15_500);
  assert.ok(condition.end('receiver reachable again', { queued_requests: 3 }));
  assert.not.ok(condition.active);
  assert.not.ok(condition.end('receiver reachable again'), 'once');
  assert.equal(lines, [
    'level=warn msg="receiver unreachable" reason=network_refused failed_attempts=1',
    'level=warn msg="receiver unreachable" reason=http_503 ongoing_for=1m failed_attempts=12',
    'level=info msg="receiver reachable again" queued_requests=3 lasted=1m46s failed_attempts=14',
  ]);
  // A new start after the end is news again, with fresh counts.
  advance(1000);
  assert.ok(condition.report('receiver unreachable', {}, { failed_attempts: 1 }));
  assert.is(lines[3], 'level=warn msg="receiver unreachable" failed_attempts=1');
  assert.equal(condition.counts, { failed_attempts: 1 });
});

test('the level and the repeat interval are options', () => {
  const { lines, condition, advance } = setup({ level: 'error', repeatMs: 1000 });
  condition.report('disk full');
  advance(999);
  condition.report('disk full');
  advance(1);
  condition.report('disk full');
  assert.equal(lines, ['level=error msg="disk full"', 'level=error msg="disk full" ongoing_for=1s']);
});

test('durations: milliseconds below a second, whole seconds above', () => {
  assert.is(describeDuration(0), '0ms');
  assert.is(describeDuration(350.4), '350ms');
  assert.is(describeDuration(1499), '1s');
  assert.is(describeDuration(133_456), '2m13s');
  assert.is(describeDuration(3_600_000 + 2_000), '1h2s');
});

test.run();
