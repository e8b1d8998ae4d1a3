/**
 * Pure rules for what to do after a request: success, retry (and when), or
 * drop. No I/O, no clock: the caller passes the time and the randomness.
 *
 * Classification (remote-write spec 1.0 "Retries & Backoff"; Prometheus
 * storage/remote/client.go):
 * - 2xx: success.
 * - 5xx and network errors (refused, reset, DNS, TLS, timeout): retry.
 * - 429: retry when `retryOn429` (default true, as Grafana Alloy; Prometheus
 *   defaults to false), otherwise drop.
 * - everything else (1xx, 3xx, and 4xx such as 400, 401, 403, 404, 409, 413,
 *   415): drop, never retry — retrying a rejected batch loops forever.
 * A Retry-After header (seconds or HTTP-date) is honoured on 429 and 5xx.
 *
 * Reasons are label-safe (`[a-z0-9_]`) and come from a bounded set:
 * - `http_<status>` for a status from 100 to 599 (e.g. `http_400`,
 *   `http_503`), `http_other` for anything outside that range;
 * - `network_timeout`, `network_refused`, `network_reset`,
 *   `network_unreachable`, `network_dns`, `network_tls`, `network_aborted`,
 *   `network_credentials` (a credentials file unreadable), `network_other`.
 */
import { STATUS_CODES } from 'node:http';
import type { HttpOutcome } from './http-transport';

export type RetryDecision =
  | { kind: 'success' }
  | { kind: 'retry'; retryAfterMs?: number; reason: string }
  | { kind: 'drop'; reason: string; status: number };

/** The longest a Retry-After header can make us wait: 5 minutes. */
export const MAX_RETRY_AFTER_MS = 5 * 60 * 1000;

export interface ClassifyOptions {
  /** Retry 429 Too Many Requests (default true). */
  retryOn429?: boolean;
  /** "Now" for an HTTP-date Retry-After (default Date.now()). */
  nowMs?: number;
}

export function classifyResponse(outcome: HttpOutcome, opts: ClassifyOptions = {}): RetryDecision {
  if (outcome.kind === 'network-error') return { kind: 'retry', reason: networkErrorReason(outcome.code) };
  const { status } = outcome;
  const reason = statusReason(status);
  if (status >= 200 && status <= 299) return { kind: 'success' };
  const retryable = (status >= 500 && status <= 599) || (status === 429 && (opts.retryOn429 ?? true));
  if (!retryable) return { kind: 'drop', reason, status };
  const retryAfterMs = parseRetryAfter(outcome.headers['retry-after'], opts.nowMs ?? Date.now());
  return retryAfterMs === undefined
    ? { kind: 'retry', reason }
    : { kind: 'retry', reason, retryAfterMs: Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) };
}

function statusReason(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? `http_${status}` : 'http_other';
}

/** The reason label for a network-error code (see HttpOutcome). */
export function networkErrorReason(code: string): string {
  switch (code) {
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
    case 'ECONNABORTED':
      return 'network_timeout';
    case 'ECONNREFUSED':
      return 'network_refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'HPE_INVALID_CONSTANT':
      return 'network_reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return 'network_unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return 'network_dns';
    case 'ABORTED':
    case 'ERR_CANCELED':
    case 'ECLOSED':
      return 'network_aborted';
    case 'ECREDENTIALS':
      return 'network_credentials';
    default:
      return isTlsErrorCode(code) ? 'network_tls' : 'network_other';
  }
}

