import type { Registry } from 'prom-client';
import type { PushgatewayDestination } from '../../config/load-destinations';
import type { Logger } from '../../log/logger';
import { USER_AGENT } from '../../version';
import { createHttpTransport } from '../../http/http-transport';
import { redactUrl } from '../../log/redact-url';
import type { Sink } from '../sink';
import { groupUrl } from './grouping-key-path';
import type { PushgatewayMetrics } from './pushgateway-metrics';
import { PushgatewaySender } from './pushgateway-sender';

/** The wait before the one retry of a failed push. */
export const PUSH_RETRY_BACKOFF_MS = 1000;

/** One Pushgateway group: after each poll, PUT the registry's text there. */
export class PushgatewaySink implements Sink {
  private readonly sender: PushgatewaySender;

  constructor(registry: Registry, destination: PushgatewayDestination, metrics: PushgatewayMetrics, log: Logger) {
    const url = groupUrl(destination.http.url, destination.job, destination.groupingKey);
    const displayUrl = redactUrl(url);
    this.sender = new PushgatewaySender({
      displayUrl,
      transport: createHttpTransport({ ...destination.http, url }, USER_AGENT, { settingPrefix: '--pushgateway' }),
      metrics,
      log: log.with({ component: 'pushgateway', url: displayUrl }),
      retryBackoffMs: PUSH_RETRY_BACKOFF_MS,
      deleteOnShutdown: destination.deleteOnShutdown,
      render: () => registry.metrics(),
    });
  }

  async afterPoll(): Promise<void> {
    this.sender.push();
  }

  stop(deadlineMs: number): Promise<void> {
    return this.sender.stop(deadlineMs);
  }
}
