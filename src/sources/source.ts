import type { MetricFamily } from '../model/metric-family';

/**
 * Where a bridge's metrics come from. Everything after the sources sees only
 * this: a poll and its outcome in the one family model, never which
 * endpoint or format a bridge speaks.
 */
export interface Source {
  /**
   * One poll; never throws. `signal` cuts it short (shutdown, or the
   * deadline); `budgetMs`, when given, is the time the poll has: the time
   * left before the next poll is due, for the scheduler's call (the
   * deadline, DeadlineSource, ends the poll by then or at the timeout,
   * whichever comes first), the deadline itself for the sources it wraps.
   * Everything (the requests, parsing and mapping the body) counts.
   */
  poll(signal: AbortSignal, budgetMs?: number): Promise<PollOutcome>;
  /** Closes pooled connections. */
  close(): void;
}

/** Why a poll failed; the values of the `reason` label of jvb_poll_failures_total. */
export const POLL_FAILURE_REASONS = [
  'timeout',
  'connection_error',
  'http_status',
  'invalid_body',
  'not_jvb',
  'body_too_large',
  'too_many_series',
  'no_endpoint',
  'aborted',
] as const;
export type PollFailureReason = (typeof POLL_FAILURE_REASONS)[number];

/** Why a field or sample of a bridge's answer was left out while the rest was kept. */
export const SKIP_REASONS = [
  'not_a_number',
  'bad_histogram',
  /** A summary sample without a `quantile` label (native /metrics). */
  'bad_summary',
  'nested_object',
  'unexpected_array',
  'null',
  'name_collision',
  /** A number too large for a float64 ("1e400"): it would read as +Inf. */
  'out_of_range',
  /** A counter below zero: counters only go up from 0, and rate() would read it as a reset. */
  'negative_counter',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface SkippedField {
  readonly key: string;
  readonly reason: SkipReason;
}

export type PollOutcome =
  | {
      readonly ok: true;
      readonly families: readonly MetricFamily[];
      readonly skipped: readonly SkippedField[];
      /** The endpoint that answered (redacted URL), for logs. */
      readonly endpoint: string;
      readonly durationMs: number;
    }
  | { readonly ok: false; readonly reason: PollFailureReason; readonly message: string; readonly durationMs: number };

export type Failure = Extract<PollOutcome, { ok: false }>;
