import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger';
import { redactUrl } from '../log/redact-url';
import { createPushgatewayMetrics, type PushgatewayMetrics } from './pushgateway/pushgateway-metrics';
import { PushgatewaySink } from './pushgateway/pushgateway-sink';
import { createRemoteWriteMetrics, type RemoteWriteMetrics } from './remote-write/remote-write-metrics';
import { DiskRequestQueue } from './queue/disk-request-queue';
import { openRequestQueue, queueDir } from './queue/open-request-queue';
import type { PushgatewayOptions } from './pushgateway/pushgateway-options';
import type { RemoteWriteOptions } from './remote-write/remote-write-options';
import type { StorageOptions, StorageSettingNames } from './queue/storage-options';
import type { Sink } from './sink';

export interface Destinations {
  readonly remoteWrite: readonly RemoteWriteOptions[];
  readonly pushgateway: readonly PushgatewayOptions[];
}

/** What an update did, for the reload log line. */
export interface SinkChanges {
  readonly added: number;
  readonly kept: number;
  readonly removed: number;
}

/**
 * The push destinations in use, each a sink. `update()` opens the new ones,
 * keeps the unchanged ones as they are (their queues, backlog and sender
 * untouched) and stops the ones gone, so a reload never disturbs a
 * destination it did not change. Self metrics are registered once per kind,
 * when the first destination of that kind appears.
 */
export class SinkSet {
  private readonly sinks = new Map<string, Sink>();
  private remoteWriteMetrics: RemoteWriteMetrics | undefined;
  private pushgatewayMetrics: PushgatewayMetrics | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly storage: StorageOptions,
    private readonly log: Logger,
    private readonly names: StorageSettingNames,
  ) {}

  /** The sinks now, for the pollers. */
  get current(): readonly Sink[] {
    return [...this.sinks.values()];
  }

  /**
   * Opens the remote-write queues of new destinations (a backlog on disk is
   * replayed first) before changing anything: when one cannot be opened
   * (a QueueFolderError for a storage that cannot be used) nothing changes.
   * Each new destination is named in the log: kind, URL (without
   * credentials) and, for remote_write, its queue folder and bound.
   */
  async update(destinations: Destinations): Promise<SinkChanges> {
    const wanted = new Map<string, RemoteWriteOptions | PushgatewayOptions>();
    for (const d of destinations.remoteWrite) wanted.set(`remote_write ${JSON.stringify(d)}`, d);
    for (const d of destinations.pushgateway) wanted.set(`pushgateway ${JSON.stringify(d)}`, d);

    const opened = new Map<string, Sink>();
    try {
      for (const [key, destination] of wanted) {
        if (this.sinks.has(key)) continue;
        opened.set(key, key.startsWith('remote_write ')
          ? await this.openRemoteWrite(destination as RemoteWriteOptions, destinations.remoteWrite.length)
          : this.openPushgateway(destination as PushgatewayOptions));
      }
    } catch (error) {
      await Promise.all([...opened.values()].map((sink) => sink.stop(0)));
      throw error;
    }
    const gone = [...this.sinks.keys()].filter((key) => !wanted.has(key));
    const stopping = gone.map((key) => {
      const sink = this.sinks.get(key)!;
      this.sinks.delete(key);
      // What it still holds stays queued on disk; its folder is picked up again if the destination comes back.
      return sink.stop(this.storage.flushDeadlineMs);
    });
    for (const [key, sink] of opened) this.sinks.set(key, sink);
    await Promise.all(stopping);
    return { added: opened.size, kept: wanted.size - opened.size, removed: gone.length };
  }

  /** A reload: destinations that hold their queue on refused credentials try their head request again now. */
  retryHeld(): void {
    for (const sink of this.sinks.values()) sink.retryHeld?.();
  }

  /** Delivers what each can within `deadlineMs`, then lets go. */
  async stop(deadlineMs: number): Promise<void> {
    const all = this.current;
    this.sinks.clear();
    await Promise.all(all.map((sink) => sink.stop(deadlineMs)));
  }

  private async openRemoteWrite(destination: RemoteWriteOptions, sharing: number): Promise<Sink> {
    if (this.remoteWriteMetrics === undefined) {
      if (this.storage.path === undefined) {
        this.log.warn(`remote-write queues are in memory (${this.names.inMemory}): undelivered data is lost if the agent restarts`);
      } else {
        this.log.info('remote-write queues on disk', { storage_path: this.storage.path });
      }
      this.remoteWriteMetrics = createRemoteWriteMetrics(this.registry);
    }
    const queueLog = this.log.with({ component: 'queue', remote_name: destination.name });
    const queue = await openRequestQueue(this.storage, destination.name, queueLog, this.names, sharing);
    this.log.info('push destination', {
      kind: 'remote_write',
      remote_name: destination.name,
      url: redactUrl(destination.http.url),
      queue: queueDir(this.storage, destination.name) ?? `in memory (${this.names.inMemory})`,
      queue_max_bytes: queue instanceof DiskRequestQueue ? queue.bounds.bytes : this.storage.maxBytes,
    });
    // Loaded with the first remote-write destination: protobufjs and the compressors add about 15 MB an agent without one need not carry.
    const { RemoteWriteSink } = require('./remote-write/remote-write-sink') as typeof import('./remote-write/remote-write-sink');
    return new RemoteWriteSink(destination, queue, this.remoteWriteMetrics, this.log, { maxBytes: this.storage.maxBytes, maxAgeMs: this.storage.maxAgeMs });
  }

  private openPushgateway(destination: PushgatewayOptions): Sink {
    this.pushgatewayMetrics ??= createPushgatewayMetrics(this.registry);
    this.log.info('push destination', {
      kind: 'pushgateway',
      url: redactUrl(destination.http.url),
      job: destination.job,
      instance: destination.instance,
    });
    return new PushgatewaySink(destination, this.pushgatewayMetrics, this.log);
  }
}
