import type { MetricFamily } from '../../model/metric-family';
import type { SkippedField } from '../source';
import { parseNumber } from './exposition-values';
import { type ExpositionFormat, type ParseLimits, type ParseResult, type ValuePlace, parseExpositionWithPlaces } from './parse-exposition';

/** The last body parsed in full: the text around its values, and where each value went. */
interface Template {
  readonly format: ExpositionFormat;
  readonly maxSamples: number;
  /** The body parsed in full; gapStart[k]..gapEnd[k] is its text before value k (after value k - 1), the last gap the text after the last value. */
  readonly body: string;
  readonly gapStart: Int32Array;
  readonly gapEnd: Int32Array;
  /** Value k goes to targets[k][fields[k]] (no target: not stored). Two arrays, not the parse's place objects: they are kept as long as the body. */
  readonly targets: ReadonlyArray<Record<string, unknown> | undefined>;
  readonly fields: readonly string[];
  readonly families: MetricFamily[];
  readonly samples: number;
  readonly skipped: readonly SkippedField[];
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
    const reused = this.reuse(body, format, limits);
    if (reused !== undefined) return reused;
    const parsed = parseExpositionWithPlaces(body, format, limits);
    if (parsed.ok) this.remember(body, format, limits, parsed, parsed.places);
    return parsed.ok ? { ok: true, families: parsed.families, samples: parsed.samples, skipped: parsed.skipped } : parsed;
  }

  /** The last result with this body's values written in, when `body` differs from the last one only in its values; else undefined (and the last is forgotten). */
  reuse(body: string, format: ExpositionFormat, limits: ParseLimits): ParseResult | undefined {
    const t = this.template;
    if (t !== undefined && t.format === format && t.maxSamples === limits.maxSamples && this.reread(t, body)) {
      return { ok: true, families: t.families, samples: t.samples, skipped: t.skipped };
    }
    this.template = undefined;
    return undefined;
  }

  /** Keeps a body parsed elsewhere (a slice at a time), with where each value went, for the next reuse(). */
  remember(body: string, format: ExpositionFormat, limits: ParseLimits, parsed: ParseResult & { readonly ok: true }, places: readonly ValuePlace[]): void {
    const gapStart = new Int32Array(places.length + 1);
    const gapEnd = new Int32Array(places.length + 1);
    const targets: Array<Record<string, unknown> | undefined> = new Array(places.length);
    const fields: string[] = new Array(places.length);
    let from = 0;
    places.forEach((place, k) => {
      gapStart[k] = from;
      gapEnd[k] = place.start;
      from = place.end;
      targets[k] = place.target;
      fields[k] = place.field;
    });
    gapStart[places.length] = from;
    gapEnd[places.length] = body.length;
    this.template = {
      format,
      maxSamples: limits.maxSamples,
      body,
      gapStart,
      gapEnd,
      targets,
      fields,
      families: parsed.families,
      samples: parsed.samples,
      skipped: parsed.skipped,
      values: new Float64Array(places.length),
    };
  }

  /** Whether `body` is the template's text with other values; if so, the values are written into the template's families. */
  private reread(t: Template, body: string): boolean {
    const { targets, fields, values, gapStart, gapEnd } = t;
    const old = t.body;
    const om = t.format === 'openmetrics-1.0';
    const n = body.length;
    let p = 0;
    // Gap k is the text before value k; the last gap, the text after the last value.
    for (let k = 0; ; k++) {
      // (A loop over both strings: a little faster than startsWith() on a slice of the old body.)
      const end0 = gapEnd[k]!;
      if (p + end0 - gapStart[k]! > n) return false;
      for (let j = gapStart[k]!; j < end0; j++, p++) {
        if (body.charCodeAt(p) !== old.charCodeAt(j)) return false;
      }
      if (k === targets.length) break;
      const end = valueEnd(body, p, n, om);
      const value = parseNumber(body, p, end);
      if (value === undefined) return false;
      values[k] = value;
      p = end;
    }
    if (p !== n) return false;
    for (let k = 0; k < targets.length; k++) {
      const target = targets[k];
      if (target !== undefined) target[fields[k]!] = values[k]!;
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
