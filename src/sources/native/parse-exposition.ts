/**
 * Parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0
 * (the two formats of a bridge's native /metrics), into the family model of
 * `metric-family.ts`. Pure: no I/O, never throws, linear in the input.
 *
 * The reference is what a Prometheus 2.42 scrape of the same body stores:
 * - the token rules are those of Prometheus' lexers (model/textparse,
 *   promlex.l and openmetricslex.l of v2.42): 0.0.4 allows spaces and tabs
 *   between all tokens (not before a metric name, which Prometheus refuses),
 *   a trailing comma after the last label, a raw newline inside a label
 *   value and a missing final newline; OpenMetrics allows
 *   exactly one space between tokens, no trailing comma, no blank line and
 *   no comment other than HELP, TYPE, UNIT and the final `# EOF`;
 * - any syntax error fails the whole body, as it fails the scrape;
 * - a label with an empty value is no label (`a{b=""}` is the series `a`);
 *   a label named `__name__` repeats the metric name and is refused;
 * - a series (name and label set) seen twice keeps its first value;
 * - timestamps are checked and ignored; exemplars are checked and ignored.
 *
 * Where the model needs more than Prometheus checks, the body is refused
 * (`invalid_body`): a histogram bucket without `le` (or a gauge histogram
 * bucket), a summary quantile sample without `quantile`, a duplicate label
 * name in one sample, and a sample that would need a scalar family whose
 * name is already a histogram family (`x 1` in a body with histogram `x`:
 * the model cannot hold two families `x`). A NUL character is accepted only in
 * label values, HELP text and comments (Prometheus 0.0.4 would take a NUL
 * at the start of a line as the end of the body; here it is an error).
 *
 * `_created` samples are left out everywhere: they are a creation time, not
 * a measurement, and a push agent that forwarded them would make every
 * counter look like a second series that never changes.
 * - OpenMetrics: the `x_created` sample of a counter, histogram or summary
 *   family `x` is skipped.
 * - 0.0.4: Java's simpleclient writes the creation time of a counter
 *   `x_total` and of a histogram or summary `x` as a separate gauge family
 *   `x_created`, after all other families. A gauge or untyped family named
 *   `x_created` is dropped when the same body has a counter family `x_total`
 *   or a histogram or summary family `x`, before or after it. (Until the
 *   base family is seen its samples count towards the limit, so a body that
 *   lists the `_created` gauges first can hit the limit a little early.)
 *
 * Family mapping (family names are the 0.0.4 names of the stored series):
 * an OpenMetrics counter `x` is the counter family `x_total`; info `x` is
 * the gauge family `x_info`; stateset is a gauge; unknown (and 0.0.4
 * untyped, and samples without TYPE) are `untyped`; a gauge histogram `x`
 * becomes gauge families named by its sample names (`x_bucket` keeping its
 * `le` label, `x_gcount`, `x_gsum`). A sample that does not belong to the
 * family declared by the metadata lines just before it goes to the family
 * that already owns its name, if any, else to an untyped family named by
 * the sample name. Families with one name are merged: scalar types keep the
 * first type seen; when a TYPE line names a family already taken by another
 * kind (its samples came before it), its samples are treated as strays.
 * Families without samples are left out.
 */

import type { MetricFamily } from '../../model/metric-family';
import { COMMA, EQUAL, ExpositionLexer, Failure, HASH, LBRACE, LF, QUOTE, RBRACE, SP, TAB, isLabelChar, isLabelStart, isNameChar, isNameStart } from './exposition-lexer';
import { fitsInt64, parseNumber } from './exposition-values';
import { FamilyBuilder, type ValuePlace } from './family-builder';
import type { SampleLabels } from './sample-labels';

export { parseNumber };
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
  | { readonly ok: true; readonly families: MetricFamily[]; readonly samples: number }
  | { readonly ok: false; readonly reason: 'invalid_body' | 'too_many_series'; readonly message: string };

/** parseExposition(), and where each sample's value went: one place per sample line, in body order. */
export function parseExpositionWithPlaces(
  body: string,
  format: ExpositionFormat,
  limits: ParseLimits,
): (ParseResult & { readonly ok: false }) | { readonly ok: true; readonly families: MetricFamily[]; readonly samples: number; readonly places: ValuePlace[] } {
  const places: ValuePlace[] = [];
  const result = parseExposition(body, format, limits, places);
  return result.ok ? { ...result, places } : result;
}

