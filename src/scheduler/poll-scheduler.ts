import type { Logger } from '../log/logger';

/** The time and timers a scheduler runs on; tests pass a clock of their own. */
export interface SchedulerClock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

const REAL_CLOCK: SchedulerClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/**
 * Runs `tick` now and then every `intervalMs`, on a fixed grid from the
 * start (no drift), never two at once. Each tick is told how long it has
 * until the next slot (a poll's deadline is cut to it). A tick that ends
 * after the next slot began, less than half an interval late (a poll cut at
 * its deadline, which equals the interval by default, plus its push), runs
 * that slot at once, as Prometheus' ticker keeps one missed tick: a hanging
 * bridge is polled once per interval, not once per interval + timeout.
 * Slots missed by more (a tick overrunning several) are skipped, not queued.
 */
export class PollScheduler {
  private timer: unknown;
  private running: Promise<void> | undefined;
  private stopped = true;
  private origin = 0;
  /** The slot of the tick running or last run. */
  private slot = 0;

  constructor(
    private readonly intervalMs: number,
    /** `untilNextSlotMs`: the time left before the next slot begins (at least 1 ms). */
    private readonly tick: (untilNextSlotMs: number) => Promise<void>,
    private readonly log: Logger,
    private readonly clock: SchedulerClock = REAL_CLOCK,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.origin = this.clock.now();
    this.run(0);
  }

  /** Stops scheduling and waits for a tick in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private run(slot: number): void {
    if (this.stopped) return;
    this.slot = slot;
    const untilNextSlotMs = Math.max(1, this.origin + (slot + 1) * this.intervalMs - this.clock.now());
    this.running = this.tick(untilNextSlotMs)
      .catch((error: unknown) => {
        // A tick must never take the scheduler down with it.
        this.log.error('poll cycle threw', { err: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => {
        this.running = undefined;
        this.scheduleNext();
      });
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const elapsed = this.clock.now() - this.origin;
    const current = Math.floor(elapsed / this.intervalMs);
    if (current > this.slot && elapsed - current * this.intervalMs < this.intervalMs / 2) {
      // The slot that began during the tick, a moment ago: run it now rather than lose it.
      this.timer = this.clock.setTimer(() => this.run(current), 0);
      return;
    }
    // (max: a timer that fired a hair early must not run its slot twice.)
    const next = Math.max(current + 1, this.slot + 1);
    this.timer = this.clock.setTimer(() => this.run(next), this.origin + next * this.intervalMs - this.clock.now());
  }
}
