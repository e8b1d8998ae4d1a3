/** One /colibri/stats body that passed the checks: a JSON object as the JVB sent it. */
export type ColibriStats = Readonly<Record<string, unknown>>;

/** Why a poll failed; the values of the `reason` label of jvb_poll_failures_total. */
export const POLL_FAILURE_REASONS = ['timeout', 'connection_error', 'http_status', 'invalid_body', 'not_jvb'] as const;
export type PollFailureReason = (typeof POLL_FAILURE_REASONS)[number];

export type PollOutcome =
  | { readonly ok: true; readonly stats: ColibriStats; readonly durationMs: number }
  | { readonly ok: false; readonly reason: PollFailureReason; readonly message: string; readonly durationMs: number };
