// One remote-write request body, sent until it is answered for good or the
// sender is aborted (send-with-retries.ts), with every attempt counted in
// the destination's metrics and an outage logged by its condition log.

import type { ConditionLog } from '../../log/condition-log';
import type { Logger } from '../../log/logger';
import type { HttpTransport } from '../../http/http-transport';
import { retryDelayMs } from '../../http/retry-policy';
import { sendWithRetries, type RetriedOutcome } from '../../http/send-with-retries';
import type { QueueEntry } from '../queue/request-queue';
import type { RemoteWriteMetrics } from './remote-write-metrics';

export interface SendContext {
  readonly labels: { remote_name: string; url: string };
  readonly transport: HttpTransport;
  readonly metrics: RemoteWriteMetrics;
  readonly retry: { readonly minBackoffMs: number; readonly maxBackoffMs: number; readonly retryOn429: boolean };
  readonly log: Logger;
  readonly random?: () => number;
  readonly outage: ConditionLog;
  readonly signal: AbortSignal;
}

/** Sends `body` (the entry's, or its 1.0 re-encoding) with `headers`, the identical bytes on every retry. */
export function sendCounted(ctx: SendContext, entry: QueueEntry, body: Buffer, headers: Readonly<Record<string, string>>): Promise<RetriedOutcome> {
  const { metrics, transport, retry, log, labels } = ctx;
  const backoff = { minMs: retry.minBackoffMs, maxMs: retry.maxBackoffMs };
  return sendWithRetries(
    transport,
    (attempt) => ({
      method: 'POST',
      body,
      headers: attempt === 0 ? { ...headers } : { ...headers, 'Retry-Attempt': String(attempt) },
    }),
    {
      maxAttempts: Infinity,
      retryOn429: retry.retryOn429,
      delayMs: (n, retryAfterMs) => retryDelayMs(n, retryAfterMs, backoff, ctx.random),
    },
    {
      signal: ctx.signal,
      onAttempt: ({ attempt, outcome, decision, retryInMs }) => {
        if (attempt > 0) metrics.samplesRetried.inc(labels, entry.samples);
        metrics.requestDuration.observe(labels, outcome.durationMs / 1000);
        metrics.requests.inc({ ...labels, code: outcome.kind === 'response' ? String(outcome.status) : decision.kind === 'retry' ? decision.reason : 'other' });
        if (decision.kind === 'success') return;
        metrics.samplesFailed.inc(labels, entry.samples);
        if (decision.kind !== 'retry' || retryInMs === undefined) return;
        // An outage: logged when it starts, then once a minute with the count of failed attempts; each attempt at debug.
        const fields = {
          reason: decision.reason,
          attempt: attempt + 1,
          retry_in_ms: Math.round(retryInMs),
          err: outcome.kind === 'network-error' ? outcome.message : outcome.bodyPreview.slice(0, 200),
        };
        if (!ctx.outage.report('request failed, will retry', fields, { failed_attempts: 1 })) log.debug('request failed, will retry', fields);
      },
    },
  );
}
