import type { BodyReading, EndpointReader } from '../endpoint-source';
import type { FetchedBody } from '../fetch-endpoint';
import { LARGE_BODY_BYTES, runInSlices, type ReadDeadline } from '../read-deadline';
import { ExpositionReparser } from './exposition-reparser';
import { type ExpositionFormat, formatFromContentType, type ParseResult, startSlicedParse } from './parse-exposition';

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
 * A large body (LARGE_BODY_BYTES characters) is parsed afresh, a slice at a
 * time (read-deadline.ts), without that reuse.
 */
export function createNativeReader(): EndpointReader {
  let parser = new ExpositionReparser();
  return {
    accept: NATIVE_ACCEPT,
    read(body, maxSeries, deadline) {
      const format = formatOf(body);
      if (typeof format !== 'string') return format;
      if (body.text.length < LARGE_BODY_BYTES) return reading(parser.parse(body.text, format, { maxSamples: maxSeries }));
      // The last result is not reused for a large body: the reparser (and what it keeps of the last body) is let go.
      parser = new ExpositionReparser();
      return readInSlices(body.text, format, maxSeries, deadline);
    },
  };
}

function formatOf(body: FetchedBody): ExpositionFormat | BodyReading {
  const format = formatFromContentType(body.contentType);
  if (format !== undefined) return format;
  const start = body.text.trimStart();
  // As Prometheus does, an unnamed or unknown type is read as 0.0.4 text; but an HTML page or JSON is not a /metrics.
  if (start.startsWith('<') || start.startsWith('{') || start.startsWith('[')) {
    return {
      ok: false,
      reason: 'not_jvb',
      message: `answered ${JSON.stringify(body.contentType || 'no Content-Type')}, not the Prometheus text format: is this the bridge's /metrics?`,
    };
  }
  return 'text-0.0.4';
}

function reading(parsed: ParseResult): BodyReading {
  return parsed.ok ? { ok: true, families: parsed.families, skipped: parsed.skipped } : parsed;
}

async function readInSlices(text: string, format: ExpositionFormat, maxSeries: number, deadline: ReadDeadline): Promise<BodyReading> {
  const parse = startSlicedParse(text, format, { maxSamples: maxSeries });
  const run = await runInSlices((chars) => parse.step(chars), deadline);
  if (run.kind === 'done') return reading(run.value);
  const read = `${Math.floor((100 * parse.position) / text.length)}% of it parsed`;
  return run.kind === 'late'
    ? { ok: false, reason: 'timeout', message: `${read} when the deadline passed` }
    : { ok: false, reason: 'aborted', message: `poll cancelled while the body was parsed (${read})` };
}
