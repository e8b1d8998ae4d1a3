import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Self metrics of every remote-write destination, declared together and
 * labelled by destination the way Prometheus labels its own
 * (prometheus_remote_storage_*{remote_name, url}), so existing dashboards
 * and alerts read them naturally.
 */
export function createRemoteWriteMetrics(registry: Registry) {
  const registers = [registry];
  const labelNames = ['remote_name', 'url'] as const;
  return {
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
      help: 'Samples given up on, by reason: refused (a non-retryable answer such as 400), queue_full, too_old, shutdown.',
      labelNames: [...labelNames, 'reason'],
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
    lastSuccess: new Gauge({
      name: 'jvb_remote_write_last_success_timestamp_seconds',
      help: 'Unix time of the last request the destination accepted.',
      labelNames,
      registers,
    }),
  };
}

export type RemoteWriteMetrics = ReturnType<typeof createRemoteWriteMetrics>;
