import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log/logger';
import { PollScheduler, type SchedulerClock } from '../../src/scheduler/poll-scheduler';
import { DeadlineSource } from '../../src/sources/deadline-source';
import type { PollOutcome, Source } from '../../src/sources/source';

/** A clock whose time moves only when the test says so; timers fire in order, with the promises they start settled in between. */
class FakeClock implements SchedulerClock {
  private time = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private ids = 0;
  now(): number {
    return this.time;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.time + Math.max(0, ms), fn, id });
    return id;
  }
  clearTimer(timer: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== timer);
  }
  /** Moves the time to `until`, firing every timer due on the way. */
  async advanceTo(until: number): Promise<void> {
    for (let fired = 0; fired < 10_000; fired++) {
      await settle();
      const next = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.fn();
    }
    this.time = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const silent = createLogger({ level: 'error', format: 'logfmt', write: () => {} });

test('a bridge that hangs until the timeout (= the interval) is still polled at every slot of the grid', async () => {
  const clock = new FakeClock();
  const intervalMs = 1000;
  const timeoutMs = 1000; // the default at a 1 s interval: min(5 s, interval)
  const starts: number[] = [];
  // A hanging bridge behind the poll deadline: each poll ends when its deadline fires (1 ms late, as real timers are).
  const scheduler = new PollScheduler(
    intervalMs,
    (untilNextSlotMs?: number) => {
      starts.push(clock.now());
      const deadline = Math.min(timeoutMs, untilNextSlotMs ?? Number.POSITIVE_INFINITY);
      return new Promise<void>((resolve) => clock.setTimer(resolve, deadline + 1));
    },
    silent,
    clock,
  );
  scheduler.start();
  await clock.advanceTo(12 * intervalMs - 1);
  const stopping = scheduler.stop();
  await clock.advanceTo(13 * intervalMs);
  await stopping;
  // 12 slots in [0, 12 s): one poll each (was 6: every interval + timeout).
  assert.is(starts.length, 12, `poll starts: ${starts.join(', ')}`);
  // Each starts in its own slot: the grid is kept.
  starts.forEach((at, slot) => assert.ok(at >= slot * intervalMs && at < (slot + 1) * intervalMs, `poll ${slot} started at ${at}`));
});

test('a tick that ends within its slot waits for the next slot; one that overruns several slots skips them', async () => {
  const clock = new FakeClock();
  const starts: number[] = [];
  const durations = [100, 3600, 100, 100];
  const scheduler = new PollScheduler(
    1000,
    () => {
      const duration = durations[starts.length] ?? 100;
      starts.push(clock.now());
      return new Promise<void>((resolve) => clock.setTimer(resolve, duration));
    },
    silent,
    clock,
  );
  scheduler.start();
  await clock.advanceTo(6500);
  const stopping = scheduler.stop();
  await clock.advanceTo(8000);
  await stopping;
  // 0: 100 ms; 1000: 3.6 s, ending at 4600 (slots 2000, 3000 and 4000 missed; 4000 more than half an interval ago: skipped); then 5000, 6000.
  assert.equal(starts, [0, 1000, 5000, 6000]);
});

test('a poll ends when the next one is due, even when its timeout is later', async () => {
  // A bridge that never answers: the poll ends only when its signal aborts.
  const hanging: Source = {
    poll: (signal) =>
      new Promise<PollOutcome>((resolve) =>
        signal.addEventListener('abort', () => resolve({ ok: false, reason: 'aborted', message: 'aborted', durationMs: 0 }), { once: true }),
      ),
    close: () => {},
  };
  const source = new DeadlineSource(hanging, 60_000, 'http://jvb:8080');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    source.poll(new AbortController().signal, 50.7), // (a budget is rarely a whole number of ms)
    new Promise<'still hanging'>((resolve) => (timer = setTimeout(() => resolve('still hanging'), 10_000))),
  ]);
  clearTimeout(timer);
  assert.ok(outcome !== 'still hanging', 'the poll ended by the time the next was due');
  assert.is(outcome.ok, false);
  if (outcome.ok) return;
  assert.is(outcome.reason, 'timeout');
  assert.is(outcome.message, 'http://jvb:8080 did not answer within 50ms (the time left before the next poll is due; the timeout is 60000ms)');
});

test.run();
