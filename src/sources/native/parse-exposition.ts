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

import type { Bucket, HistogramSeries, Labels, MetricFamily, Quantile, ScalarSeries, ScalarType, SummarySeries } from '../../model/metric-family';
import { COMMA, EQUAL, ExpositionLexer, Failure, HASH, LBRACE, LF, QUOTE, RBRACE, SP, TAB, isLabelChar, isLabelStart, isNameChar, isNameStart } from './exposition-lexer';
import { fitsInt64, parseNumber } from './exposition-values';
import type { SampleLabels } from './sample-labels';

export { parseNumber };

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

/**
 * Where one sample line's value is in the body ([start, end)), and the
 * object and field of the parse result it was stored in (no target: the
 * sample was not stored, e.g. a duplicate series or a `_created` sample).
 */
export interface ValuePlace {
  readonly start: number;
  readonly end: number;
  target: Record<string, unknown> | undefined;
  field: string;
}

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

type RawType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'gaugehistogram' | 'info' | 'stateset' | 'unknown';
type FamilyType = ScalarType | 'histogram' | 'summary';

const TYPES_004: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const TYPES_OM: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

// What a sample is to its family.
const R_NONE = 0;
const R_SCALAR = 1;
const R_BUCKET = 2;
const R_HSUM = 3;
const R_HCOUNT = 4;
const R_QUANTILE = 5;
const R_SSUM = 6;
const R_SCOUNT = 7;
/** An OpenMetrics `_created` sample: skipped. */
const R_SKIP = 8;
/** A gauge histogram's `_bucket` sample: a gauge that must have `le`. */
const R_GH_BUCKET = 9;
/** A gauge histogram's `_gcount`/`_gsum` sample: a gauge. */
const R_GH_SCALAR = 10;

// Roles of a block's sample names, in the order blockNames() lists them.
const ROLES_OM_COUNTER: readonly number[] = [R_SCALAR, R_SKIP];
const ROLES_SCALAR: readonly number[] = [R_SCALAR];
const ROLES_OM_HISTOGRAM: readonly number[] = [R_BUCKET, R_HSUM, R_HCOUNT, R_SKIP];
const ROLES_OM_SUMMARY: readonly number[] = [R_QUANTILE, R_SSUM, R_SCOUNT, R_SKIP];
const ROLES_GAUGE_HISTOGRAM: readonly number[] = [R_GH_BUCKET, R_GH_SCALAR, R_GH_SCALAR];
const ROLES_HISTOGRAM: readonly number[] = [R_BUCKET, R_HSUM, R_HCOUNT];
const ROLES_SUMMARY: readonly number[] = [R_QUANTILE, R_SSUM, R_SCOUNT];

interface Group {
  readonly labels: Labels;
  readonly items: Array<Bucket | Quantile>;
  sum: number | undefined;
  count: number | undefined;
}

interface Family {
  readonly name: string;
  readonly type: FamilyType;
  help: string;
  unit: string;
  readonly scalars: ScalarSeries[];
  readonly groups: Map<string, Group> | undefined;
  readonly groupList: Group[];
  /** 0.0.4 `_created` gauge: 0 not one, 1 possibly (counted), 2 dropped. */
  created: 0 | 1 | 2;
  /** Samples stored (counted towards the limit). */
  samples: number;
}

/** The metadata lines (TYPE, HELP, UNIT) of one name, and the family its samples went to. */
interface Block {
  readonly name: string;
  type: RawType | undefined;
  help: string | undefined;
  unit: string | undefined;
  /** Sample names of the family and their roles, set at the first sample. */
  names: string[] | undefined;
  roles: readonly number[] | undefined;
  /** Set at the first sample (not for a gauge histogram, whose samples go to one family per name). */
  family: Family | undefined;
  bound: boolean;
}

interface Claim {
  readonly family: Family;
  readonly role: number;
}

function isScalarType(t: FamilyType): boolean {
  return t === 'counter' || t === 'gauge' || t === 'untyped';
}

