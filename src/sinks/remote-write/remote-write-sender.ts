import type { Logger } from '../../log/logger';
import type { HttpTransport } from '../../http/http-transport';
import { describeDrop, retryDelayMs } from '../../http/retry-policy';
import { sendWithRetries } from '../../http/send-with-retries';
import type { QueueDrop, QueueEntry, RequestQueue } from '../queue/request-queue';
import type { RemoteWriteMetrics } from './remote-write-metrics';

const DROP_MESSAGES: Readonly<Record<QueueDrop['reason'], string>> = {
  queue_full: 'queue full (--storage.max-bytes): dropped the oldest requests',
  too_old: 'dropped queued requests older than --storage.max-age',
  too_big: 'dropped a request larger than the whole queue (--storage.max-bytes)',
};

/** The headers the remote-write 1.0 spec requires (User-Agent is set by the transport). */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

export interface RetryOptions {
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly retryOn429: boolean;
}

export interface RemoteWriteSenderOptions {
  readonly name: string;
  /** Without credentials, for labels and logs. */
  readonly displayUrl: string;
  readonly transport: HttpTransport;
  readonly queue: RequestQueue;
  readonly metrics: RemoteWriteMetrics;
  readonly retry: RetryOptions;
  readonly log: Logger;
  readonly random?: () => number;
}

/**
 * Delivers one destination's queue: oldest first, one request in flight,
 * retries before anything newer (so no series ever goes out of order), the
 * identical bytes on every retry. 2xx acks; a non-retryable answer drops
 * the request (counted, logged once); 5xx, network errors and 429 (unless
 * disabled) are retried with capped exponential backoff and jitter,
 * honouring Retry-After.
 */
export class RemoteWriteSender {
  private readonly labels: { remote_name: string; url: string };
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly abort = new AbortController();

