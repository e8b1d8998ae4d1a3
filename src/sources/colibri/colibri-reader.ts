import type { EndpointReader } from '../endpoint-source';
import { sampleCount } from '../../model/metric-family';
import { ColibriMapper } from './colibri-mapper';
import { parseColibriStats } from './parse-colibri-stats';

/** A real /colibri/stats is about 2.5 KiB; anything near this is not one. */
export const COLIBRI_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The older JSON endpoint (needs the COLIBRI REST API), its fields mapped by
 * rule into families. One reader per bridge: it keeps the last mapping,
 * which the next body reuses when only its numbers changed.
 */
export function createColibriReader(): EndpointReader {
  const mapper = new ColibriMapper();
  return {
    accept: 'application/json',
    read(body, maxSeries) {
      const parsed = parseColibriStats(body.text);
      if (!parsed.ok) return parsed;
      // Every field is at least one series: refuse an oversized body before mapping any of it, so memory stays flat.
      const keys = Object.keys(parsed.stats);
      if (keys.length > maxSeries) return { ok: false, reason: 'too_many_series', message: `${keys.length} fields, more than the limit of ${maxSeries} series` };
      const mapped = mapper.map(parsed.stats, keys);
      const samples = mapped.families.reduce((n, family) => n + sampleCount(family), 0);
      if (samples > maxSeries) return { ok: false, reason: 'too_many_series', message: `${samples} series, more than the limit of ${maxSeries}` };
      return { ok: true, families: mapped.families, skipped: mapped.skipped };
    },
  };
}
