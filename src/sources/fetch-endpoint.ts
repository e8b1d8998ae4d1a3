import { setImmediate as nextTurn } from 'node:timers/promises';
import type { HttpTransport } from '../http/http-transport';
import { sendWithRetries, type RetryPolicy } from '../http/send-with-retries';
import { LARGE_BODY_BYTES } from './read-deadline';
import type { Failure } from './source';

/**
 * How a poll uses the shared retry loop: no retry, as Prometheus never
 * retries a scrape (the next interval is the retry), except once, at once,
 * when a pooled keep-alive connection turns out to have been closed by the
 * bridge (a reset on reuse is not the bridge failing).
 */
const POLL_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 2,
  retryOn429: false,
  delayMs: () => 0,
  shouldRetry: (decision) => decision.reason === 'network_reset',
};

export interface FetchedBody {
  readonly ok: true;
  readonly contentType: string;
  readonly text: string;
  /** The body's size as received. */
  readonly bytes: number;
}

/** One endpoint of a bridge, reached through the transport every push uses too (TLS, auth, proxy, headers). */
export interface BridgeEndpoint {
  readonly url: string;
  readonly transport: HttpTransport;
  readonly maxBodyBytes: number;
}

/**
 * GETs an endpoint's whole body; any other answer becomes the poll's failure,
 * with `where` (the endpoint's URL redacted, once by the caller: not at every
 * poll) in its message.
 */
export async function fetchEndpoint(endpoint: BridgeEndpoint, where: string, accept: string, signal: AbortSignal): Promise<FetchedBody | Failure> {
  const started = performance.now();
  const failed = (reason: Failure['reason'], message: string): Failure => ({ ok: false, reason, message, durationMs: performance.now() - started });

  const result = await sendWithRetries(
    endpoint.transport,
    () => ({ method: 'GET', headers: { Accept: accept }, readBodyUpToBytes: endpoint.maxBodyBytes }),
    POLL_RETRY_POLICY,
    { signal },
  );
  if (result.kind === 'aborted') return failed('aborted', `poll of ${where} cancelled`);
  const { outcome } = result;
  if (outcome.kind === 'network-error') {
    if (outcome.code === 'ETIMEDOUT') return failed('timeout', `${where} did not answer in time (${outcome.message})`);
    if (outcome.code === 'ABORTED') return failed('aborted', `poll of ${where} cancelled`);
    return failed('connection_error', `cannot reach ${where}: ${outcome.code} ${outcome.message}`);
  }
  if (outcome.status < 200 || outcome.status > 299) {
    const hint = outcome.status >= 300 && outcome.status <= 399 ? ' (redirects are not followed: configure the final URL)' : '';
    return failed('http_status', `${where} answered HTTP ${outcome.status}${hint}`);
  }
  if (outcome.body === 'too-large') return failed('body_too_large', `${where}: body larger than ${endpoint.maxBodyBytes} bytes`);
  const body = outcome.body ?? Buffer.alloc(0);
  // Gathering a large body into one buffer and decoding it into one string each copy all of it (several
  // milliseconds a MB): other work gets a turn of the event loop between the two.
  if (body.length >= LARGE_BODY_BYTES) await nextTurn();
  return { ok: true, contentType: outcome.headers['content-type'] ?? '', text: body.toString('utf8'), bytes: body.length };
}