  constructor(private readonly opts: RemoteWriteSenderOptions) {
    this.labels = { remote_name: opts.name, url: opts.displayUrl };
    opts.metrics.trackQueue(this.labels, opts.queue);
    // Every series exists from the start at 0, so rate() and alerts see 0, not absence.
    for (const counter of [opts.metrics.samplesSent, opts.metrics.samplesFailed, opts.metrics.samplesRetried, opts.metrics.samplesReplayed]) counter.inc(this.labels, 0);
    for (const reason of ['refused', 'queue_full', 'too_old', 'too_big', 'storage_error']) opts.metrics.samplesDropped.inc({ ...this.labels, reason }, 0);
    opts.metrics.samplesPending.set(this.labels, opts.queue.pendingSamples);
    opts.metrics.samplesReplayed.inc(this.labels, opts.queue.replayedSamples);
    if (opts.queue.pendingEntries > 0) {
      opts.log.info('replaying the queued backlog before fresh data', { requests: opts.queue.pendingEntries, samples: opts.queue.pendingSamples });
    }
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Queues a poll's requests behind whatever is pending. */
  async enqueue(entries: readonly QueueEntry[]): Promise<void> {
    for (const entry of entries) {
      try {
        this.countDrops(await this.opts.queue.append(entry));
      } catch (error) {
        // Disk full or an I/O error: this request cannot be kept. Say so and count it; polling goes on.
        this.opts.metrics.samplesDropped.inc({ ...this.labels, reason: 'storage_error' }, entry.samples);
        this.opts.log.error('cannot queue a request, it is dropped', { err: error instanceof Error ? error.message : String(error), samples: entry.samples });
      }
    }
    this.opts.metrics.samplesPending.set(this.labels, this.opts.queue.pendingSamples);
    this.wake?.();
  }

  /**
   * Keeps delivering until the queue is empty or `deadlineMs` has passed,
   * then aborts what is in flight. What is left stays in the queue (a
   * durable queue keeps it for the next start).
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const timer = setTimeout(() => this.abort.abort(), deadlineMs);
    await this.loop;
    clearTimeout(timer);
    this.abort.abort();
    this.opts.transport.close();
    if (this.opts.queue.pendingEntries > 0) {
      this.opts.log.warn('stopped with requests not delivered', {
        pending_requests: this.opts.queue.pendingEntries,
        pending_samples: this.opts.queue.pendingSamples,
      });
    }
    await this.opts.queue.close();
  }

  private countDrops(drops: readonly QueueDrop[]): void {
    if (drops.length === 0) return;
    const byReason = new Map<string, { requests: number; samples: number }>();
    for (const drop of drops) {
      this.opts.metrics.samplesDropped.inc({ ...this.labels, reason: drop.reason }, drop.entry.samples);
      const sum = byReason.get(drop.reason) ?? { requests: 0, samples: 0 };
      sum.requests++;
      sum.samples += drop.entry.samples;
      byReason.set(drop.reason, sum);
    }
    for (const [reason, sum] of byReason) {
      this.opts.log.warn(DROP_MESSAGES[reason as QueueDrop['reason']], { reason, dropped_requests: sum.requests, dropped_samples: sum.samples });
    }
  }

  private async run(): Promise<void> {
    const { queue } = this.opts;
    while (!this.abort.signal.aborted) {
      const head = await queue.peek();
      const drops = queue.takeDrops();
      if (drops.length > 0) {
        this.countDrops(drops);
        this.opts.metrics.samplesPending.set(this.labels, queue.pendingSamples);
      }
      if (head === undefined) {
        if (this.stopping) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const delivered = await this.deliver(head);
      if (!delivered) return; // aborted: the head stays queued
      await queue.ack();
      this.opts.metrics.samplesPending.set(this.labels, queue.pendingSamples);
    }
  }

  /** Sends one entry until it is delivered or refused for good (true), or the sender is aborted (false). */
  private async deliver(entry: QueueEntry): Promise<boolean> {
    const { metrics, transport, retry, log } = this.opts;
    const backoff = { minMs: retry.minBackoffMs, maxMs: retry.maxBackoffMs };
    const result = await sendWithRetries(
      transport,
      (attempt) => ({
        method: 'POST',
        body: entry.body,
        headers: attempt === 0 ? { ...REMOTE_WRITE_HEADERS } : { ...REMOTE_WRITE_HEADERS, 'Retry-Attempt': String(attempt) },
      }),
      {
        maxAttempts: Infinity,
        retryOn429: retry.retryOn429,
        delayMs: (n, retryAfterMs) => retryDelayMs(n, retryAfterMs, backoff, this.opts.random),
      },
      {
        signal: this.abort.signal,
        onAttempt: ({ attempt, outcome, decision, retryInMs }) => {
          if (attempt > 0) metrics.samplesRetried.inc(this.labels, entry.samples);
          metrics.requestDuration.observe(this.labels, outcome.durationMs / 1000);
          metrics.requests.inc({ ...this.labels, code: outcome.kind === 'response' ? String(outcome.status) : decision.kind === 'retry' ? decision.reason : 'other' });
          if (decision.kind === 'success') return;
          metrics.samplesFailed.inc(this.labels, entry.samples);
          if (decision.kind !== 'retry' || retryInMs === undefined) return;
          // The first failure of a request is worth a warning; the rest of the series of retries only at debug.
          const logAt = attempt === 0 ? log.warn : log.debug;
          logAt('request failed, will retry', {
            reason: decision.reason,
            attempt: attempt + 1,
            retry_in_ms: Math.round(retryInMs),
            err: outcome.kind === 'network-error' ? outcome.message : outcome.bodyPreview.slice(0, 200),
          });
        },
      },
    );
    if (result.kind === 'aborted') return false; // the head stays queued
    const { decision, outcome, attempts } = result;
    if (decision.kind === 'success') {
      metrics.samplesSent.inc(this.labels, entry.samples);
      metrics.lastSuccess.set(this.labels, Date.now() / 1000);
      if (entry.samples > 0) metrics.highestSentTimestamp.set(this.labels, entry.maxTimestampMs / 1000);
      if (attempts > 1) log.info('delivered after retrying', { attempts, samples: entry.samples });
      return true;
    }
    if (decision.kind === 'drop') {
      metrics.samplesDropped.inc({ ...this.labels, reason: 'refused' }, entry.samples);
      log.error(describeDrop(decision.status, outcome.kind === 'response' ? outcome.bodyPreview : ''), { status: decision.status, samples: entry.samples });
      return true;
    }
    return false; // unreachable with unlimited attempts: a retryable failure is retried until aborted
  }
}
