import type { PollOutcome, Source } from './source';

/**
 * The whole poll of a bridge, however many requests it takes (auto tries
 * two endpoints), ends at one deadline, as a Prometheus scrape ends at its
 * scrape_timeout: a cut-off poll is a `timeout`, a shutdown an `aborted`.
 */
export class DeadlineSource implements Source {
  constructor(
    private readonly inner: Source,
    private readonly timeoutMs: number,
    /** The bridge's URL (redacted), for the message. */
    private readonly where: string,
  ) {}

  async poll(signal: AbortSignal): Promise<PollOutcome> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const outcome = await this.inner.poll(AbortSignal.any([signal, deadline]));
    if (!outcome.ok && outcome.reason === 'aborted' && deadline.aborted && !signal.aborted) {
      return { ok: false, reason: 'timeout', message: `${this.where} did not answer within ${this.timeoutMs}ms`, durationMs: outcome.durationMs };
    }
    return outcome;
  }

  close(): void {
    this.inner.close();
  }
}
