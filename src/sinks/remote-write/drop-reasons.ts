// The reasons a destination gives up on samples, and how its log lines word them.

import type { QueueDropReason } from '../queue/request-queue';
import { TIMESTAMP_REFUSALS } from './sample-timestamps';

export const DROP_MESSAGES: Readonly<Record<QueueDropReason, string>> = {
  queue_full: 'queue full (--storage.max-bytes, or the free space of --storage.path): dropped the oldest requests',
  too_old: 'dropped queued requests older than --storage.max-age',
  too_big: 'dropped a request larger than the whole queue (--storage.max-bytes)',
  corrupt: 'records of the queue on disk were damaged or lost (checksum, torn, cut off, deleted) and are skipped',
  storage_error: 'queued requests were lost to a storage error; the queue was rebuilt from what is left on disk',
};

/** The line of a drop: said to be a lower bound when some dropped records' samples are unknown (each counted as 1). */
export function dropMessage(reason: QueueDropReason, samplesUnknownRecords: number): string {
  if (samplesUnknownRecords === 0) return DROP_MESSAGES[reason];
  return `${DROP_MESSAGES[reason]}; dropped_samples is a lower bound: the samples of ${samplesUnknownRecords === 1 ? 'a record' : 'some records'} are unknown (each counted as 1)`;
}

/**
 * Every reason of jvb_remote_write_samples_dropped_total; each exists at 0
 * from the start. The timestamp_* ones are samples the encoder left out as a
 * Prometheus scrape would refuse them (sample-timestamps.ts).
 */
export const DROP_REASONS = ['refused', 'queue_full', 'too_old', 'too_big', 'storage_error', 'corrupt', ...TIMESTAMP_REFUSALS] as const;

/** The queue operations of jvb_remote_write_queue_errors_total; each exists at 0 from the start. */
export const QUEUE_OPERATIONS = ['append', 'peek', 'ack', 'take_drops'] as const;
export type QueueOperation = (typeof QUEUE_OPERATIONS)[number];

/** A full disk (or quota): the queue already retried it. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
