/**
 * The one retry loop over an HttpTransport, shared by the remote-write
 * sender, the Pushgateway sender and the poll of a bridge; each brings its
 * own RetryPolicy. The transport knows nothing of retries and the policy
 * nothing of I/O (the classification is retry-policy.ts'): this file only
 * sequences attempts and waits, as OpenTelemetry's retrying transport does.
 */
import { abortableSleep } from './abortable-sleep';
import type { HttpOutcome, HttpRequest, HttpTransport } from './http-transport';
import { classifyResponse, type RetryDecision } from './retry-policy';

export interface RetryPolicy {
  /** Most attempts, the first included; Infinity: until it succeeds, is refused, or is aborted. */
  readonly maxAttempts: number;
  /** Whether 429 Too Many Requests is worth retrying. */
  readonly retryOn429: boolean;
  /** The wait before retry `retry` (0 for the first retry), given the server's Retry-After if it sent one. */
  readonly delayMs: (retry: number, retryAfterMs: number | undefined) => number;
  /** Narrows which retryable failures get another attempt (default: all of them). */
  readonly shouldRetry?: (decision: Extract<RetryDecision, { kind: 'retry' }>) => boolean;
}

export interface Attempt {
  /** 0 for the first. */
  readonly attempt: number;
  readonly outcome: HttpOutcome;
  readonly decision: RetryDecision;
  /** The wait before the next attempt; undefined when there is none. */
  readonly retryInMs: number | undefined;
}

export type RetriedOutcome =
  /** The last attempt's outcome and decision: success, drop, or a retryable failure with no attempts left. */
  | { readonly kind: 'done'; readonly outcome: HttpOutcome; readonly decision: RetryDecision; readonly attempts: number }
  /** `signal` fired: the request in flight (or the wait) was cut short. */
  | { readonly kind: 'aborted'; readonly attempts: number };

export interface SendOptions {
  /** Aborts the request in flight and any wait: the result is 'aborted'. */
  readonly signal?: AbortSignal;
  /** Cuts a wait between attempts short and gives up with the last outcome (a sender that is stopping). */
  readonly giveUpWaiting?: AbortSignal;
  /** Called after every attempt, for counting and logging. */
  readonly onAttempt?: (attempt: Attempt) => void;
}

export async function sendWithRetries(
  transport: HttpTransport,
  request: (attempt: number) => HttpRequest,
  policy: RetryPolicy,
  opts: SendOptions = {},
): Promise<RetriedOutcome> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await transport.send(request(attempt), opts.signal);
    if (opts.signal?.aborted) return { kind: 'aborted', attempts: attempt + 1 };
    const decision = classifyResponse(outcome, { retryOn429: policy.retryOn429 });
    const again =
      decision.kind === 'retry' && attempt + 1 < policy.maxAttempts && (policy.shouldRetry?.(decision) ?? true) && !opts.giveUpWaiting?.aborted;
    const retryInMs = again ? policy.delayMs(attempt, decision.kind === 'retry' ? decision.retryAfterMs : undefined) : undefined;
    opts.onAttempt?.({ attempt, outcome, decision, retryInMs });
    if (retryInMs === undefined) return { kind: 'done', outcome, decision, attempts: attempt + 1 };

    const waits = [opts.signal, opts.giveUpWaiting].filter((s): s is AbortSignal => s !== undefined);
    const waited = await abortableSleep(retryInMs, waits.length === 0 ? new AbortController().signal : AbortSignal.any(waits));
    if (opts.signal?.aborted) return { kind: 'aborted', attempts: attempt + 1 };
    if (!waited) return { kind: 'done', outcome, decision, attempts: attempt + 1 };
  }
}
