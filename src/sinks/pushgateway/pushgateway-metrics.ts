import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Self metrics of the Pushgateway destinations, labelled by gateway URL (without credentials). */
export function createPushgatewayMetrics(registry: Registry) {
  const registers = [registry];
  return {
    pushes: new Counter({
      name: 'jvb_pushgateway_pushes_total',
      help: 'Pushes (PUT) to the Pushgateway by result: success, retried_success, failed (given up; the next interval pushes again).',
      labelNames: ['url', 'result'],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'jvb_pushgateway_last_success_timestamp_seconds',
      help: 'Unix time of the last push the Pushgateway accepted.',
      labelNames: ['url'],
      registers,
    }),
    duration: new Histogram({
      name: 'jvb_pushgateway_push_duration_seconds',
      help: 'Duration of pushes to the Pushgateway, retry included.',
      labelNames: ['url'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}

export type PushgatewayMetrics = ReturnType<typeof createPushgatewayMetrics>;