class Parser {
  private readonly lx: ExpositionLexer;
  private readonly labels: SampleLabels;
  private readonly s: string;
  private readonly n: number;
  private readonly om: boolean;
  private readonly max: number;

  private block: Block | undefined;
  private readonly families = new Map<string, Family>();
  private readonly familyOrder: Family[] = [];
  /** 0.0.4 `_created` gauge families not yet known to be dropped. */
  private createdCandidates = 0;
  /** Series already stored: name + canonical labels. */
  private readonly seen = new Set<string>();
  private total = 0;

  /** Filled when the caller asks where values went (parseExpositionWithPlaces); sum and count places point at their Group until build(). */
  private readonly places: ValuePlace[] | undefined;
  private readonly groupPlaces: ValuePlace[] = [];

  constructor(lx: ExpositionLexer, om: boolean, max: number, places: ValuePlace[] | undefined) {
    this.lx = lx;
    this.labels = lx.labels;
    this.s = lx.s;
    this.n = lx.n;
    this.om = om;
    this.max = max;
    this.places = places;
  }

  run(): ParseResult {
    if (this.om) this.parseOpenMetrics();
    else this.parse004();
    return { ok: true, families: this.build(), samples: this.total };
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
      this.metadata(name, 'help', help);
    } else {
      const type = blank ? '' : s.slice(p + 1, lineEnd);
      if (!TYPES_004.has(type)) this.lx.fail(`invalid metric type ${JSON.stringify(type.slice(0, 30))} (expected counter, gauge, histogram, summary or untyped)`, p + 1);
      this.metadata(name, 'type', type as RawType);
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
    this.addSample(name, value, valueStart, valueEnd);
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
      this.metadata(name, 'help', this.lx.text(p + 1, lineEnd, true));
    } else if (kind === 'TYPE') {
      const type = s.slice(p + 1, lineEnd);
      if (!TYPES_OM.has(type)) {
        this.lx.fail(`invalid metric type ${JSON.stringify(type.slice(0, 30))} (expected counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown)`, p + 1);
      }
      this.metadata(name, 'type', type as RawType);
    } else {
      const unit = s.slice(p + 1, lineEnd);
      if (unit !== '' && !(name.length > unit.length + 1 && name.endsWith(unit) && name.charCodeAt(name.length - unit.length - 1) === 95)) {
        this.lx.fail(`unit ${JSON.stringify(unit.slice(0, 30))} is not a suffix of metric ${name.slice(0, 30)}`, p + 1);
      }
      this.metadata(name, 'unit', unit);
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
    this.addSample(name, value, valueStart, valueEnd);
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

  /** A TYPE, HELP or UNIT line for `name`. */
  private metadata(name: string, field: 'type' | 'help' | 'unit', value: string): void {
    let block = this.block;
    if (block === undefined || block.name !== name || block.bound) {
      block = { name, type: undefined, help: undefined, unit: undefined, names: undefined, roles: undefined, family: undefined, bound: false };
      this.block = block;
    }
    if (field === 'type') {
      block.type = value as RawType;
      block.names = undefined; // recomputed for the new type at the next sample
      block.roles = undefined;
    } else if (field === 'help') block.help = value;
    else block.unit = value;
  }

  /** The sample names of a block's family and what each one is. */
  private blockNames(block: Block): void {
    const m = block.name;
    let names: string[];
    let roles: readonly number[];
    if (this.om) {
      switch (block.type) {
        case 'counter':
          names = [`${m}_total`, `${m}_created`];
          roles = ROLES_OM_COUNTER;
          break;
        case 'info':
          names = [`${m}_info`];
          roles = ROLES_SCALAR;
          break;
        case 'histogram':
          names = [`${m}_bucket`, `${m}_sum`, `${m}_count`, `${m}_created`];
          roles = ROLES_OM_HISTOGRAM;
          break;
        case 'summary':
          names = [m, `${m}_sum`, `${m}_count`, `${m}_created`];
          roles = ROLES_OM_SUMMARY;
          break;
        case 'gaugehistogram':
          names = [`${m}_bucket`, `${m}_gcount`, `${m}_gsum`];
          roles = ROLES_GAUGE_HISTOGRAM;
          break;
        default:
          names = [m];
          roles = ROLES_SCALAR;
      }
    } else if (block.type === 'histogram') {
      names = [`${m}_bucket`, `${m}_sum`, `${m}_count`];
      roles = ROLES_HISTOGRAM;
    } else if (block.type === 'summary') {
      names = [m, `${m}_sum`, `${m}_count`];
      roles = ROLES_SUMMARY;
    } else {
      names = [m];
      roles = ROLES_SCALAR;
    }
    block.names = names;
    block.roles = roles;
  }

  /** The family (name and type in the model) of a block whose samples all go to one family; undefined when that name is taken by a family of another kind. */
  private blockFamily(block: Block): Family | undefined {
    const m = block.name;
    const help = block.help ?? '';
    const unit = block.unit ?? '';
    switch (block.type) {
      case 'counter':
        return this.family(this.om ? `${m}_total` : m, 'counter', help, unit, true);
      case 'gauge':
      case 'stateset':
        return this.family(m, 'gauge', help, unit, true);
      case 'info':
        return this.family(`${m}_info`, 'gauge', help, unit, true);
      case 'histogram':
        return this.family(m, 'histogram', help, unit, true);
      case 'summary':
        return this.family(m, 'summary', help, unit, true);
      default:
        return this.family(m, 'untyped', help, unit, true);
    }
  }

  /**
   * The family named `name`, created when new. One name cannot be both a
   * scalar and a histogram/summary family: then undefined when `soft`, else
   * the body is refused.
   */
  private family(name: string, type: FamilyType, help: string, unit: string, soft: true): Family | undefined;
  private family(name: string, type: FamilyType, help: string, unit: string): Family;
  private family(name: string, type: FamilyType, help: string, unit: string, soft = false): Family | undefined {
    const existing = this.families.get(name);
    if (existing !== undefined) {
      if (existing.type !== type && !(isScalarType(existing.type) && isScalarType(type))) {
        if (soft) return undefined;
        this.lx.fail(`family ${name.slice(0, 40)} is both ${existing.type} and ${type}`, this.lx.lineStart);
      }
      if (existing.help === '') existing.help = help;
      if (existing.unit === '') existing.unit = unit;
      return existing;
    }
    const grouped = type === 'histogram' || type === 'summary';
    const family: Family = { name, type, help, unit, scalars: [], groups: grouped ? new Map() : undefined, groupList: [], created: 0, samples: 0 };
    this.families.set(name, family);
    this.familyOrder.push(family);
    if (!this.om) this.createdRule(family);
    return family;
  }

  /**
   * The family that owns a sample name outside its metadata block, and what
   * the sample is to it: a scalar or summary family of that name, else a
   * histogram/summary (or, in OpenMetrics, counter) family whose sample names
   * include it.
   */
  private owner(name: string): Claim | undefined {
    const families = this.families;
    const exact = families.get(name);
    if (exact !== undefined) {
      if (isScalarType(exact.type)) return { family: exact, role: R_SCALAR };
      if (exact.type === 'summary') return { family: exact, role: R_QUANTILE };
    }
    const cut = name.lastIndexOf('_');
    if (cut <= 0) return undefined;
    const base = name.slice(0, cut);
    const suffix = name.slice(cut);
    const family = families.get(base);
    const type = family?.type;
    switch (suffix) {
      case '_bucket':
        return type === 'histogram' ? { family: family!, role: R_BUCKET } : undefined;
      case '_sum':
        return type === 'histogram' ? { family: family!, role: R_HSUM } : type === 'summary' ? { family: family!, role: R_SSUM } : undefined;
      case '_count':
        return type === 'histogram' ? { family: family!, role: R_HCOUNT } : type === 'summary' ? { family: family!, role: R_SCOUNT } : undefined;
      case '_created': {
        if (!this.om) return undefined;
        if (type === 'histogram' || type === 'summary') return { family: family!, role: R_SKIP };
        const counter = families.get(`${base}_total`);
        return counter?.type === 'counter' ? { family: counter, role: R_SKIP } : undefined;
      }
      default:
        return undefined;
    }
  }

  /** 0.0.4: a gauge/untyped `x_created` goes when a counter `x_total` or histogram/summary `x` exists (see the file comment). */
  private createdRule(family: Family): void {
    const name = family.name;
    const type = family.type;
    if ((type === 'gauge' || type === 'untyped') && name.endsWith('_created')) {
      const base = name.slice(0, -8);
      const counter = this.families.get(`${base}_total`);
      const grouped = this.families.get(base);
      const hasBase = counter?.type === 'counter' || grouped?.type === 'histogram' || grouped?.type === 'summary';
      family.created = hasBase ? 2 : 1;
      if (!hasBase) this.createdCandidates++;
      return;
    }
    if (this.createdCandidates === 0) return;
    let createdName: string | undefined;
    if (type === 'counter' && name.endsWith('_total')) createdName = `${name.slice(0, -6)}_created`;
    else if (type === 'histogram' || type === 'summary') createdName = `${name}_created`;
    if (createdName === undefined) return;
    const created = this.families.get(createdName);
    if (created !== undefined && created.created === 1) {
      created.created = 2;
      this.createdCandidates--;
      this.total -= created.samples;
    }
  }

  /** Stores the sample just parsed (name, labels in the scratch arrays, value). */
  private addSample(name: string, value: number, valueStart: number, valueEnd: number): void {
    // Every sample line has a place, stored or not (see stored()).
    this.places?.push({ start: valueStart, end: valueEnd, target: undefined, field: '' });
    let family: Family | undefined;
    let role = R_NONE;
    const block = this.block;
    if (block !== undefined) {
      if (block.names === undefined) this.blockNames(block);
      const names = block.names!;
      for (let i = 0; i < names.length; i++) {
        if (names[i] === name) {
          role = block.roles![i]!;
          break;
        }
      }
      if (role === R_SKIP) return;
      if (role === R_GH_BUCKET || role === R_GH_SCALAR) {
        block.bound = true;
        family = this.family(name, 'gauge', block.help ?? '', block.unit ?? '', true);
      } else if (role !== R_NONE) {
        if (!block.bound) {
          block.bound = true;
          block.family = this.blockFamily(block);
        }
        family = block.family;
      }
      // The block's family name is taken by a family of another kind (e.g. its
      // samples came before its TYPE line): its samples go where strays go.
      if (family === undefined) role = R_NONE;
    }
    if (family === undefined || role === R_NONE) {
      const claim = this.owner(name);
      if (claim !== undefined) {
        family = claim.family;
        role = claim.role;
      } else {
        family = this.family(name, 'untyped', '', '');
        role = R_SCALAR;
      }
    }
    if (role === R_SKIP || family.created === 2) return;

    if (role === R_SCALAR || role === R_GH_SCALAR || role === R_GH_BUCKET) {
      if (role === R_GH_BUCKET && this.labels.indexOf('le') < 0) this.lx.fail(`gauge histogram bucket ${name.slice(0, 40)} has no le label`, this.lx.lineStart);
      if (!isScalarType(family.type)) this.lx.fail(`sample ${name.slice(0, 40)} does not fit ${family.type} family ${family.name.slice(0, 40)}`, this.lx.lineStart);
      if (!this.firstSeen(name)) return;
      this.count(family);
      const series = { labels: this.labels.object(-1), value };
      family.scalars.push(series);
      this.stored(series, 'value');
      return;
    }

    // Histogram or summary.
    let skip = -1;
    if (role === R_BUCKET) {
      skip = this.labels.indexOf('le');
      if (skip < 0) this.lx.fail(`histogram bucket ${name.slice(0, 40)} has no le label`, this.lx.lineStart);
    } else if (role === R_QUANTILE) {
      skip = this.labels.indexOf('quantile');
      if (skip < 0) this.lx.fail(`summary sample ${name.slice(0, 40)} has no quantile label`, this.lx.lineStart);
    }
    if (!this.firstSeen(name)) return;
    this.count(family);
    const groupKey = skip < 0 ? this.labels.key(-1) : this.labels.key(skip);
    const groups = family.groups!;
    let group = groups.get(groupKey);
    if (group === undefined) {
      group = { labels: this.labels.object(skip), items: [], sum: undefined, count: undefined };
      groups.set(groupKey, group);
      family.groupList.push(group);
    }
    switch (role) {
      case R_BUCKET: {
        const bucket = { le: this.labels.values[skip]!, count: value };
        group.items.push(bucket);
        this.stored(bucket, 'count');
        break;
      }
      case R_QUANTILE: {
        const quantile = { quantile: this.labels.values[skip]!, value };
        group.items.push(quantile);
        this.stored(quantile, 'value');
        break;
      }
      case R_HSUM:
      case R_SSUM:
        group.sum = value;
        this.stored(group, 'sum', true);
        break;
      default:
        group.count = value;
        this.stored(group, 'count', true);
    }
  }

  /** The value of the sample being added went to `target[field]` (a Group's: to its series once built). */
  private stored(target: object, field: string, inGroup = false): void {
    const places = this.places;
    if (places === undefined) return;
    const place = places[places.length - 1]!;
    place.target = target as Record<string, unknown>;
    place.field = field;
    if (inGroup) this.groupPlaces.push(place);
  }

  /** False when the series (name and labels) of the current sample was already stored: Prometheus keeps the first. */
  private firstSeen(name: string): boolean {
    const key = this.labels.seriesKey(name);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  private count(family: Family): void {
    family.samples++;
    if (++this.total > this.max) throw new Failure('too_many_series', `more than ${this.max} series`);
  }

  private build(): MetricFamily[] {
    const out: MetricFamily[] = [];
    const seriesOf = new Map<object, object>();
    const built = <T extends object>(make: (g: Group) => T) => (g: Group): T => {
      const series = make(g);
      if (this.groupPlaces.length > 0) seriesOf.set(g, series);
      return series;
    };
    for (const f of this.familyOrder) {
      if (f.created === 2) continue;
      if (f.type === 'histogram') {
        if (f.groupList.length > 0) out.push({ name: f.name, help: f.help, unit: f.unit, type: 'histogram', series: f.groupList.map(built(histogramSeries)) });
      } else if (f.type === 'summary') {
        if (f.groupList.length > 0) out.push({ name: f.name, help: f.help, unit: f.unit, type: 'summary', series: f.groupList.map(built(summarySeries)) });
      } else if (f.scalars.length > 0) {
        // (slice: exactly as long as it is, as the result is kept until the next poll)
        out.push({ name: f.name, help: f.help, unit: f.unit, type: f.type, series: f.scalars.slice() });
      }
    }
    // A sum or count place points at its series now (a dropped `_created` family's groups have none: no target).
    for (const place of this.groupPlaces) place.target = seriesOf.get(place.target!) as Record<string, unknown> | undefined;
    return out;
  }
}

function histogramSeries(g: Group): HistogramSeries {
  const series: { labels: Labels; buckets: Bucket[]; sum?: number; count?: number } = { labels: g.labels, buckets: (g.items as Bucket[]).slice() };
  if (g.sum !== undefined) series.sum = g.sum;
  if (g.count !== undefined) series.count = g.count;
  return series;
}

function summarySeries(g: Group): SummarySeries {
  const series: { labels: Labels; quantiles: Quantile[]; sum?: number; count?: number } = { labels: g.labels, quantiles: (g.items as Quantile[]).slice() };
  if (g.sum !== undefined) series.sum = g.sum;
  if (g.count !== undefined) series.count = g.count;
  return series;
}

