import type { BodyReading, EndpointReader } from '../endpoint-source';
import type { FetchedBody } from '../fetch-endpoint';
import { ExpositionReparser } from './exposition-reparser';
import { formatFromContentType } from './parse-exposition';

/**
 * Both text formats, named explicitly: JVB answers a request without Accept
 * with an error, and (before stable 9823) `*\/*` with either format at
 * random. 0.0.4 first: it is the smaller body (no `_created` lines).
 */
export const NATIVE_ACCEPT = 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.9';

/**
 * JVB's own Prometheus endpoint `/metrics` (also Jicofo's): every family
 * forwarded as a scrape stores it. One reader per bridge: it keeps the last
 * body's parse, whose objects the next body reuses when only values changed.
 */
export function createNativeReader(): EndpointReader {
  const parser = new ExpositionReparser();
  return {
    accept: NATIVE_ACCEPT,
    read: (body, maxSeries) => readNative(parser, body, maxSeries),
  };
}

function readNative(parser: ExpositionReparser, body: FetchedBody, maxSeries: number): BodyReading {
  const format = formatFromContentType(body.contentType);
  if (format === undefined) {
    const start = body.text.trimStart();
    // As Prometheus does, an unnamed or unknown type is read as 0.0.4 text; but an HTML page or JSON is not a /metrics.
    if (start.startsWith('<') || start.startsWith('{') || start.startsWith('[')) {
      return {
        ok: false,
        reason: 'not_jvb',
        message: `answered ${JSON.stringify(body.contentType || 'no Content-Type')}, not the Prometheus text format: is this the bridge's /metrics?`,
      };
    }
  }
  const parsed = parser.parse(body.text, format ?? 'text-0.0.4', { maxSamples: maxSeries });
  return parsed.ok ? { ok: true, families: parsed.families, skipped: parsed.skipped } : parsed;
}