function isTlsErrorCode(code: string): boolean {
  return (
    code === 'EPROTO' ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_OSSL_') ||
    /CERT|SELF_SIGNED|UNABLE_TO_|DEPTH_ZERO|HOSTNAME_MISMATCH/.test(code)
  );
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Milliseconds to wait from a Retry-After header: delay-seconds (an integer;
 * negative counts as 0) or an HTTP-date (RFC 9110/7231: IMF-fixdate
 * `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850
 * `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`
 * forms, all in GMT; other date strings Date.parse reads are accepted if
 * they carry a time and a zone). A date in the past gives 0. Anything else,
 * or no header, gives undefined. Not capped: see MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^[+-]?\d+$/.test(text)) {
    const seconds = Number(text);
    if (!Number.isFinite(seconds)) return undefined;
    return seconds <= 0 ? 0 : Math.min(seconds * 1000, Number.MAX_SAFE_INTEGER);
  }
  const at = parseHttpDate(text, nowMs);
  if (at === undefined) return undefined;
  return Math.max(0, Math.ceil(at - nowMs));
}

function parseHttpDate(text: string, nowMs: number): number | undefined {
  const imf = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(text);
  if (imf) return utc(Number(imf[3]), imf[2] as string, imf[1] as string, imf[4] as string, imf[5] as string, imf[6] as string);
  const rfc850 = /^[A-Za-z]+, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(text);
  if (rfc850) {
    return utc(twoDigitYear(Number(rfc850[3]), nowMs), rfc850[2] as string, rfc850[1] as string, rfc850[4] as string, rfc850[5] as string, rfc850[6] as string);
  }
  const asctime = /^[A-Za-z]{3} ([A-Za-z]{3}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(text);
  if (asctime) return utc(Number(asctime[6]), asctime[1] as string, asctime[2] as string, asctime[3] as string, asctime[4] as string, asctime[5] as string);
  // Other spellings Date.parse understands, but only with a time and an explicit zone
  // (Date.parse reads many bare strings, such as "1 2", as local dates).
  if (/\d{1,2}:\d{2}/.test(text) && /(GMT|UTC|Z|[+-]\d{2}:?\d{2})$/i.test(text)) {
    const parsed = Date.parse(text);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/** RFC 9110: a two-digit year more than 50 years ahead means the previous century. */
function twoDigitYear(yy: number, nowMs: number): number {
  const current = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(current / 100) * 100 + yy;
  if (year > current + 50) year -= 100;
  return year;
}

function utc(year: number, month: string, day: string, hour: string, minute: string, second: string): number | undefined {
  const m = MONTHS.indexOf(month.toLowerCase());
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  const s = Number(second);
  if (m < 0 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, m, d, h, min, Math.min(s, 59));
  if (new Date(ms).getUTCDate() !== d) return undefined; // e.g. 31 Feb
  return ms;
}

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): capped
 * exponential backoff with "equal jitter". The ceiling is
 * min(maxMs, minMs * 2^attempt); the wait is half the ceiling plus a random
 * share of the other half, so it lies in [ceiling/2, ceiling] (never above
 * maxMs; whole milliseconds): retries of many agents spread out, and none
 * comes back much sooner than the schedule says.
 */
export function nextBackoffMs(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const maxMs = Number.isFinite(opts.maxMs) && opts.maxMs > 0 ? opts.maxMs : 0;
  const minMs = Number.isFinite(opts.minMs) && opts.minMs > 0 ? Math.min(opts.minMs, maxMs) : 0;
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : attempt === Infinity ? 1000 : 0;
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(n, 1000));
  const r = random();
  const share = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  const half = ceiling / 2;
  return Math.min(ceiling, Math.floor(half + share * half));
}

/**
 * The wait before the next retry: the server's Retry-After when it gave a
 * positive one (capped at MAX_RETRY_AFTER_MS so a hostile or broken header
 * cannot stall the agent), otherwise nextBackoffMs. A Retry-After of 0 (or
 * a date in the past) falls back to the backoff rather than retrying at once.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
    return Math.min(Math.ceil(retryAfterMs), MAX_RETRY_AFTER_MS);
  }
  return nextBackoffMs(attempt, opts, random);
}

const PREVIEW_LOG_CHARS = 1024;

/**
 * The log message for a dropped batch: status, what it most likely means,
 * and the (first 1 KiB of the) response body on one line. Never includes a
 * credential (it has none to include; the transport already scrubbed the body).
 */
export function describeDrop(status: number, bodyPreview: string): string {
  const name = STATUS_CODES[status];
  const head = `receiver answered HTTP ${status}${name ? ` ${name}` : ''}`;
  const body = bodyPreview.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/ {2,}/g, ' ').trim().slice(0, PREVIEW_LOG_CHARS);
  const tail = body === '' ? 'the response body was empty' : `response body: ${body}`;
  return `${head}: ${explainStatus(status)}; the batch is dropped, not retried; ${tail}`;
}

function explainStatus(status: number): string {
  switch (status) {
    case 400:
      return 'the receiver rejected the data as invalid (bad or duplicate labels, out-of-order, duplicate or too-old samples, or a malformed body)';
    case 401:
      return 'the credentials are wrong or missing: the receiver rejected them; check the basic-auth user name and password file, or the bearer token file';
    case 403:
      return 'the credentials were rejected: they are wrong or not allowed to write here (check the password or token, its write permission or scope, and the tenant header)';
    case 404:
      return 'nothing listens at this URL path; check the push URL (Prometheus /api/v1/write, Mimir /api/v1/push, Thanos /api/v1/receive, Pushgateway /metrics/job/...)';
    case 405:
      return 'the URL does not accept this method; check that it is the push endpoint';
    case 407:
      return 'the proxy requires authentication or rejected its credentials; check the user and password in the proxy URL';
    case 409:
      return 'the samples conflict with stored ones (out of order or duplicate, as Thanos Receive reports them)';
    case 413:
      return 'the request is too large for the receiver; send smaller batches';
    case 415:
      return 'the receiver does not accept this content type or protocol version';
    case 429:
      return 'the receiver is rate limiting and retrying on 429 is switched off';
    default:
      if (status >= 300 && status <= 399) return 'redirects are not followed; configure the final URL';
      if (status >= 400 && status <= 499) return 'the receiver refused the request';
      return 'unexpected status';
  }
}
