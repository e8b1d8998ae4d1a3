// What the status page (`/`) and `/api/v1/status` show: a plain snapshot of
// the agent, its bridges and its destinations, gathered from the pieces that
// hold the state (status() of BridgePoller and of each Sink) at each request.
// Times are RFC 3339 strings (null when it never happened), durations seconds:
// the JSON is the snapshot as it is. No field ever holds a secret: URLs are
// redacted (log/redact-url.ts) and error texts come from the transport, which
// scrubs known secrets, and are redacted once more.

/** A failure that lasts: its text, when it was last seen and since when it has been going on (the first failure after a success). */
export interface ProblemStatus {
  readonly message: string;
  /** The last time it was seen. */
  readonly at: string;
  /** The first failure of the current run of failures. */
  readonly since: string;
}

export interface BridgeStatus {
  readonly name: string;
  readonly job: string;
  /** How its endpoint is chosen: native or colibri (one endpoint: the setting, or a full endpoint URL), or auto (the first that answers). */
  readonly source: string;
  /** The kind of endpoint polled: native (/metrics) or colibri (/colibri/stats); null while auto has not detected one. */
  readonly endpointKind: string | null;
  /** Without credentials. */
  readonly url: string;
  /** The last poll's result; null before the first poll ended. */
  readonly up: boolean | null;
  readonly lastPoll: string | null;
  readonly lastPollDurationSeconds: number | null;
  readonly lastSuccess: string | null;
  /** Series the last successful poll gave (0 after a failed one: the bridge's series are withdrawn). */
  readonly series: number;
  /** The last failed poll: reason (jvb_poll_failures_total's label) and message; null when none ever failed. */
  readonly lastError: (ProblemStatus & { readonly reason: string }) | null;
}

export interface QueueStatus {
  readonly requests: number;
  readonly samples: number;
  readonly bytes: number;
  /** The bound in force (--storage.max-bytes, or less when the disk has less room). */
  readonly maxBytes: number;
  /** Age of the oldest queued sample; 0 when nothing is queued. */
  readonly oldestAgeSeconds: number;
  /** --storage.max-age; null when unbounded. */
  readonly maxAgeSeconds: number | null;
  /** Whether the queue is on disk (else in memory). */
  readonly durable: boolean;
}

export interface DestinationStatus {
  readonly kind: 'remote_write' | 'pushgateway';
  /** remote_name for remote_write; '' for a Pushgateway. */
  readonly name: string;
  /** Without credentials. */
  readonly url: string;
  /** The protobuf message written now (remote_write): prometheus.WriteRequest (1.0) or io.prometheus.write.v2.Request (2.0). */
  readonly protobufMessage: string | null;
  /** The one configured (differs from protobufMessage after a fallback to 1.0). */
  readonly protobufMessageConfigured: string | null;
  readonly lastSuccess: string | null;
  /** The last failed request (an error status or no answer); null when none failed. */
  readonly lastError: (ProblemStatus & { readonly status: number | null }) | null;
  /** remote_write only. */
  readonly queue: QueueStatus | null;
  /** Samples delivered (remote_write; null for a Pushgateway, which is pushed whole). */
  readonly samplesSent: number | null;
  /** Samples given up on, by reason (jvb_remote_write_samples_dropped_total); {} for a Pushgateway. */
  readonly samplesDropped: Readonly<Record<string, number>>;
  /** The receiver refused the credentials and the queue is held until they change (remote_write with on-auth-error hold). */
  readonly held: boolean;
}

export interface ReloadStatus {
  readonly at: string;
  readonly ok: boolean;
  /** Why it failed (the running settings stayed); null when it succeeded. */
  readonly error: string | null;
}

export interface AgentStatus {
  readonly version: string;
  readonly revision: string | null;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly configFile: string | null;
  /** The last SIGHUP reload; null when none happened. */
  readonly lastReload: ReloadStatus | null;
  readonly telemetryPath: string;
}

export interface StatusSnapshot {
  readonly generatedAt: string;
  readonly agent: AgentStatus;
  readonly bridges: readonly BridgeStatus[];
  readonly destinations: readonly DestinationStatus[];
}

/** Milliseconds since the epoch as RFC 3339, or null. */
export function isoTime(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
