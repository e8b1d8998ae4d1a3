import type { BodyReading, EndpointReader } from '../endpoint-source';
import type { FetchedBody } from '../fetch-endpoint';
import { LARGE_BODY_BYTES, runInSlices, type ReadDeadline } from '../read-deadline';
import { ExpositionReparser } from './exposition-reparser';
import { type ExpositionFormat, formatFromContentType, type ParseResult, startSlicedParse, type ValuePlace } from './parse-exposition';

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
 * A large body (LARGE_BODY_BYTES characters) that differs from the last
 * in more than its values is parsed a slice at a time (read-deadline.ts);
 * up to REUSE_MAX_CHARS its parse is kept for that reuse too.
 */
export function createNativeReader(): EndpointReader {
  const parser = new ExpositionReparser();
  return {
    accept: NATIVE_ACCEPT,
    read(body, maxSeries, deadline) {
      const format = formatOf(body);
      if (typeof format !== 'string') return format;
      const limits = { maxSamples: maxSeries };
      if (body.text.length < LARGE_BODY_BYTES) return reading(parser.parse(body.text, format, limits));
      // Checking that only the values changed is one pass over the text, far quicker than a parse: done at once.
      const reused = parser.reuse(body.text, format, limits);
      if (reused !== undefined) return reading(reused);
      return readInSlices(parser, body.text, format, maxSeries, deadline);
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

/**
 * Bodies larger than this are not kept for reuse: the reparser holds the
 * last body and one object per value, and with raised limits a body may be
 * many times the default body limit.
 */
const REUSE_MAX_CHARS = 16 * 1024 * 1024;

async function readInSlices(parser: ExpositionReparser, text: string, format: ExpositionFormat, maxSeries: number, deadline: ReadDeadline): Promise<BodyReading> {
  const limits = { maxSamples: maxSeries };
  const places: ValuePlace[] | undefined = text.length <= REUSE_MAX_CHARS ? [] : undefined;
  const parse = startSlicedParse(text, format, limits, places);
  const run = await runInSlices((chars) => parse.step(chars), deadline);
  if (run.kind === 'done') {
    if (run.value.ok && places !== undefined) parser.remember(text, format, limits, run.value, places);
    return reading(run.value);
  }
  const read = `${Math.floor((100 * parse.position) / text.length)}% of it parsed`;
  return run.kind === 'late'
    ? { ok: false, reason: 'timeout', message: `${read} when the deadline passed` }
    : { ok: false, reason: 'aborted', message: `poll cancelled while the body was parsed (${read})` };
}
