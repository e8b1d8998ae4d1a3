import type { PushgatewayOptions } from './pushgateway-options';
import type { Logger } from '../../log/logger';
import { USER_AGENT } from '../../version';
import { createHttpTransport } from '../../http/http-transport';
import { redactUrl } from '../../log/redact-url';
import type { PushUnit, Sink } from '../sink';
import { groupUrl } from './grouping-key-path';
import type { PushgatewayMetrics } from './pushgateway-metrics';
import { PushgatewaySender } from './pushgateway-sender';
import { OutcomeRecord } from '../../status/outcome-record';
import type { DestinationStatus } from '../../status/status-model';
import { observeTransport } from '../observed-transport';

/** The wait before the one retry of a failed push. */
export const PUSH_RETRY_BACKOFF_MS = 1000;

/** One Pushgateway: after each poll of a target, PUT its text to the target's own group (job, instance, grouping labels). */
export class PushgatewaySink implements Sink {
  private readonly senders = new Map<string, PushgatewaySender>();
  /** Its pushes' (every group's) last success and failure, for the status page. */
  private readonly pushes = new OutcomeRecord<{ status: number | null }>();

  constructor(
    private readonly destination: PushgatewayOptions,
    private readonly metrics: PushgatewayMetrics,
    private readonly log: Logger,
  ) {}

  async afterPoll(unit: PushUnit): Promise<void> {
    let sender = this.senders.get(unit.key);
    if (sender === undefined) {
      const { destination } = this;
      const url = groupUrl(destination.http.url, destination.job ?? unit.job, [['instance', destination.instance ?? unit.instance], ...destination.grouping]);
      const displayUrl = redactUrl(url);
      sender = new PushgatewaySender({
        displayUrl,
        transport: observeTransport(createHttpTransport({ ...destination.http, url }, USER_AGENT), this.pushes),
        metrics: this.metrics,
        log: this.log.with({ component: 'pushgateway', url: displayUrl }),
        retryBackoffMs: PUSH_RETRY_BACKOFF_MS,
        deleteOnShutdown: destination.deleteOnShutdown,
      });
      this.senders.set(unit.key, sender);
    }
    sender.push(unit.text);
  }

  /**
   * A target removed by a reload: its group is deleted (whatever
   * --pushgateway.delete-on-shutdown says), or it would stay on the gateway
   * with its last values (`jvb_up` frozen) for ever. Not when another
   * target still pushes to the same group (a fixed instance).
   */
  async retire(key: string): Promise<void> {
    const sender = this.senders.get(key);
    if (sender === undefined) return;
    this.senders.delete(key);
    const shared = [...this.senders.values()].some((other) => other.url === sender.url);
    await sender.stop(PUSH_RETRY_BACKOFF_MS * 5, shared ? 'keep' : 'removed');
  }

  async status(): Promise<DestinationStatus> {
    return {
      kind: 'pushgateway',
      name: '',
      url: redactUrl(this.destination.http.url),
      protobufMessage: null,
      protobufMessageConfigured: null,
      lastSuccess: this.pushes.lastSuccess,
      lastError: this.pushes.lastError,
      queue: null,
      samplesSent: null,
      samplesDropped: {},
      held: false,
    };
  }

  async stop(deadlineMs: number): Promise<void> {
    await Promise.all([...this.senders.values()].map((sender) => sender.stop(deadlineMs)));
  }
}
