import type { PollOutcome, Source } from './source';

/**
 * The whole poll of a bridge, however many requests it takes (auto tries
 * two endpoints), ends at one deadline, as a Prometheus scrape ends at its
 * scrape_timeout: the requests, the reading of the body (parsing, mapping)
 * and the checks. A poll cut off (no complete answer in time, or a body
 * still being parsed) is a `timeout`, a shutdown an `aborted`.
 */
export class DeadlineSource implements Source {
  constructor(
    private readonly inner: Source,
    private readonly timeoutMs: number,
    /** The bridge's URL (redacted), for the message. */
    private readonly where: string,
  ) {}

  /** `budgetMs`: the time left before the next poll is due; the deadline is the sooner of it and the timeout. */
  async poll(signal: AbortSignal, budgetMs?: number): Promise<PollOutcome> {
    const timeoutMs = Math.max(1, Math.floor(Math.min(this.timeoutMs, budgetMs ?? Number.POSITIVE_INFINITY)));
    // One controller for both the deadline and the shutdown, and a timer cleared when the poll ends:
    // AbortSignal.timeout() fired after every poll all the same (an error with its stack, abort events
    // through AbortSignal.any()'s weak references), a tenth of the CPU of a poll of one bridge.
    const stop = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop.abort();
    }, timeoutMs);
    const onShutdown = (): void => stop.abort(signal.reason);
    if (signal.aborted) onShutdown();
    else signal.addEventListener('abort', onShutdown, { once: true });
    let outcome: PollOutcome;
    try {
      // The inner source gets the same deadline as a time (a body read at once is checked against it afterwards).
      outcome = await this.inner.poll(stop.signal, timeoutMs);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onShutdown);
    }
    const why = timeoutMs < this.timeoutMs ? ` (the time left before the next poll is due; the timeout is ${this.timeoutMs}ms)` : '';
    if (!outcome.ok && outcome.reason === 'aborted' && timedOut && !signal.aborted) {
      return { ok: false, reason: 'timeout', message: `${this.where} did not answer within ${timeoutMs}ms${why}`, durationMs: outcome.durationMs };
    }
    if (!outcome.ok && outcome.reason === 'timeout' && why !== '') return { ...outcome, message: outcome.message + why };
    return outcome;
  }

  close(): void {
    this.inner.close();
  }
}
