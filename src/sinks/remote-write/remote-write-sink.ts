import { WRITE_REQUEST_V2, type RemoteWriteOptions } from './remote-write-options';
import type { Logger } from '../../log/logger';
import { ConditionLog } from '../../log/condition-log';
import { USER_AGENT } from '../../version';
import { createHttpTransport } from '../../http/http-transport';
import { redactUrl } from '../../log/redact-url';
import type { RequestQueue } from '../queue/request-queue';
import type { PushUnit, Sink } from '../sink';
import type { RemoteWriteMetrics } from './remote-write-metrics';
import { RemoteWriteSender } from './remote-write-sender';
import { RemoteWrite1Encoder, type RemoteWriteEncoder } from './remote-write-encoder';
import { RemoteWrite2Encoder } from './remote-write-2-encoder';
import { OutcomeRecord } from '../../status/outcome-record';
import type { DestinationStatus } from '../../status/status-model';
import { observeTransport } from '../observed-transport';
import { queueMaxBytes, remoteWriteStatus, type QueueLimits } from './remote-write-status';
import { AuthHold, type AuthHoldOptions } from './auth-hold';
import type { TimestampRefusal } from './sample-timestamps';

/** One target's encoder, and the condition of its samples refused for their timestamps. */
interface HeldEncoder {
  encoder: RemoteWriteEncoder;
  v2: boolean;
  refused: ConditionLog;
}
import type { LabelledFamilies } from '../../model/metric-family';

/** The encoder key of the agent's own metrics travelling with a target: the target's key and this. */
const SELF_KEY = '\u0000self';

/**
 * One remote-write destination: after each poll of a target, its samples are
 * encoded (one timestamp for the poll, stale markers for the target's
 * vanished series, job and instance as external labels) and queued; the
 * sender delivers the queue in order. One encoder per target, so one
 * bridge's failed poll marks only its own series stale.
 *
 * A 2.0 destination whose receiver turns out not to read 2.0 is switched to
 * 1.0 by its sender (protobuf-message.ts), which sends what is queued as 1.0
 * from then on; each target's next poll then goes through its 2.0 encoder
 * once more (so the stale markers it owes are sent) and primes a 1.0
 * encoder that takes over.
 */
export class RemoteWriteSink implements Sink {
  private readonly encoders = new Map<string, HeldEncoder>();
  private readonly log: Logger;
  private readonly sender: RemoteWriteSender;
  /** Its requests' last success and failure, for the status page. */
  private readonly requests = new OutcomeRecord<{ status: number | null }>();
  private readonly displayUrl: string;

  constructor(
    private readonly destination: RemoteWriteOptions,
    private readonly queue: RequestQueue,
    private readonly metrics: RemoteWriteMetrics,
    log: Logger,
    /** Shown on the status page beside the queue's size. */
    private readonly limits: QueueLimits = { maxBytes: Infinity, maxAgeMs: Infinity },
    /** Timings of the hold on refused credentials (tests); the defaults are auth-hold.ts'. */
    holdTimings: Pick<AuthHoldOptions, 'minRetryMs' | 'maxRetryMs' | 'filePollMs'> = {},
  ) {
    const displayUrl = redactUrl(destination.http.url);
    this.displayUrl = displayUrl;
    const senderLog = log.with({ component: 'remote_write', remote_name: destination.name, url: displayUrl });
    this.log = senderLog;
    const { basicAuth, bearerTokenFile } = destination.http;
    const authHold =
      destination.onAuthError === 'hold'
        ? new AuthHold({
            ...holdTimings,
            credentialFiles: [...(basicAuth !== undefined && 'passwordFile' in basicAuth ? [basicAuth.passwordFile] : []), ...(bearerTokenFile !== undefined ? [bearerTokenFile] : [])],
            credentialSettings: destination.credentialSettings,
            log: senderLog,
            gauge: { set: (value) => metrics.authHeld.set({ remote_name: destination.name, url: displayUrl }, value) },
          })
        : undefined;
    this.sender = new RemoteWriteSender({
      name: destination.name,
      urlSetting: destination.urlSetting,
      displayUrl,
      transport: observeTransport(createHttpTransport(destination.http, USER_AGENT), this.requests),
      queue,
      metrics,
      retry: { minBackoffMs: destination.minBackoffMs, maxBackoffMs: destination.maxBackoffMs, retryOn429: destination.retryOn429 },
      log: senderLog,
      ...(authHold !== undefined ? { authHold } : {}),
      protobufMessage: destination.protobufMessage,
      protobufMessageSetting: destination.protobufMessageSetting,
    });
    metrics.trackBounds({ remote_name: destination.name, url: displayUrl }, () => ({
      bytes: queueMaxBytes(queue, this.limits),
      ageSeconds: Number.isFinite(this.limits.maxAgeMs) ? this.limits.maxAgeMs / 1000 : 0,
    }));
    this.sender.start();
  }