export function parseExposition(body: string, format: ExpositionFormat, limits: ParseLimits, places?: ValuePlace[]): ParseResult {
  if (typeof body !== 'string') return { ok: false, reason: 'invalid_body', message: 'body is not a string' };
  if (format !== 'text-0.0.4' && format !== 'openmetrics-1.0') {
    return { ok: false, reason: 'invalid_body', message: `unknown exposition format ${JSON.stringify(String(format)).slice(0, 40)}` };
  }
  const max = typeof limits?.maxSamples === 'number' && limits.maxSamples >= 0 ? limits.maxSamples : 0;
  try {
    const parser = new Parser(new ExpositionLexer(body), format === 'openmetrics-1.0', max, places);
    return parser.run();
  } catch (e) {
    if (e instanceof Failure) return { ok: false, reason: e.reason, message: e.message };
    // Not expected; kept so that no input can make the caller's poll throw.
    return { ok: false, reason: 'invalid_body', message: `parser error: ${e instanceof Error ? e.message.slice(0, 100) : 'unknown'}` };
  }
}

// ---------------------------------------------------------------------------

const TYPES_004: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const TYPES_OM: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

class Parser {
  private readonly lx: ExpositionLexer;
  private readonly labels: SampleLabels;
  private readonly s: string;
  private readonly n: number;
  private readonly om: boolean;

  private readonly builder: FamilyBuilder;

  constructor(lx: ExpositionLexer, om: boolean, max: number, places: ValuePlace[] | undefined) {
    this.lx = lx;
    this.labels = lx.labels;
    this.s = lx.s;
    this.n = lx.n;
    this.om = om;
    this.builder = new FamilyBuilder(lx, om, max, places);
  }

  run(): ParseResult {
    if (this.om) this.parseOpenMetrics();
    else this.parse004();
    return { ok: true, families: this.builder.build(), samples: this.builder.samples };
  }

  // -------------------------------------------------------------- text 0.0.4

