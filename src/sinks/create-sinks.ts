import type { Registry } from 'prom-client';
import type { AgentConfig } from '../config/load-config';
import type { Logger } from '../log/logger';
import { redactUrl } from '../log/redact-url';
import { createPushgatewayMetrics } from './pushgateway/pushgateway-metrics';
import { PushgatewaySink } from './pushgateway/pushgateway-sink';
import { createRemoteWriteMetrics } from './remote-write/remote-write-metrics';
import { RemoteWriteSink } from './remote-write/remote-write-sink';
import { DiskRequestQueue } from './queue/disk-request-queue';
import { openRequestQueue, queueDir } from './queue/open-request-queue';
import type { Sink } from './sink';

/**
 * Every configured destination as a sink; self metrics are registered only
 * for the kinds in use. Opens the remote-write queues (a backlog on disk is
 * replayed first); throws a ConfigError when the storage cannot be used.
 * Each destination is named in the log at start: kind, URL (without
 * credentials) and, for remote_write, its queue folder and bound.
 */
export async function createSinks(config: Pick<AgentConfig, 'destinations' | 'storage'>, registry: Registry, log: Logger): Promise<Sink[]> {
  const { destinations } = config;
  const sinks: Sink[] = [];
  if (destinations.remoteWrite.length > 0) {
    if (config.storage.path === undefined) {
      log.warn('remote-write queues are in memory (--storage.in-memory): undelivered data is lost if the agent restarts');
    } else {
      log.info('remote-write queues on disk', { storage_path: config.storage.path });
    }
    const metrics = createRemoteWriteMetrics(registry);
    try {
      for (const destination of destinations.remoteWrite) {
        const queueLog = log.with({ component: 'queue', remote_name: destination.name });
        const queue = await openRequestQueue(config.storage, destination.name, queueLog, destinations.remoteWrite.length);
        log.info('push destination', {
          kind: 'remote_write',
          remote_name: destination.name,
          url: redactUrl(destination.http.url),
          queue: queueDir(config.storage, destination.name) ?? 'in memory (--storage.in-memory)',
          queue_max_bytes: queue instanceof DiskRequestQueue ? queue.bounds.bytes : config.storage.maxBytes,
        });
        sinks.push(new RemoteWriteSink(destination, queue, metrics, log));
      }
    } catch (error) {
      await Promise.all(sinks.map((sink) => sink.stop(0)));
      throw error;
    }
  }
  if (destinations.pushgateway.length > 0) {
    const metrics = createPushgatewayMetrics(registry);
    for (const destination of destinations.pushgateway) {
      log.info('push destination', {
        kind: 'pushgateway',
        url: redactUrl(destination.http.url),
        job: destination.job,
        instance: destination.instance,
      });
      sinks.push(new PushgatewaySink(destination, metrics, log));
    }
  }
  return sinks;
}
