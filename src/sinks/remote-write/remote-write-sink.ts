import type { RemoteWriteOptions } from './remote-write-options';
import type { Logger } from '../../log/logger';
import { USER_AGENT } from '../../version';
import { createHttpTransport } from '../../http/http-transport';
import { redactUrl } from '../../log/redact-url';
import type { RequestQueue } from '../queue/request-queue';
import type { PushUnit, Sink } from '../sink';
import type { RemoteWriteMetrics } from './remote-write-metrics';
import { RemoteWriteSender } from './remote-write-sender';
import { RemoteWrite1Encoder, type RemoteWriteEncoder } from './remote-write-encoder';

/**
 * One remote-write destination: after each poll of a target, its samples are
 * encoded (one timestamp for the poll, stale markers for the target's
 * vanished series, job and instance as external labels) and queued; the
 * sender delivers the queue in order. One encoder per target, so one
 * bridge's failed poll marks only its own series stale.
 */
export class RemoteWriteSink implements Sink {
  private readonly encoders = new Map<string, RemoteWriteEncoder>();
  private readonly sender: RemoteWriteSender;

  constructor(
    private readonly destination: RemoteWriteOptions,
    queue: RequestQueue,
    metrics: RemoteWriteMetrics,
    log: Logger,
  ) {
    const displayUrl = redactUrl(destination.http.url);
    this.sender = new RemoteWriteSender({
      name: destination.name,
      urlSetting: destination.urlSetting,
      displayUrl,
      transport: createHttpTransport(destination.http, USER_AGENT),
      queue,
      metrics,
      retry: { minBackoffMs: destination.minBackoffMs, maxBackoffMs: destination.maxBackoffMs, retryOn429: destination.retryOn429 },
      log: log.with({ component: 'remote_write', remote_name: destination.name, url: displayUrl }),
    });
    this.sender.start();
  }

  async afterPoll(unit: PushUnit): Promise<void> {
    let encoder = this.encoders.get(unit.key);
    if (encoder === undefined) {
      encoder = new RemoteWrite1Encoder({
        maxSamplesPerRequest: this.destination.maxSamplesPerRequest,
        // A destination's own job/instance (single bridge only) wins over the target's.
        externalLabels: { job: this.destination.job ?? unit.job, instance: this.destination.instance ?? unit.instance },
      });
      this.encoders.set(unit.key, encoder);
    }
    await this.sender.enqueue(encoder.encodePoll(await unit.families(), unit.timestampMs));
  }

  /** Stale markers for every series the target had, then its state is forgotten. */
  async retire(key: string, timestampMs: number): Promise<void> {
    const encoder = this.encoders.get(key);
    if (encoder === undefined) return;
    this.encoders.delete(key);
    await this.sender.enqueue(encoder.encodePoll([], timestampMs));
  }

  stop(deadlineMs: number): Promise<void> {
    return this.sender.stop(deadlineMs);
  }
}