  private skipBlanks(p: number): number {
    const s = this.s;
    const n = this.n;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c !== SP && c !== TAB) break;
      p++;
    }
    return p;
  }

  private parse004(): void {
    const s = this.s;
    const n = this.n;
    let pos = 0;
    while (pos < n) {
      this.lx.lineStart = pos;
      let p = this.skipBlanks(pos);
      if (p >= n) break;
      const c = s.charCodeAt(p);
      if (c === LF) {
        // blank line
      } else if (c === HASH) {
        p = this.comment004(p);
      } else if (isNameStart(c)) {
        // Prometheus takes the blanks into the metric name, which then is invalid.
        if (p > pos) this.lx.fail('blank before the metric name', pos);
        p = this.sample004(p);
      } else {
        this.lx.fail(`expected a metric name, "#" or end of line, got ${this.lx.describe(p)}`, p);
      }
      // p is at the end of the line.
      if (p < n) {
        p++;
        this.lx.line++;
      }
      pos = p;
    }
  }

  /** `#` comment, `# HELP name text` or `# TYPE name type`; returns the position of the line end. */
  private comment004(p: number): number {
    const s = this.s;
    let lineEnd = s.indexOf('\n', p);
    if (lineEnd < 0) lineEnd = this.n;
    p++;
    const c = this.lx.char(p);
    if (c !== SP && c !== TAB) return lineEnd; // `#text`: a comment
    p = this.skipBlanks(p);
    let kind: 'HELP' | 'TYPE';
    if (s.startsWith('HELP', p)) kind = 'HELP';
    else if (s.startsWith('TYPE', p)) kind = 'TYPE';
    else return lineEnd;
    const after = this.lx.char(p + 4);
    if (after !== SP && after !== TAB) return lineEnd; // e.g. `# HELPER`: a comment
    p = this.skipBlanks(p + 4);
    if (!isNameStart(this.lx.char(p))) this.lx.fail(`expected a metric name after ${kind}, got ${this.lx.describe(p)}`, p);
    const nameStart = p;
    p++;
    while (p < lineEnd && isNameChar(s.charCodeAt(p))) p++;
    const name = s.slice(nameStart, p);
    // The text is the rest of the line without its first character (the separator), '' when the rest is blank.
    let blank = true;
    for (let i = p; i < lineEnd; i++) {
      const ch = s.charCodeAt(i);
      if (ch !== SP && ch !== TAB) {
        blank = false;
        break;
      }
    }
    if (kind === 'HELP') {
      const help = blank ? '' : this.lx.text(p + 1, lineEnd, false);
      this.builder.metadata(name, 'help', help);
    } else {
      const type = blank ? '' : s.slice(p + 1, lineEnd);
      if (!TYPES_004.has(type)) this.lx.fail(`invalid metric type ${JSON.stringify(type.slice(0, 30))} (expected counter, gauge, histogram, summary or untyped)`, p + 1);
      this.builder.metadata(name, 'type', type);
    }
    return lineEnd;
  }

  /** `name{labels} value [timestamp]`; returns the position of the line end. */
  private sample004(p: number): number {
    const s = this.s;
    const n = this.n;
    p = this.lx.sampleName(p);
    const name = s.slice(this.labels.sampleStart, p);
    const afterName = p;
    p = this.skipBlanks(p);
    if (this.lx.char(p) === LBRACE) {
      if (p !== afterName) this.labels.canonical = false;
      p = this.labels004(p + 1);
      p = this.skipBlanks(p);
    }
    const valueStart = p;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === SP || c === TAB || c === LF || c === LBRACE) break;
      p++;
    }
    if (p === valueStart) this.lx.fail(`expected a value after the metric, got ${this.lx.describe(p)}`, p);
    const value = parseNumber(s, valueStart, p);
    if (value === undefined) this.lx.fail(`invalid value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    const valueEnd = p;
    p = this.skipBlanks(p);
    if (p < n && s.charCodeAt(p) !== LF) {
      const tsStart = p;
      while (p < n) {
        const c = s.charCodeAt(p);
        if (c < 48 || c > 57) break;
        p++;
      }
      if (p === tsStart) this.lx.fail(`expected a timestamp or end of line, got ${this.lx.describe(p)}`, p);
      if (!fitsInt64(s, tsStart, p)) this.lx.fail('timestamp out of range', tsStart);
      p = this.skipBlanks(p);
      if (p < n && s.charCodeAt(p) !== LF) this.lx.fail(`expected end of line after the timestamp, got ${this.lx.describe(p)}`, p);
    }
    const duplicate = this.labels.settle();
    if (duplicate !== undefined) this.lx.fail(`duplicate label name ${duplicate}`, p);
    this.builder.addSample(name, value, valueStart, valueEnd);
    return p;
  }

  /** Labels after `{`, up to and including `}`; returns the position after `}`. */
  private labels004(p: number): number {
    const s = this.s;
    const n = this.n;
    let q = p;
    p = this.skipBlanks(p);
    if (p !== q) this.labels.canonical = false;
    for (;;) {
      const c = this.lx.char(p);
      if (c === RBRACE) return p + 1;
      if (!isLabelStart(c)) this.lx.fail(`expected a label name or "}", got ${this.lx.describe(p)}`, p);
      const nameStart = p;
      p++;
      while (p < n && isLabelChar(s.charCodeAt(p))) p++;
      const labelName = s.slice(nameStart, p);
      const nameEnd = p;
      p = this.skipBlanks(p);
      if (this.lx.char(p) !== EQUAL) this.lx.fail(`expected "=" after label name ${labelName}, got ${this.lx.describe(p)}`, p);
      const equal = p;
      p = this.skipBlanks(p + 1);
      if (equal !== nameEnd || p !== equal + 1) this.labels.canonical = false; // blanks around `=`
      if (this.lx.char(p) !== QUOTE) this.lx.fail(`expected a quoted label value, got ${this.lx.describe(p)}`, p);
      p = this.lx.labelValue(p + 1, labelName, true, false);
      q = p;
      p = this.skipBlanks(p);
      const blanksBefore = p !== q;
      const c2 = this.lx.char(p);
      if (c2 === COMMA) {
        q = p + 1;
        p = this.skipBlanks(p + 1);
        const next = this.lx.char(p);
        if (isLabelStart(next)) {
          if (blanksBefore || p !== q) this.labels.canonical = false;
        } else if (next !== RBRACE) {
          this.lx.fail(`expected a label name or "}" after ",", got ${this.lx.describe(p)}`, p);
        }
      } else if (isLabelStart(c2)) {
        this.labels.canonical = false; // labels without a comma between them
      }
    }
  }

  // ---------------------------------------------------------- OpenMetrics 1.0

  private parseOpenMetrics(): void {
    const s = this.s;
    const n = this.n;
    let pos = 0;
    for (;;) {
      this.lx.lineStart = pos;
      if (pos >= n) this.lx.fail('the body does not end with "# EOF"', pos);
      const c = s.charCodeAt(pos);
      let p: number;
      if (c === HASH) {
        if (this.lx.char(pos + 1) !== SP) this.lx.fail(`expected "# " followed by HELP, TYPE, UNIT or EOF, got ${this.lx.describe(pos + 1)} after "#"`, pos + 1);
        p = pos + 2;
        if (s.startsWith('EOF', p)) {
          p += 3;
          if (p < n && s.charCodeAt(p) === LF) {
            p++;
            this.lx.line++;
            this.lx.lineStart = p;
          }
          if (p < n) this.lx.fail('unexpected data after "# EOF"', p);
          return;
        }
        p = this.metadataOM(p);
      } else if (isNameStart(c)) {
        p = this.sampleOM(pos);
      } else {
        this.lx.fail(`expected a metric name or "#", got ${this.lx.describe(pos)}`, pos);
      }
      // p is at the line feed that ends the line.
      pos = p + 1;
      this.lx.line++;
    }
  }

  /** After `# `: `HELP|TYPE|UNIT name text`; returns the position of the line feed. */
  private metadataOM(p: number): number {
    const s = this.s;
    let kind: 'HELP' | 'TYPE' | 'UNIT';
    if (s.startsWith('HELP ', p)) kind = 'HELP';
    else if (s.startsWith('TYPE ', p)) kind = 'TYPE';
    else if (s.startsWith('UNIT ', p)) kind = 'UNIT';
    else this.lx.fail('expected HELP, TYPE, UNIT or EOF after "# " (OpenMetrics allows no other comment)', p);
    p += 5;
    if (!isNameStart(this.lx.char(p))) this.lx.fail(`expected a metric name after ${kind}, got ${this.lx.describe(p)}`, p);
    const nameStart = p;
    p++;
    while (p < this.n && isNameChar(s.charCodeAt(p))) p++;
    const name = s.slice(nameStart, p);
    const lineEnd = s.indexOf('\n', p);
    if (this.lx.char(p) !== SP || lineEnd < 0) this.lx.fail(`expected a space, text and a line feed after ${kind} ${name.slice(0, 30)}`, p);
    if (kind === 'HELP') {
      this.builder.metadata(name, 'help', this.lx.text(p + 1, lineEnd, true));
    } else if (kind === 'TYPE') {
      const type = s.slice(p + 1, lineEnd);
      if (!TYPES_OM.has(type)) {
        this.lx.fail(`invalid metric type ${JSON.stringify(type.slice(0, 30))} (expected counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown)`, p + 1);
      }
      this.builder.metadata(name, 'type', type);
    } else {
      const unit = s.slice(p + 1, lineEnd);
      if (unit !== '' && !(name.length > unit.length + 1 && name.endsWith(unit) && name.charCodeAt(name.length - unit.length - 1) === 95)) {
        this.lx.fail(`unit ${JSON.stringify(unit.slice(0, 30))} is not a suffix of metric ${name.slice(0, 30)}`, p + 1);
      }
      this.builder.metadata(name, 'unit', unit);
    }
    return lineEnd;
  }

  /** `name{labels} value [timestamp] [# {labels} value [timestamp]]`; returns the position of the line feed. */
  private sampleOM(p: number): number {
    const s = this.s;
    const n = this.n;
    p = this.lx.sampleName(p);
    const name = s.slice(this.labels.sampleStart, p);
    if (this.lx.char(p) === LBRACE) p = this.labelsOM(p + 1, false);
    if (this.lx.char(p) !== SP) this.lx.fail(`expected a space and a value after the metric, got ${this.lx.describe(p)}`, p);
    p++;
    const valueStart = p;
    p = this.token(p);
    if (p === valueStart) this.lx.fail(`expected a value after the metric, got ${this.lx.describe(p)}`, p);
    const value = parseNumber(s, valueStart, p);
    if (value === undefined) this.lx.fail(`invalid value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    const valueEnd = p;
    if (p < n && s.charCodeAt(p) === SP && !s.startsWith(' # {', p)) {
      const tsStart = p + 1;
      p = this.token(tsStart);
      if (p === tsStart) this.lx.fail(`expected a timestamp or an exemplar, got ${this.lx.describe(p)}`, p);
      const ts = parseNumber(s, tsStart, p);
      if (ts === undefined || !Number.isFinite(ts)) this.lx.fail(`invalid timestamp ${JSON.stringify(s.slice(tsStart, Math.min(p, tsStart + 30)))}`, tsStart);
    }
    if (s.startsWith(' # {', p)) p = this.exemplarOM(p + 4, name);
    if (p >= n) this.lx.fail('the body does not end with "# EOF"', p);
    if (s.charCodeAt(p) !== LF) this.lx.fail(`expected end of line, a timestamp or an exemplar, got ${this.lx.describe(p)}`, p);
    const duplicate = this.labels.settle();
    if (duplicate !== undefined) this.lx.fail(`duplicate label name ${duplicate}`, p);
    this.builder.addSample(name, value, valueStart, valueEnd);
    return p;
  }

  /** End of a token that runs to the next space or line feed. */
  private token(p: number): number {
    const s = this.s;
    const n = this.n;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === SP || c === LF) break;
      p++;
    }
    return p;
  }

  /** Exemplar after ` # {`: labels, value, optional timestamp; returns the position after it. */
  private exemplarOM(p: number, sampleName: string): number {
    if (!sampleName.endsWith('_total') && !sampleName.endsWith('_bucket')) {
      this.lx.fail(`metric ${sampleName.slice(0, 30)} does not support exemplars (only _total and _bucket samples)`, p - 4);
    }
    const s = this.s;
    p = this.labelsOM(p, true);
    if (this.lx.char(p) !== SP) this.lx.fail(`expected a space and a value after the exemplar labels, got ${this.lx.describe(p)}`, p);
    const valueStart = p + 1;
    p = this.token(valueStart);
    if (p === valueStart || parseNumber(s, valueStart, p) === undefined) {
      this.lx.fail(`invalid exemplar value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    }
    if (this.lx.char(p) === SP) {
      const tsStart = p + 1;
      p = this.token(tsStart);
      const ts = parseNumber(s, tsStart, p);
      if (ts === undefined || !Number.isFinite(ts)) this.lx.fail(`invalid exemplar timestamp ${JSON.stringify(s.slice(tsStart, Math.min(p, tsStart + 30)))}`, tsStart);
    }
    return p;
  }

  /** OpenMetrics labels after `{`, up to and including `}`: no spaces, no trailing comma. */
  private labelsOM(p: number, exemplar: boolean): number {
    const s = this.s;
    const n = this.n;
    let first = true;
    for (;;) {
      let c = this.lx.char(p);
      if (c === RBRACE) return p + 1;
      if (first) {
        if (!isLabelStart(c)) this.lx.fail(`expected a label name or "}", got ${this.lx.describe(p)}`, p);
        first = false;
      } else {
        if (c !== COMMA) this.lx.fail(`expected "," or "}" after a label value, got ${this.lx.describe(p)}`, p);
        p++;
        c = this.lx.char(p);
        if (!isLabelStart(c)) this.lx.fail(`expected a label name after ",", got ${this.lx.describe(p)}`, p);
      }
      const nameStart = p;
      p++;
      while (p < n && isLabelChar(s.charCodeAt(p))) p++;
      const labelName = s.slice(nameStart, p);
      if (this.lx.char(p) !== EQUAL) this.lx.fail(`expected "=" after label name ${labelName}, got ${this.lx.describe(p)}`, p);
      p++;
      if (this.lx.char(p) !== QUOTE) this.lx.fail(`expected a quoted label value, got ${this.lx.describe(p)}`, p);
      p = this.lx.labelValue(p + 1, labelName, false, exemplar);
    }
  }

  // ------------------------------------------------------------- the model
}
