import type { MetricFamily } from '../metric-family';
import { type ExpositionFormat, type ParseLimits, type ParseResult, type ValuePlace, parseExpositionWithPlaces, parseNumber } from './parse-exposition';

/** The last body parsed in full: the text around its values, and where each value went. */
interface Template {
  readonly format: ExpositionFormat;
  readonly maxSamples: number;
  /** gaps[k]: the text before value k (after value k - 1); gaps[places.length]: the text after the last value. */
  readonly gaps: readonly string[];
  readonly places: readonly ValuePlace[];
  readonly families: MetricFamily[];
  readonly samples: number;
  /** This poll's values, checked in full before any is written. */
  readonly values: Float64Array;
}

/**
 * Parses the successive bodies of one bridge's /metrics. A bridge writes
 * the same lines every time with new values, so when a body is the last one
 * with only its sample values changed, the last result is kept and its
 * values are rewritten in place: no family, series or label object is made
 * again, and the work is one comparison of the text plus one number per
 * sample. Any other difference (a new series, a HELP text, a timestamp, an
 * invalid value) parses the body in full, which decides everything as
 * parseExposition() does, so the result never differs from a full parse.
 *
 * The families returned are those of the last call, updated: a caller must
 * be done with one poll's families before the next poll (a bridge's polls
 * never overlap).
 */
export class ExpositionReparser {
  private template: Template | undefined;

  parse(body: string, format: ExpositionFormat, limits: ParseLimits): ParseResult {
    const t = this.template;
    if (t !== undefined && t.format === format && t.maxSamples === limits.maxSamples && this.reread(t, body)) {
      return { ok: true, families: t.families, samples: t.samples };
    }
    this.template = undefined;
    const parsed = parseExpositionWithPlaces(body, format, limits);
    if (!parsed.ok) return parsed;
    const { places } = parsed;
    const gaps: string[] = [];
    let from = 0;
    for (const place of places) {
      gaps.push(body.slice(from, place.start));
      from = place.end;
    }
    gaps.push(body.slice(from));
    this.template = {
      format,
      maxSamples: limits.maxSamples,
      gaps,
      places,
      families: parsed.families,
      samples: parsed.samples,
      values: new Float64Array(places.length),
    };
    return { ok: true, families: parsed.families, samples: parsed.samples };
  }

  /** Whether `body` is the template's text with other values; if so, the values are written into the template's families. */
  private reread(t: Template, body: string): boolean {
    const { gaps, places, values } = t;
    const om = t.format === 'openmetrics-1.0';
    const n = body.length;
    let p = 0;
    for (let k = 0; k < places.length; k++) {
      const gap = gaps[k]!;
      if (!body.startsWith(gap, p)) return false;
      p += gap.length;
      const end = valueEnd(body, p, n, om);
      const value = parseNumber(body, p, end);
      if (value === undefined) return false;
      values[k] = value;
      p = end;
    }
    const tail = gaps[places.length]!;
    if (n - p !== tail.length || !body.startsWith(tail, p)) return false;
    for (let k = 0; k < places.length; k++) {
      const place = places[k]!;
      if (place.target !== undefined) place.target[place.field] = values[k]!;
    }
    return true;
  }
}

const TAB = 9;
const LF = 10;
const SP = 32;
const LBRACE = 123;

/** Where a value token starting at `p` ends, as each format's parser ends it. */
function valueEnd(s: string, p: number, n: number, om: boolean): number {
  while (p < n) {
    const c = s.charCodeAt(p);
    if (c === SP || c === LF || (!om && (c === TAB || c === LBRACE))) break;
    p++;
  }
  return p;
}
