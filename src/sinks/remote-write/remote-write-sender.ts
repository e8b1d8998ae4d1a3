import type { Logger } from '../../log/logger';
import { ConditionLog, describeDuration } from '../../log/condition-log';
import type { HttpOutcome, HttpTransport } from '../../http/http-transport';
import { abortableSleep } from '../../http/abortable-sleep';
import { describeDrop, nextBackoffMs } from '../../http/retry-policy';
import type { QueueDrop, QueueDropReason, QueueEntry, RequestQueue } from '../queue/request-queue';
import { DROP_REASONS, dropMessage, QUEUE_OPERATIONS, errorText, isDiskFull, type QueueOperation } from './drop-reasons';
import { looksLikeHtml } from '../html-answer';
import type { RemoteWriteMetrics } from './remote-write-metrics';
import { WRITE_REQUEST_V1, type ProtobufMessage } from './remote-write-options';
import { MessageChoice, REMOTE_WRITE_2_HEADERS, REMOTE_WRITE_HEADERS, ignoredV2, writtenCounts } from './protobuf-message';
import { isV2RequestBody, v2RequestToV1 } from './v2-to-v1';
import { sendCounted } from './send-counted';
import { isAuthRefusal, type AuthHold } from './auth-hold';

export { REMOTE_WRITE_HEADERS } from './protobuf-message';
export { DROP_REASONS, QUEUE_OPERATIONS } from './drop-reasons';

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
  /** Milliseconds clock of the condition logs (default Date.now); for tests. */
  readonly now?: () => number;
  /** How the user named the URL (a flag, a file entry), for the warnings that point at it. */
  readonly urlSetting: string;
  /** The message configured (default 1.0); 2.0 falls back to 1.0 when the receiver does not read it (protobuf-message.ts). */
  readonly protobufMessage?: ProtobufMessage;
  /** How the user named that setting, for the fallback's log line. */
  readonly protobufMessageSetting?: string;
  /** Holds the queue on 401/403 instead of dropping (on-auth-error: hold); absent: such requests are dropped. */
  readonly authHold?: AuthHold;
}

/**
 * Delivers one destination's queue: oldest first, one request in flight,
 * retries before anything newer (so no series ever goes out of order), the
 * identical bytes on every retry. 2xx acks; a non-retryable answer drops
 * the request (counted); 5xx, network errors and 429 (unless disabled) are
 * retried with capped exponential backoff and jitter, honouring Retry-After.
 *
 * Logs follow one rule for conditions that repeat (ConditionLog): an
 * outage, a refusal (per status), drops (per reason), a full disk and
 * queue errors are logged when they start, at most once a minute while they
 * last, and once when they end. An error of the queue never stops the
 * sender: it is logged, counted in jvb_remote_write_queue_errors_total, and
 * the operation is tried again after a backoff (the disk queue rebuilds
 * itself from the directory).
 */
export class RemoteWriteSender {
  private readonly labels: { remote_name: string; url: string };
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly choice: MessageChoice;

  private readonly outage: ConditionLog;
  private readonly refusals = new Map<number, ConditionLog>();
  private readonly drops = new Map<QueueDropReason, ConditionLog>();
  private readonly diskFull: ConditionLog;
  private readonly storage: ConditionLog;
  private delivered = false;
  private htmlWarned = false;
  /** After an outage with requests waiting: what has been delivered since it ended, until the queue is empty. */
  private backlog: { since: number; requests: number; samples: number } | undefined;

  constructor(private readonly opts: RemoteWriteSenderOptions) {
    this.labels = { remote_name: opts.name, url: opts.displayUrl };
    this.now = opts.now ?? Date.now;
    const clock = { now: this.now };
    this.outage = new ConditionLog(opts.log, clock);
    this.diskFull = new ConditionLog(opts.log, { ...clock, level: 'error' });
    this.storage = new ConditionLog(opts.log, { ...clock, level: 'error' });
    opts.metrics.trackQueue(this.labels, opts.queue);
    this.choice = new MessageChoice(opts.protobufMessage ?? WRITE_REQUEST_V1, this.labels, opts.metrics, opts.log, opts.protobufMessageSetting ?? '--remote-write.protobuf-message');
    // Every series exists from the start at 0, so rate() and alerts see 0, not absence.
    for (const counter of [opts.metrics.samplesSent, opts.metrics.samplesFailed, opts.metrics.samplesRetried, opts.metrics.samplesReplayed]) counter.inc(this.labels, 0);
    for (const reason of DROP_REASONS) opts.metrics.samplesDropped.inc({ ...this.labels, reason }, 0);
    for (const operation of QUEUE_OPERATIONS) opts.metrics.queueErrors.inc({ ...this.labels, operation }, 0);
    opts.metrics.samplesPending.set(this.labels, opts.queue.pendingSamples);
    opts.metrics.samplesReplayed.inc(this.labels, opts.queue.replayedSamples);
    if (opts.queue.pendingEntries > 0) {
      opts.log.info('replaying the queued backlog before fresh data', { requests: opts.queue.pendingEntries, samples: opts.queue.pendingSamples });
    }
  }

