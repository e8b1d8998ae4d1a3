import type { MetricFamily } from '../metric-family';
import { sampleCount } from '../metric-family';
import { fetchEndpoint, type BridgeEndpoint } from '../fetch-endpoint';
import type { PollOutcome, Source } from '../source';
import { redactUrl } from '../../log/redact-url';
import { mapColibriStats } from './map-colibri-stats';
import { parseColibriStats } from './parse-colibri-stats';

/** A real /colibri/stats is about 2.5 KiB; anything near this is not one. */
export const COLIBRI_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The older JSON endpoint (needs the COLIBRI REST API), its fields mapped by rule into families. */
export class ColibriSource implements Source {
  constructor(
    private readonly endpoint: BridgeEndpoint,
    private readonly maxSeries: number,
  ) {}

  async poll(signal: AbortSignal): Promise<PollOutcome> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const where = redactUrl(this.endpoint.url);
    const fetched = await fetchEndpoint(this.endpoint, 'application/json', signal);
    if (!fetched.ok) return fetched;
    const parsed = parseColibriStats(fetched.text);
    if (!parsed.ok) return { ok: false, reason: parsed.reason, message: `${where}: ${parsed.message}`, durationMs: elapsed() };
    // Every field is at least one series: refuse an oversized body before mapping any of it, so memory stays flat.
    const fields = Object.keys(parsed.stats).length;
    if (fields > this.maxSeries) {
      return { ok: false, reason: 'too_many_series', message: `${where}: ${fields} fields, more than the limit of ${this.maxSeries} series`, durationMs: elapsed() };
    }
    const mapped = mapColibriStats(parsed.stats);
    const samples = countSamples(mapped.families);
    if (samples > this.maxSeries) {
      return { ok: false, reason: 'too_many_series', message: `${where}: ${samples} series, more than the limit of ${this.maxSeries}`, durationMs: elapsed() };
    }
    return { ok: true, families: mapped.families, skipped: mapped.skipped, endpoint: where, durationMs: elapsed() };
  }

  close(): void {
    this.endpoint.transport.close();
  }
}

function countSamples(families: readonly MetricFamily[]): number {
  let n = 0;
  for (const family of families) n += sampleCount(family);
  return n;
}
