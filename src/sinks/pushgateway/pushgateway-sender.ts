import type { Logger } from '../../log/logger';
import { abortableSleep } from '../abortable-sleep';
import type { HttpOutcome, HttpTransport } from '../http/http-transport';
import { classifyResponse, describeDrop } from '../http/retry-policy';
import type { PushgatewayMetrics } from './pushgateway-metrics';

/** Text exposition 0.0.4, which every Pushgateway version parses. */
export const PUSHGATEWAY_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface PushgatewaySenderOptions {
  /** The group's URL without credentials, for labels and logs. */
  readonly displayUrl: string;
  readonly transport: HttpTransport;
  readonly metrics: PushgatewayMetrics;
  readonly log: Logger;
  /** Wait before the one retry of a failed push. */
  readonly retryBackoffMs: number;
  readonly deleteOnShutdown: boolean;
  /** The body to PUT: the registry's text, rendered when the push starts so it is never older than needed. */
  readonly render: () => Promise<string>;
}

/**
 * Pushes the registry to one Pushgateway group with PUT (the group then holds
 * exactly this state). The gateway keeps only the latest state, so nothing
 * is queued: a failed push is retried once after a short backoff and
 * otherwise replaced by the next interval's push. At most one push is in
 * flight; a push asked for meanwhile runs right after, with fresh data.
 */
export class PushgatewaySender {
  private inFlight: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly abort = new AbortController();
  /** The last refusal logged, so the same explanation is not repeated every interval. */
  private lastRefusal: string | undefined;

  constructor(private readonly opts: PushgatewaySenderOptions) {}

  /** Called after each poll; never waits for the network. */
  push(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.pushLoop().finally(() => (this.inFlight = undefined));
  }

  /** Waits for a push in flight (its retry cut short), then DELETEs the group when configured. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.again = false;
    this.abort.abort();
    await this.inFlight;
    if (this.opts.deleteOnShutdown) {
      const outcome = await this.opts.transport.send({ method: 'DELETE', headers: {} });
      const decision = classifyResponse(outcome, { retryOn429: false });
      if (decision.kind === 'success') this.opts.log.info('deleted the group from the Pushgateway (--pushgateway.delete-on-shutdown)');
      else this.opts.log.error('could not delete the group from the Pushgateway', { err: this.explain(outcome) });
    }
    this.opts.transport.close();
  }

  private async pushLoop(): Promise<void> {
    do {
      this.again = false;
      await this.pushOnce();
    } while (this.again && !this.stopped);
  }

  private async pushOnce(): Promise<void> {
    const { metrics, log, displayUrl } = this.opts;
    const started = performance.now();
    const body = Buffer.from(await this.opts.render(), 'utf8');
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await this.opts.transport.send(
        { method: 'PUT', body, headers: { 'Content-Type': PUSHGATEWAY_CONTENT_TYPE } },
        attempt === 0 ? undefined : this.abort.signal,
      );
      const decision = classifyResponse(outcome, { retryOn429: true });
      if (decision.kind === 'success') {
        metrics.pushes.inc({ url: displayUrl, result: attempt === 0 ? 'success' : 'retried_success' });
        metrics.lastSuccess.set({ url: displayUrl }, Date.now() / 1000);
        metrics.duration.observe({ url: displayUrl }, (performance.now() - started) / 1000);
        if (this.lastRefusal !== undefined) log.info('Pushgateway accepts pushes again');
        this.lastRefusal = undefined;
        return;
      }
      if (decision.kind === 'drop') {
        // A 4xx will not change on retry; say why once per distinct answer, not every interval.
        const message = describeDrop(decision.status, outcome.kind === 'response' ? outcome.bodyPreview : '');
        if (message !== this.lastRefusal) log.error(message.replace('the batch is dropped, not retried', 'this push is dropped'), { status: decision.status });
        this.lastRefusal = message;
        break;
      }
      if (attempt === 0) {
        log.warn('push failed, retrying once', { reason: decision.reason, err: this.explain(outcome) });
        if (this.stopped || !(await abortableSleep(Math.min(decision.retryAfterMs ?? this.opts.retryBackoffMs, 60_000), this.abort.signal))) break;
      } else {
        log.warn('push failed again; the next interval pushes fresh data', { reason: decision.reason, err: this.explain(outcome) });
      }
    }
    metrics.pushes.inc({ url: displayUrl, result: 'failed' });
    metrics.duration.observe({ url: displayUrl }, (performance.now() - started) / 1000);
  }

  private explain(outcome: HttpOutcome): string {
    return outcome.kind === 'network-error' ? outcome.message : `HTTP ${outcome.status}: ${outcome.bodyPreview.slice(0, 200)}`;
  }
}
