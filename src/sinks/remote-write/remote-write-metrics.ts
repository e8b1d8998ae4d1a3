import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RequestQueue } from '../queue/request-queue';

type DestinationLabels = { remote_name: string; url: string };

/**
 * Self metrics of every remote-write destination, declared together and
 * labelled by destination the way Prometheus labels its own
 * (prometheus_remote_storage_*{remote_name, url}), so existing dashboards
 * and alerts read them naturally.
 */
export function createRemoteWriteMetrics(registry: Registry, now: () => number = Date.now) {
  const registers = [registry];
  const labelNames = ['remote_name', 'url'] as const;
  // Read off the queues at scrape time: their size and age change between polls too.
  const queues = new Map<string, { labels: DestinationLabels; queue: RequestQueue }>();
  const bounds = new Map<string, { labels: DestinationLabels; bound: () => { readonly bytes: number; readonly ageSeconds: number } }>();
  return {
    /** Reports this destination's queue bounds from now on (the byte bound in force can be lowered by the free space). */
    trackBounds(labels: DestinationLabels, bound: () => { readonly bytes: number; readonly ageSeconds: number }): void {
      bounds.set(`${labels.remote_name}\u0000${labels.url}`, { labels, bound });
    },
    queueMaxBytes: new Gauge({
      name: 'jvb_remote_write_queue_max_bytes',
      help: 'The byte bound of the destination\'s queue in force: --storage.max-bytes, or less when the free space of --storage.path is smaller.',
      labelNames,
      registers,
      collect() {
        for (const { labels, bound } of bounds.values()) this.set(labels, bound().bytes);
      },
    }),
    queueMaxAge: new Gauge({
      name: 'jvb_remote_write_queue_max_age_seconds',
      help: 'The age bound of the destination\'s queue (--storage.max-age), in seconds; queued data older than this is dropped (too_old).',
      labelNames,
      registers,
      collect() {
        for (const { labels, bound } of bounds.values()) this.set(labels, bound().ageSeconds);
      },
    }),
    /** Reports this destination's queue in the queue gauges from now on. */
    trackQueue(labels: DestinationLabels, queue: RequestQueue): void {
      queues.set(`${labels.remote_name}\u0000${labels.url}`, { labels, queue });
    },
    queueBytes: new Gauge({
      name: 'jvb_remote_write_queue_bytes',
      help: 'Bytes of encoded requests queued for the destination (on disk, or in memory with --storage.in-memory).',
      labelNames,
      registers,
      collect() {
        for (const { labels, queue } of queues.values()) this.set(labels, queue.pendingBytes);
      },
    }),
    oldestPendingAge: new Gauge({
      name: 'jvb_remote_write_oldest_pending_sample_age_seconds',
      help: 'Age of the newest sample of the oldest queued request, in seconds; 0 when nothing is queued.',
      labelNames,
      registers,
      collect() {
        for (const { labels, queue } of queues.values()) {
          const oldest = queue.oldestTimestampMs;
          this.set(labels, oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000));
        }
      },
    }),
    samplesReplayed: new Counter({
      name: 'jvb_remote_write_samples_replayed_total',
      help: 'Samples found queued on disk at start (a backlog from before a restart), sent before fresh data.',
      labelNames,
      registers,
    }),
    samplesSent: new Counter({ name: 'jvb_remote_write_samples_total', help: 'Samples delivered (2xx) to the remote-write destination.', labelNames, registers }),
    samplesFailed: new Counter({
      name: 'jvb_remote_write_samples_failed_total',
      help: 'Samples in requests that failed (non-2xx or network error), counted at each failure.',
      labelNames,
      registers,
    }),
    samplesRetried: new Counter({ name: 'jvb_remote_write_samples_retried_total', help: 'Samples sent again after a retryable failure.', labelNames, registers }),
    samplesDropped: new Counter({
      name: 'jvb_remote_write_samples_dropped_total',
      help:
        'Samples given up on, by reason: refused (a non-retryable answer such as 400), queue_full (over --storage.max-bytes or the free space of --storage.path), ' +
        'too_old (over --storage.max-age), too_big (one request over --storage.max-bytes), storage_error (a disk error kept requests from being queued, or lost queued ones), ' +
        'corrupt (records of the queue on disk damaged or lost: their samples, by the tally the queue keeps in its checkpoint; without that tally, ' +
        'their samples when the record header was readable, else 1 per damaged record, a lower bound); ' +
        'timestamp_too_old, timestamp_too_far_ahead, timestamp_out_of_order, timestamp_duplicate (samples with a timestamp of their own that a Prometheus scrape would refuse: ' +
        'older than 1 h before the newest sample, more than 10 min ahead, at or before the series\' last sample; left out, not sent).',
      labelNames: [...labelNames, 'reason'],
      registers,
    }),
    queueErrors: new Counter({
      name: 'jvb_remote_write_queue_errors_total',
      help: 'Errors of the queue on disk, by operation (append, peek, ack, take_drops): disk full, files deleted or unreadable. The queue is rebuilt and the operation tried again.',
      labelNames: [...labelNames, 'operation'],
      registers,
    }),
    samplesPending: new Gauge({ name: 'jvb_remote_write_samples_pending', help: 'Samples queued for the destination and not yet delivered.', labelNames, registers }),
    requests: new Counter({
      name: 'jvb_remote_write_requests_total',
      help: 'Requests sent, by outcome: the HTTP status code, or network_<kind> for a request that got no answer.',
      labelNames: [...labelNames, 'code'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'jvb_remote_write_request_duration_seconds',
      help: 'Duration of remote-write requests, answered or not.',
      labelNames,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    highestSentTimestamp: new Gauge({
      name: 'jvb_remote_write_highest_sent_timestamp_seconds',
      help: 'The newest sample timestamp delivered to the destination, in Unix seconds.',
      labelNames,
      registers,
    }),
    protobufMessage: new Gauge({
      name: 'jvb_remote_write_protobuf_message',
      help:
        'The protobuf message the destination is written with now: 1 for the one in use (prometheus.WriteRequest, remote-write 1.0, or io.prometheus.write.v2.Request, 2.0), 0 for the other. ' +
        'A destination configured for 2.0 falls back to 1.0 when its receiver does not read 2.0.',
      labelNames: [...labelNames, 'message'],
      registers,
    }),
    authHeld: new Gauge({
      name: 'jvb_remote_write_held',
      help:
        '1 while the destination holds its queue because the receiver refused the credentials (401/403 with on-auth-error: hold): nothing is sent nor dropped for it until a credentials file changes, a reload, or the next slow retry; 0 otherwise.',
      labelNames,
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'jvb_remote_write_last_success_timestamp_seconds',
      help: 'Unix time of the last request the destination accepted.',
      labelNames,
      registers,
    }),
  };
}

export type RemoteWriteMetrics = ReturnType<typeof createRemoteWriteMetrics>;
