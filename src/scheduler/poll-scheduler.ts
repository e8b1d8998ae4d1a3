import type { Logger } from '../log/logger';

/**
 * Runs `tick` now and then every `intervalMs`, on a fixed grid from the
 * start (no drift), never two at once: a tick that overruns its slot makes
 * the scheduler skip the slots it missed rather than queue them.
 */
export class PollScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private origin = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.origin = performance.now();
    this.run();
  }

  /** Stops scheduling and waits for a tick in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private run(): void {
    if (this.stopped) return;
    this.running = this.tick()
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
    const elapsed = performance.now() - this.origin;
    const nextSlot = (Math.floor(elapsed / this.intervalMs) + 1) * this.intervalMs;
    this.timer = setTimeout(() => this.run(), nextSlot - elapsed);
  }
}
