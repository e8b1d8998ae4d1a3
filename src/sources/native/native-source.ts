import { redactUrl } from '../../log/redact-url';
import { fetchEndpoint, type BridgeEndpoint } from '../fetch-endpoint';
import type { PollOutcome, Source } from '../source';
import { formatFromContentType, parseExposition } from './parse-exposition';

/**
 * Both text formats, named explicitly: JVB answers a request without Accept
 * with an error, and (before stable 9823) `*\/*` with either format at
 * random. 0.0.4 first: it is the smaller body (no `_created` lines).
 */
export const NATIVE_ACCEPT = 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.9';

/** JVB's own Prometheus endpoint `/metrics` (also Jicofo's): every family forwarded as a scrape stores it. */
export class NativeSource implements Source {
  constructor(
    private readonly endpoint: BridgeEndpoint,
    private readonly maxSeries: number,
  ) {}

  async poll(signal: AbortSignal): Promise<PollOutcome> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const where = redactUrl(this.endpoint.url);
    const fetched = await fetchEndpoint(this.endpoint, NATIVE_ACCEPT, signal);
    if (!fetched.ok) return fetched;
    const text = fetched.text;
    const format = formatFromContentType(fetched.contentType);
    if (format === undefined) {
      const start = text.trimStart();
      // As Prometheus does, an unnamed or unknown type is read as 0.0.4 text; but an HTML page or JSON is not a /metrics.
      if (start.startsWith('<') || start.startsWith('{') || start.startsWith('[')) {
        return {
          ok: false,
          reason: 'not_jvb',
          message: `${where} answered ${JSON.stringify(fetched.contentType || 'no Content-Type')}, not the Prometheus text format: is this the bridge's /metrics?`,
          durationMs: elapsed(),
        };
      }
    }
    const parsed = parseExposition(text, format ?? 'text-0.0.4', { maxSamples: this.maxSeries });
    if (!parsed.ok) return { ok: false, reason: parsed.reason, message: `${where}: ${parsed.message}`, durationMs: elapsed() };
    return { ok: true, families: parsed.families, skipped: [], endpoint: where, durationMs: elapsed() };
  }

  close(): void {
    this.endpoint.transport.close();
  }
}
