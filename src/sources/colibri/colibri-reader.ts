import type { EndpointReader } from '../endpoint-source';
import { sampleCount } from '../metric-family';
import { mapColibriStats } from './map-colibri-stats';
import { parseColibriStats } from './parse-colibri-stats';

/** A real /colibri/stats is about 2.5 KiB; anything near this is not one. */
export const COLIBRI_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The older JSON endpoint (needs the COLIBRI REST API), its fields mapped by rule into families. */
export const colibriReader: EndpointReader = {
  accept: 'application/json',
  read(body, maxSeries) {
    const parsed = parseColibriStats(body.text);
    if (!parsed.ok) return parsed;
    // Every field is at least one series: refuse an oversized body before mapping any of it, so memory stays flat.
    const fields = Object.keys(parsed.stats).length;
    if (fields > maxSeries) return { ok: false, reason: 'too_many_series', message: `${fields} fields, more than the limit of ${maxSeries} series` };
    const mapped = mapColibriStats(parsed.stats);
    let samples = 0;
    for (const family of mapped.families) samples += sampleCount(family);
    if (samples > maxSeries) return { ok: false, reason: 'too_many_series', message: `${samples} series, more than the limit of ${maxSeries}` };
    return { ok: true, families: mapped.families, skipped: mapped.skipped };
  },
};
