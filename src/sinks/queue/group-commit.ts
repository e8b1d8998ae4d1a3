/**
 * When the disk queue's writes reach the disk. A record is in the page cache
 * once its append resolves (it survives a crash of the process); it is
 * fdatasync'd at the latest `intervalMs` later if it is still pending then.
 * A record delivered before needs no disk at all, so a queue that keeps up
 * does not fsync; during an outage it fsyncs at most once per interval, as
 * vmagent's persistent queue does (once a second). What a power loss can
 * take: docs/queue-format.md.
 */
export class GroupCommit {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    /** Makes what is pending durable. */
    private readonly sync: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** After each change of the queue: whether written records are pending and not yet on the disk. */
  update(unsyncedPending: boolean): void {
    if (!unsyncedPending) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sync().catch(this.onError);
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
