import type { Registry } from 'prom-client';
import type { Destinations } from '../config/load-destinations';
import type { Logger } from '../log/logger';
import { createPushgatewayMetrics } from './pushgateway/pushgateway-metrics';
import { PushgatewaySink } from './pushgateway/pushgateway-sink';
import { createRemoteWriteMetrics } from './remote-write/remote-write-metrics';
import { RemoteWriteSink } from './remote-write/remote-write-sink';
import type { Sink } from './sink';

/** Every configured destination as a sink; self metrics are registered only for the kinds in use. */
export function createSinks(destinations: Destinations, registry: Registry, log: Logger): Sink[] {
  const sinks: Sink[] = [];
  if (destinations.remoteWrite.length > 0) {
    const metrics = createRemoteWriteMetrics(registry);
    for (const destination of destinations.remoteWrite) sinks.push(new RemoteWriteSink(registry, destination, metrics, log));
  }
  if (destinations.pushgateway.length > 0) {
    const metrics = createPushgatewayMetrics(registry);
    for (const destination of destinations.pushgateway) sinks.push(new PushgatewaySink(registry, destination, metrics, log));
  }
  return sinks;
}
