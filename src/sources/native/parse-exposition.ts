/**
 * The native exposition parser's entry: a bridge's /metrics body (Prometheus
 * text 0.0.4 or OpenMetrics 1.0) into the family model, as a Prometheus 2.42
 * scrape of it would store it. Pure: no I/O, never throws, linear in the
 * input. What is accepted, what is refused and why: docs/native-parsing.md.
 *
 * The work is done by text-format-parser.ts and openmetrics-parser.ts (the
 * grammars), exposition-lexer.ts, exposition-values.ts and sample-labels.ts
 * (what both grammars share), and family-builder.ts, family-table.ts and
 * sample-roles.ts (samples into families).
 */

import type { MetricFamily } from '../../model/metric-family';
import type { SkippedField } from '../source';
import { ExpositionLexer, Failure } from './exposition-lexer';
import { FamilyBuilder, type ValuePlace } from './family-builder';
import { OpenMetricsParser } from './openmetrics-parser';
import { TextFormatParser } from './text-format-parser';

export { parseNumber } from './exposition-values';
export type { ValuePlace };

export type ExpositionFormat = 'text-0.0.4' | 'openmetrics-1.0';

/** 'openmetrics-1.0' for application/openmetrics-text (any version param), 'text-0.0.4' for text/plain (any params) ; undefined for anything else (e.g. application/json, text/html). */
export function formatFromContentType(contentType: string | undefined): ExpositionFormat | undefined {
  if (typeof contentType !== 'string') return undefined;
  const semi = contentType.indexOf(';');
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (media === 'application/openmetrics-text') return 'openmetrics-1.0';
  if (media === 'text/plain') return 'text-0.0.4';
  return undefined;
}

export interface ParseLimits {
  /** Most samples (stored series: each bucket, _sum, _count counts) accepted. */
  readonly maxSamples: number;
}

export type ParseResult =
  | { readonly ok: true; readonly families: MetricFamily[]; readonly samples: number; readonly skipped: readonly SkippedField[] }
  | { readonly ok: false; readonly reason: 'invalid_body' | 'too_many_series'; readonly message: string };

/** parseExposition(), and where each sample's value went: one place per sample line, in body order. */
export function parseExpositionWithPlaces(
  body: string,
  format: ExpositionFormat,
  limits: ParseLimits,
): (ParseResult & { readonly ok: false }) | (ParseResult & { readonly ok: true; readonly places: ValuePlace[] }) {
  const places: ValuePlace[] = [];
  const result = parseExposition(body, format, limits, places);
  return result.ok ? { ...result, places } : result;
}

/**
 * parseExposition() a slice at a time, for a body too large to read in one
 * go without holding up the event loop: each `step(chars)` reads the whole
 * lines that start within the next `chars` characters and returns
 * undefined, or the result once the body is read (the same result as
 * parseExposition()'s). `position` is how far it has read.
 */
export interface SlicedParse {
  step(chars: number): ParseResult | undefined;
  readonly position: number;
}

export function startSlicedParse(body: string, format: ExpositionFormat, limits: ParseLimits, places?: ValuePlace[]): SlicedParse {
  let result: ParseResult | undefined = refusedInput(body, format);
  let position = 0;
  let grammar: { parseLines(pos: number, until: number): number } | undefined;
  let builder: FamilyBuilder | undefined;
  if (result === undefined) {
    const max = typeof limits?.maxSamples === 'number' && limits.maxSamples >= 0 ? limits.maxSamples : 0;
    const lx = new ExpositionLexer(body);
    builder = new FamilyBuilder(lx, format === 'openmetrics-1.0', max, places);
    grammar = format === 'openmetrics-1.0' ? new OpenMetricsParser(lx, builder) : new TextFormatParser(lx, builder);
  }
  return {
    get position() {
      return position;
    },
    step(chars) {
      if (result !== undefined) return result;
      try {
        const stopped = grammar!.parseLines(position, position + Math.max(1, chars));
        if (stopped >= 0) {
          position = stopped;
          return undefined;
        }
        result = { ok: true, families: builder!.build(), samples: builder!.samples, skipped: builder!.skipped };
      } catch (e) {
        result = failed(e);
      }
      position = body.length;
      return result;
    },
  };
}

function refusedInput(body: string, format: ExpositionFormat): ParseResult | undefined {
  if (typeof body !== 'string') return { ok: false, reason: 'invalid_body', message: 'body is not a string' };
  if (format !== 'text-0.0.4' && format !== 'openmetrics-1.0') {
    return { ok: false, reason: 'invalid_body', message: `unknown exposition format ${JSON.stringify(String(format)).slice(0, 40)}` };
  }
  return undefined;
}

function failed(e: unknown): ParseResult {
  if (e instanceof Failure) return { ok: false, reason: e.reason, message: e.message };
  // Not expected; kept so that no input can make the caller's poll throw.
  return { ok: false, reason: 'invalid_body', message: `parser error: ${e instanceof Error ? e.message.slice(0, 100) : 'unknown'}` };
}

export function parseExposition(body: string, format: ExpositionFormat, limits: ParseLimits, places?: ValuePlace[]): ParseResult {
  const refused = refusedInput(body, format);
  if (refused !== undefined) return refused;
  const max = typeof limits?.maxSamples === 'number' && limits.maxSamples >= 0 ? limits.maxSamples : 0;
  try {
    const om = format === 'openmetrics-1.0';
    const lx = new ExpositionLexer(body);
    const builder = new FamilyBuilder(lx, om, max, places);
    if (om) new OpenMetricsParser(lx, builder).parse();
    else new TextFormatParser(lx, builder).parse();
    return { ok: true, families: builder.build(), samples: builder.samples, skipped: builder.skipped };
  } catch (e) {
    return failed(e);
  }
}
