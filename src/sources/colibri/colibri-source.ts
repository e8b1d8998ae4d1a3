import axios, { type AxiosInstance } from 'axios';
import http from 'node:http';
import https from 'node:https';
import { redactUrl, redactUrlsInText } from '../../log/redact-url';
import type { PollOutcome } from './colibri-stats';
import { parseColibriStats } from './parse-colibri-stats';

/** A real /colibri/stats is about 2.5 KiB; anything near this is not one. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ColibriStatsClient {
  poll(signal?: AbortSignal): Promise<PollOutcome>;
}

export function createColibriStatsClient(opts: { url: string; timeoutMs: number; userAgent: string }): ColibriStatsClient {
  const client: AxiosInstance = axios.create({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 1 }),
    responseType: 'text',
    // Keep the body as text: JSON is parsed by us, leniently, with our errors.
    transformResponse: (data: unknown) => data,
    validateStatus: () => true,
    maxContentLength: MAX_BODY_BYTES,
    maxRedirects: 3,
    proxy: false,
    headers: { 'User-Agent': opts.userAgent, Accept: 'application/json' },
  });
  const where = redactUrl(opts.url);

  return {
    async poll(signal?: AbortSignal): Promise<PollOutcome> {
      const started = performance.now();
      const elapsed = () => performance.now() - started;
      // axios' own `timeout` is a socket idle timeout; a bridge that drips
      // bytes must still be cut off, so the deadline covers the whole exchange.
      const deadline = AbortSignal.timeout(opts.timeoutMs);
      const combined = signal ? AbortSignal.any([deadline, signal]) : deadline;
      try {
        const response = await client.get<string>(opts.url, { signal: combined });
        if (response.status < 200 || response.status > 299) {
          return { ok: false, reason: 'http_status', message: `${where} answered HTTP ${response.status}`, durationMs: elapsed() };
        }
        const parsed = parseColibriStats(typeof response.data === 'string' ? response.data : String(response.data ?? ''));
        return parsed.ok
          ? { ok: true, stats: parsed.stats, durationMs: elapsed() }
          : { ok: false, reason: parsed.reason, message: `${where}: ${parsed.message}`, durationMs: elapsed() };
      } catch (error) {
        if (deadline.aborted) {
          return { ok: false, reason: 'timeout', message: `${where} did not answer within ${opts.timeoutMs}ms`, durationMs: elapsed() };
        }
        const err = error as { code?: string; message?: string };
        if (err.code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(err.message ?? '')) {
          return { ok: false, reason: 'invalid_body', message: `${where}: body larger than ${MAX_BODY_BYTES} bytes, not a /colibri/stats`, durationMs: elapsed() };
        }
        return {
          ok: false,
          reason: 'connection_error',
          message: `cannot reach ${where}: ${err.code ?? ''}${err.code ? ' ' : ''}${redactUrlsInText(err.message ?? String(error))}`.trim(),
          durationMs: elapsed(),
        };
      }
    },
  };
}