  async afterPoll(unit: PushUnit): Promise<void> {
    await this.encodePoll(unit.key, unit, await unit.families());
    // The agent's own metrics travelling with this target: read at their own cadence, so their series have an encoder (staleness) of their own.
    const selfKey = unit.key + SELF_KEY;
    if (unit.self === undefined) await this.retireOne(selfKey, unit.timestampMs);
    else if (unit.self.fresh) await this.encodePoll(selfKey, unit, await unit.self.families());
  }

  private async encodePoll(key: string, unit: PushUnit, groups: readonly LabelledFamilies[]): Promise<void> {
    const v2 = this.sender.protobufMessage === WRITE_REQUEST_V2;
    let held = this.encoders.get(key);
    if (held === undefined) {
      held = { encoder: this.encoder(unit, v2), v2, refused: new ConditionLog(this.log.with({ target: unit.instance })) };
      this.encoders.set(key, held);
    }
    if (held.v2 && !v2) {
      // Fell back: the 2.0 encoder's last requests carry this poll and its stale markers (the sender sends them as 1.0).
      const last = held.encoder.encodePoll(groups, unit.timestampMs);
      this.countRefusals(held);
      const next = this.encoder(unit, false);
      next.encodePoll(groups, unit.timestampMs); // (primes it: which series are live, their last samples; its output is the same samples)
      this.encoders.set(key, { ...held, encoder: next, v2: false });
      await this.sender.enqueue(last);
      return;
    }
    const requests = held.encoder.encodePoll(groups, unit.timestampMs);
    this.countRefusals(held);
    await this.sender.enqueue(requests);
  }

  /**
   * Samples the poll left out for their timestamps: counted by reason, and
   * logged (per family) when that starts, then at most once a minute while
   * every poll has some, then when a poll has none.
   */
  private countRefusals(held: HeldEncoder): void {
    const refusals: readonly TimestampRefusal[] = held.encoder.refusals;
    if (refusals.length === 0) {
      held.refused.end('no more samples left out for their timestamps');
      return;
    }
    const labels = { remote_name: this.destination.name, url: this.displayUrl };
    let samples = 0;
    for (const { reason, samples: n } of refusals) {
      this.metrics.samplesDropped.inc({ ...labels, reason }, n);
      samples += n;
    }
    const families = refusals.map((r) => `${r.family}:${r.reason}:${r.samples}`).join(',');
    const message = 'samples left out for their timestamps, as a Prometheus scrape would refuse them (too old, too far ahead, out of order or a duplicate)';
    if (!held.refused.report(message, { families }, { refused_samples: samples })) this.log.debug(message, { families });
  }

  private encoder(unit: PushUnit, v2: boolean): RemoteWriteEncoder {
    const options = {
      maxSamplesPerRequest: this.destination.maxSamplesPerRequest,
      // A destination's own job/instance (single bridge only) wins over the target's.
      externalLabels: { job: this.destination.job ?? unit.job, instance: this.destination.instance ?? unit.instance },
    };
    return v2 ? new RemoteWrite2Encoder(options) : new RemoteWrite1Encoder(options);
  }

  /** Stale markers for every series the target had (the agent's own metrics that travelled with it included), then its state is forgotten. */
  async retire(key: string, timestampMs: number): Promise<void> {
    await this.retireOne(key, timestampMs);
    await this.retireOne(key + SELF_KEY, timestampMs);
  }

  private async retireOne(key: string, timestampMs: number): Promise<void> {
    const held = this.encoders.get(key);
    if (held === undefined) return;
    this.encoders.delete(key);
    await this.sender.enqueue(held.encoder.encodePoll([], timestampMs));
  }

  status(): Promise<DestinationStatus> {
    const { destination, queue, metrics, limits, requests, displayUrl } = this;
    return remoteWriteStatus({
      name: destination.name,
      displayUrl,
      messageNow: this.sender.protobufMessage,
      messageConfigured: destination.protobufMessage,
      queue,
      limits,
      metrics,
      requests,
    });
  }

  retryHeld(): void {
    this.sender.retryHeld();
  }

  stop(deadlineMs: number): Promise<void> {
    return this.sender.stop(deadlineMs);
  }
}