  /** The message the destination is written with now (2.0 until a fallback, when configured so). */
  get protobufMessage(): ProtobufMessage {
    return this.choice.message;
  }

  start(): void {
    this.loop ??= this.runUntilStopped();
  }

  /** Queues a poll's requests behind whatever is pending. Never rejects. */
  async enqueue(entries: readonly QueueEntry[]): Promise<void> {
    for (const entry of entries) await this.appendOne(entry);
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
    this.opts.authHold?.stop();
    this.wake?.();
    const timer = setTimeout(() => this.abort.abort(), deadlineMs);
    await this.loop;
    clearTimeout(timer);
    // Conditions still going say what they cost in all, not only what their first line said.
    for (const [status, refusal] of this.refusals) refusal.end('stopped while the receiver refused requests', { refused_status: status });
    for (const [reason, condition] of this.drops) condition.end('stopped while requests were being dropped', { reason });
    this.abort.abort();
    this.opts.transport.close();
    if (this.opts.queue.pendingEntries > 0) {
      this.opts.log.warn('stopped with requests not delivered', {
        pending_requests: this.opts.queue.pendingEntries,
        pending_samples: this.opts.queue.pendingSamples,
      });
    }
    try {
      await this.opts.queue.close();
    } catch (error) {
      this.opts.log.error('could not close the queue', { err: errorText(error) });
    }
  }

  /** A reload: a destination held on refused credentials tries its head request now. */
  retryHeld(): void {
    this.opts.authHold?.retry();
  }

