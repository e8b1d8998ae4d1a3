import type { OutcomeRecord } from '../../status/outcome-record';
import type { DestinationStatus } from '../../status/status-model';
import { DiskRequestQueue } from '../queue/disk-request-queue';
import type { RequestQueue } from '../queue/request-queue';
import type { RemoteWriteMetrics } from './remote-write-metrics';

/** The queue's bounds as configured: --storage.max-bytes (a disk queue may be bounded lower by free space) and --storage.max-age. */
export interface QueueLimits {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

export interface RemoteWriteState {
  readonly name: string;
  readonly displayUrl: string;
  readonly messageNow: string;
  readonly messageConfigured: string;
  readonly queue: RequestQueue;
  readonly limits: QueueLimits;
  readonly metrics: RemoteWriteMetrics;
  readonly requests: OutcomeRecord<{ status: number | null }>;
  readonly now?: () => number;
}

/** The byte bound in force: a disk queue's may be lowered by the free space. */
export function queueMaxBytes(queue: RequestQueue, limits: QueueLimits): number {
  return queue instanceof DiskRequestQueue ? queue.bounds.bytes : limits.maxBytes;
}

/** One remote-write destination as the status page shows it: read off its queue, its requests and its own counters. */
export async function remoteWriteStatus(state: RemoteWriteState): Promise<DestinationStatus> {
  const { queue, limits, metrics, name, displayUrl } = state;
  const mine = (labels: Partial<Record<string, string | number>>) => labels['remote_name'] === name && labels['url'] === displayUrl;
  const samplesDropped: Record<string, number> = {};
  for (const { labels, value } of (await metrics.samplesDropped.get()).values) {
    if (mine(labels)) samplesDropped[String(labels['reason'])] = value;
  }
  const sent = (await metrics.samplesSent.get()).values.find(({ labels }) => mine(labels))?.value ?? 0;
  const held = (await metrics.authHeld.get()).values.find(({ labels }) => mine(labels))?.value === 1;
  const oldest = queue.oldestTimestampMs;
  const now = (state.now ?? Date.now)();
  return {
    kind: 'remote_write',
    name,
    url: displayUrl,
    protobufMessage: state.messageNow,
    protobufMessageConfigured: state.messageConfigured,
    lastSuccess: state.requests.lastSuccess,
    lastError: state.requests.lastError,
    queue: {
      requests: queue.pendingEntries,
      samples: queue.pendingSamples,
      bytes: queue.pendingBytes,
      maxBytes: queueMaxBytes(queue, limits),
      oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, Math.round((now - oldest) / 1000)),
      maxAgeSeconds: Number.isFinite(limits.maxAgeMs) ? limits.maxAgeMs / 1000 : null,
      durable: queue instanceof DiskRequestQueue,
    },
    samplesSent: sent,
    samplesDropped,
    held,
  };
}
