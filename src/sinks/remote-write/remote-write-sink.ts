import type { RemoteWriteDestination } from '../../config/load-destinations';
import type { Logger } from '../../log/logger';
import { USER_AGENT } from '../../version';
import { createHttpTransport } from '../../http/http-transport';
import { redactUrl } from '../../log/redact-url';
import type { RequestQueue } from '../queue/request-queue';
import type { PolledMetrics, Sink } from '../sink';
import type { RemoteWriteMetrics } from './remote-write-metrics';
import { RemoteWriteSender } from './remote-write-sender';
import { WriteRequestEncoder } from './write-request-encoder';

/**
 * One remote-write destination: after each poll, the registry's samples are
 * encoded (one timestamp for the poll, stale markers for vanished series)
 * and queued; the sender delivers the queue in order.
 */
export class RemoteWriteSink implements Sink {
  private readonly encoder: WriteRequestEncoder;
  private readonly sender: RemoteWriteSender;

  constructor(
    destination: RemoteWriteDestination,
    queue: RequestQueue,
    metrics: RemoteWriteMetrics,
    log: Logger,
  ) {
    const displayUrl = redactUrl(destination.http.url);
    this.encoder = new WriteRequestEncoder({ maxSamplesPerRequest: destination.maxSamplesPerRequest, externalLabels: destination.externalLabels });
    this.sender = new RemoteWriteSender({
      name: destination.name,
      displayUrl,
      transport: createHttpTransport(destination.http, USER_AGENT, { settingPrefix: '--remote-write' }),
      queue,
      metrics,
      retry: { minBackoffMs: destination.minBackoffMs, maxBackoffMs: destination.maxBackoffMs, retryOn429: destination.retryOn429 },
      log: log.with({ component: 'remote_write', remote_name: destination.name, url: displayUrl }),
    });
    this.sender.start();
  }

  async afterPoll(poll: PolledMetrics): Promise<void> {
    await this.sender.enqueue(this.encoder.encodePoll(await poll.families(), poll.timestampMs));
  }

  stop(deadlineMs: number): Promise<void> {
    return this.sender.stop(deadlineMs);
  }
}