  /** Appends one entry; an I/O error gets one more try (the disk queue rebuilds itself first); then the entry is dropped and counted. */
  private async appendOne(entry: QueueEntry): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const drops = await this.opts.queue.append(entry);
        this.queueWorks('append');
        this.countDrops(drops);
        return;
      } catch (error) {
        lastError = error;
        // A full disk was already retried by the queue, and a malformed entry stays malformed.
        const retry = attempt === 0 && !isDiskFull(error) && !(error instanceof RangeError);
        this.queueFailed('append', error, retry ? {} : { dropped_requests: 1, dropped_samples: entry.samples });
        if (!retry) break;
      }
    }
    this.opts.metrics.samplesDropped.inc({ ...this.labels, reason: 'storage_error' }, entry.samples);
    this.opts.log.debug('could not queue a request, it is dropped', { err: errorText(lastError), samples: entry.samples });
  }

  /** Counts and logs a queue error (one condition for a full disk, one for the rest). */
  private queueFailed(operation: QueueOperation, error: unknown, counts: Record<string, number> = {}): void {
    this.opts.metrics.queueErrors.inc({ ...this.labels, operation });
    const err = errorText(error);
    const code = (error as { code?: unknown } | undefined)?.code;
    const fields = { operation, err, ...(typeof code === 'string' ? { code } : {}) };
    const logged = isDiskFull(error)
      ? this.diskFull.report('the disk of the queue is full (--storage.path): requests that cannot be queued are dropped', fields, { errors: 1, ...counts })
      : this.storage.report('the queue on disk failed; it is rebuilt from what is on disk and the operation tried again', fields, { errors: 1, ...counts });
    if (!logged) this.opts.log.debug('queue error', fields);
  }

  private queueWorks(operation: QueueOperation): void {
    this.storage.end('the queue on disk works again');
    if (operation === 'append') this.diskFull.end('the disk of the queue has room again: requests are queued');
  }

  private countDrops(drops: readonly QueueDrop[]): void {
    if (drops.length === 0) return;
    const byReason = new Map<QueueDropReason, { requests: number; samples: number; unknown: number }>();
    for (const drop of drops) {
      // A damaged record whose samples are not known (no tally to count it by): at least one was lost.
      const samples = drop.samplesUnknown ? 1 : drop.entry.samples;
      this.opts.metrics.samplesDropped.inc({ ...this.labels, reason: drop.reason }, samples);
      const sum = byReason.get(drop.reason) ?? { requests: 0, samples: 0, unknown: 0 };
      sum.requests += drop.requests ?? 1;
      sum.samples += samples;
      if (drop.samplesUnknown) sum.unknown++;
      byReason.set(drop.reason, sum);
    }
    for (const [reason, sum] of byReason) {
      let condition = this.drops.get(reason);
      if (condition === undefined) {
        condition = new ConditionLog(this.opts.log, { now: this.now });
        this.drops.set(reason, condition);
      }
      const counts: Record<string, number> = { dropped_requests: sum.requests, dropped_samples: sum.samples };
      if (sum.unknown > 0) counts['samples_unknown_records'] = sum.unknown;
      condition.report(dropMessage(reason, sum.unknown), { reason }, counts);
    }
  }

  /** Runs the delivery loop until stopped; a throw nobody expected is logged and the loop starts again. */
  private async runUntilStopped(): Promise<void> {
    for (let failures = 0; ; failures++) {
      try {
        await this.run();
        return;
      } catch (error) {
        this.opts.log.error('remote-write sender failed; starting again', { err: errorText(error) });
        if (!(await this.pause(failures))) return;
      }
    }
  }

  private async run(): Promise<void> {
    const { queue } = this.opts;
    let queueFailures = 0;
    while (!this.abort.signal.aborted) {
      let head: QueueEntry | undefined;
      try {
        head = await queue.peek();
        this.queueWorks('peek');
      } catch (error) {
        this.queueFailed('peek', error);
        if (!(await this.pause(queueFailures++))) return;
        continue;
      }
      let drops: QueueDrop[] = [];
      try {
        drops = queue.takeDrops();
      } catch (error) {
        this.queueFailed('take_drops', error);
      }
      if (drops.length > 0) {
        this.countDrops(drops);
        this.opts.metrics.samplesPending.set(this.labels, queue.pendingSamples);
      }
      if (head === undefined) {
        this.caughtUp();
        if (this.stopping) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const delivered = await this.deliver(head);
      if (!delivered) return; // aborted: the head stays queued
      try {
        await queue.ack();
        this.queueWorks('ack');
        queueFailures = 0;
      } catch (error) {
        // The entry may come back after the rebuild and be sent again: at least once.
        this.queueFailed('ack', error);
        if (!(await this.pause(queueFailures++))) return;
      }
      this.opts.metrics.samplesPending.set(this.labels, queue.pendingSamples);
    }
  }

  /** The wait after the n-th failure in a row (0 first), cut short by the abort; false when the sender should stop instead. */
  private async pause(n: number): Promise<boolean> {
    if (this.stopping || this.abort.signal.aborted) return false;
    const ms = nextBackoffMs(n + 1, { minMs: this.opts.retry.minBackoffMs, maxMs: this.opts.retry.maxBackoffMs }, this.opts.random);
    await abortableSleep(ms, this.abort.signal);
    return !this.abort.signal.aborted;
  }

  /** The queue is empty: the conditions about drops are over, and a backlog left by an outage is delivered. */
  private caughtUp(): void {
    for (const [reason, condition] of this.drops) condition.end('no more requests dropped: the queue is caught up', { reason });
    if (this.backlog !== undefined) {
      const { since, requests, samples } = this.backlog;
      this.backlog = undefined;
      this.opts.log.info('caught up: the requests queued during the outage are delivered', {
        delivered_requests: requests,
        delivered_samples: samples,
        took: describeDuration(this.now() - since),
      });
    }
  }

  /**
   * Sends one entry until it is delivered or refused for good (true), or the
   * sender is aborted (false). A 2.0 body goes out as 1.0 once the
   * destination has fallen back; an answer showing that the receiver did
   * not read 2.0 makes it fall back and the same entry is sent again.
   */
  private async deliver(entry: QueueEntry): Promise<boolean> {
    const { metrics, log } = this.opts;
    const isV2 = isV2RequestBody(entry.body);
    const asV2 = isV2 && this.choice.v2;
    let body = entry.body;
    if (isV2 && !asV2) {
      try {
        body = v2RequestToV1(entry.body);
      } catch (error) {
        metrics.samplesDropped.inc({ ...this.labels, reason: 'corrupt' }, entry.samples);
        log.error('a queued remote-write 2.0 request could not be read to send it as 1.0; it is dropped', { err: errorText(error), samples: entry.samples });
        return true;
      }
    }
    const result = await sendCounted(
      { ...this.opts, labels: this.labels, outage: this.outage, signal: this.abort.signal },
      entry,
      body,
      asV2 ? REMOTE_WRITE_2_HEADERS : REMOTE_WRITE_HEADERS,
    );
    if (result.kind === 'aborted') return false; // the head stays queued
    const { decision, outcome } = result;
    if (asV2 && ignoredV2(outcome)) {
      this.choice.fallBack(outcome);
      return this.deliver(entry);
    }
    // A 2.0 receiver says how much it wrote; the rest of the request counts as refused.
    const written = asV2 ? writtenCounts(outcome) : undefined;
    const writtenSamples = written === undefined ? undefined : Math.min(entry.samples, written.samples + written.histograms);
    if (decision.kind === 'success' || decision.kind === 'drop') this.outageOver();
    if (decision.kind === 'drop' && this.opts.authHold !== undefined && isAuthRefusal(decision.status)) {
      // Held, not dropped: the same request again once the credentials may have changed (auth-hold.ts).
      const queued = { requests: this.opts.queue.pendingEntries, samples: this.opts.queue.pendingSamples };
      return (await this.opts.authHold.wait(decision.status, this.abort.signal, queued)) && this.deliver(entry);
    }
    if (decision.kind === 'success') {
      const sent = writtenSamples ?? entry.samples;
      metrics.samplesSent.inc(this.labels, sent);
      if (sent < entry.samples) metrics.samplesDropped.inc({ ...this.labels, reason: 'refused' }, entry.samples - sent);
      metrics.lastSuccess.set(this.labels, Date.now() / 1000);
      this.opts.authHold?.accepted({ requests: this.opts.queue.pendingEntries, samples: this.opts.queue.pendingSamples });
      if (entry.samples > 0) metrics.highestSentTimestamp.set(this.labels, entry.maxTimestampMs / 1000);
      this.accepted(entry, outcome);
      return true;
    }
    if (decision.kind === 'drop') {
      if (writtenSamples !== undefined) metrics.samplesSent.inc(this.labels, writtenSamples);
      const refused = entry.samples - (writtenSamples ?? 0);
      metrics.samplesDropped.inc({ ...this.labels, reason: 'refused' }, refused);
      let refusal = this.refusals.get(decision.status);
      if (refusal === undefined) {
        refusal = new ConditionLog(log, { now: this.now, level: 'error' });
        this.refusals.set(decision.status, refusal);
      }
      // A request with no samples carries only metadata (HELP, TYPE): counted as such, not as "0 samples refused".
      const counts: Record<string, number> = entry.samples === 0 ? { refused_requests: 1, refused_metadata_requests: 1 } : { refused_requests: 1, refused_samples: refused };
      refusal.report(describeDrop(decision.status, outcome.kind === 'response' ? outcome.bodyPreview : ''), { status: decision.status }, counts);
      return true;
    }
    return false; // unreachable with unlimited attempts: a retryable failure is retried until aborted
  }

  /** The receiver answered (2xx or a refusal): an outage is over; what waits in the queue is now delivered. */
  private outageOver(): void {
    const { queue } = this.opts;
    if (!this.outage.active) return;
    this.outage.end('the receiver answers again; delivering what was queued meanwhile', {
      queued_requests: queue.pendingEntries,
      queued_samples: queue.pendingSamples,
    });
    this.backlog = { since: this.now(), requests: 0, samples: 0 };
  }

  private accepted(entry: QueueEntry, outcome: HttpOutcome): void {
    const { log } = this.opts;
    if (!this.delivered && entry.samples > 0) {
      // The first request carrying samples (one with metadata only may go first): "samples=0" would read as nothing sent.
      this.delivered = true;
      log.info('first request delivered to the destination', { samples: entry.samples, status: outcome.kind === 'response' ? outcome.status : 0 });
    }
    if (this.backlog !== undefined) {
      this.backlog.requests++;
      this.backlog.samples += entry.samples;
    }
    for (const [status, refusal] of this.refusals) refusal.end('the receiver accepts requests again', { refused_status: status });
    if (!this.htmlWarned && looksLikeHtml(outcome)) {
      this.htmlWarned = true;
      const setting = this.opts.urlSetting;
      log.warn(
        `the receiver answered ${outcome.kind === 'response' ? outcome.status : '2xx'} with an HTML page: that is a web UI (Grafana's, Prometheus'), not a remote-write endpoint, and the data is most likely not stored; ` +
          `check ${setting} (Prometheus: /api/v1/write, Mimir: /api/v1/push, Grafana Cloud: /api/prom/push, Thanos: /api/v1/receive, VictoriaMetrics: /api/v1/write)`,
        { content_type: outcome.kind === 'response' ? (outcome.headers['content-type'] ?? '') : '' },
      );
    }
  }
}
