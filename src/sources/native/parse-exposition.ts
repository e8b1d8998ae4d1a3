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
    const parser = new Parser(body, format === 'openmetrics-1.0', max, places);
    return parser.run();
  } catch (e) {
    if (e instanceof Failure) return { ok: false, reason: e.reason, message: e.message };
    // Not expected; kept so that no input can make the caller's poll throw.
    return { ok: false, reason: 'invalid_body', message: `parser error: ${e instanceof Error ? e.message.slice(0, 100) : 'unknown'}` };
  }
}

// ---------------------------------------------------------------------------

/** Thrown inside the parser, caught in parseExposition (not an Error: no stack is captured). */
class Failure {
  constructor(
    readonly reason: 'invalid_body' | 'too_many_series',
    readonly message: string,
  ) {}
}

const LF = 10;
const TAB = 9;
const SP = 32;
const QUOTE = 34;
const HASH = 35;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const EQUAL = 61;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;

/** 1: may start a metric name, 2: may continue it, 4: may start a label name, 8: may continue it. */
const CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const digit = c >= 48 && c <= 57;
  CHAR[c] = (letter || c === 58 ? 3 : digit ? 2 : 0) | (letter ? 12 : digit ? 8 : 0);
}
function isNameStart(c: number): boolean {
  return c < 128 && (CHAR[c] & 1) !== 0;
}
function isNameChar(c: number): boolean {
  return c < 128 && (CHAR[c] & 2) !== 0;
}
function isLabelStart(c: number): boolean {
  return c < 128 && (CHAR[c] & 4) !== 0;
}
function isLabelChar(c: number): boolean {
  return c < 128 && (CHAR[c] & 8) !== 0;
}

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** True when s[a..b) is `word` ignoring ASCII case (word in lower case). */
function equalsIgnoreCase(s: string, a: number, b: number, word: string): boolean {
  if (b - a !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((s.charCodeAt(a + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * A float as Go's strconv.ParseFloat accepts it after Prometheus' own check
 * (no hex, no `_`): [+-] digits [. digits] [(e|E) [+-] digits] with at least
 * one mantissa digit; `inf`/`infinity` with optional sign and `nan` without,
 * in any case. Out of range (e.g. 1e400) is an error, as in Go. Returns
 * undefined when invalid.
 */
export function parseNumber(s: string, a: number, b: number): number | undefined {
  if (a >= b) return undefined;
  let i = a;
  let c = s.charCodeAt(i);
  let neg = false;
  if (c === PLUS || c === MINUS) {
    neg = c === MINUS;
    i++;
    if (i >= b) return undefined;
    c = s.charCodeAt(i);
    if ((c | 0x20) === 105 /* i */) {
      return equalsIgnoreCase(s, i, b, 'inf') || equalsIgnoreCase(s, i, b, 'infinity') ? (neg ? -Infinity : Infinity) : undefined;
    }
  } else if ((c | 0x20) === 105 /* i */) {
    return equalsIgnoreCase(s, i, b, 'inf') || equalsIgnoreCase(s, i, b, 'infinity') ? Infinity : undefined;
  } else if ((c | 0x20) === 110 /* n */) {
    return equalsIgnoreCase(s, i, b, 'nan') ? NaN : undefined;
  }
  // Mantissa: up to 15 significant digits are kept exactly in `mant`; more send it to the slow path.
  let mant = 0;
  let sig = 0;
  let frac = 0;
  let digits = 0;
  let slow = false;
  let seenDot = false;
  for (; i < b; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      if (seenDot) frac++;
      if (mant !== 0 || c !== 48) {
        if (sig < 15) mant = mant * 10 + (c - 48);
        else slow = true;
        sig++;
      }
    } else if (c === DOT && !seenDot) {
      seenDot = true;
    } else {
      break;
    }
  }
  if (digits === 0) return undefined;
  let exp = 0;
  if (i < b) {
    if ((c | 0x20) !== 101 /* e */) return undefined;
    i++;
    if (i >= b) return undefined;
    c = s.charCodeAt(i);
    let expNeg = false;
    if (c === PLUS || c === MINUS) {
      expNeg = c === MINUS;
      i++;
    }
    const expStart = i;
    for (; i < b; i++) {
      c = s.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      if (exp < 100000) exp = exp * 10 + (c - 48);
    }
    if (i === expStart) return undefined;
    if (expNeg) exp = -exp;
  }
  if (mant === 0) return neg ? -0 : 0;
  if (!slow) {
    // Both operands exact (mant < 2^53, 10^k for k <= 22): one rounding, so correctly rounded.
    const e10 = exp - frac;
    if (e10 >= 0 && e10 <= 22) return neg ? -(mant * POW10[e10]!) : mant * POW10[e10]!;
    if (e10 < 0 && e10 >= -22) return neg ? -(mant / POW10[-e10]!) : mant / POW10[-e10]!;
  }
  const v = Number(s.slice(a, b));
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Label value (and OpenMetrics HELP) unescaping as Prometheus does it:
 * `\\` `\"` `\n` (`\"` only when `quote`); any other backslash is kept.
 */
function unescape(s: string, a: number, b: number, quote: boolean): string {
  let out = '';
  let last = a;
  for (let i = a; i < b; i++) {
    if (s.charCodeAt(i) !== BACKSLASH || i + 1 >= b) continue;
    const c = s.charCodeAt(i + 1);
    const rep = c === BACKSLASH ? '\\' : c === 110 /* n */ ? '\n' : quote && c === QUOTE ? '"' : undefined;
    if (rep === undefined) continue;
    out += s.slice(last, i) + rep;
    i++;
    last = i + 1;
  }
  return out + s.slice(last, b);
}

/** A label value escaped as Prometheus writes it (`\\`, `\"`, `\n`). */
function escapeValue(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === BACKSLASH || c === QUOTE || c === LF) return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  }
  return v;
}

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
  private readonly s: string;
  private readonly n: number;
  private readonly om: boolean;
  private readonly max: number;

  private line = 1;
  /** Position of a backslash at or after the last HELP text, -1 when there is none left, -2 before the first search. */
  private backslash = -2;
  private lineStart = 0;

  // Labels of the current sample, in the order written; `order` is their indices sorted by name.
  private labelNames: string[] = [];
  private labelValues: string[] = [];
  private labelCount = 0;
  private order: number[] = [];
  /**
   * True while the current sample is written in the canonical form of its
   * series key (see seriesKey): no blanks before `=`, `"` or a label name,
   * names strictly ascending, no empty value, only `\\` `\"` `\n` escapes.
   */
  private canonical = true;
  /** Where the current sample's name starts, and the position after its last label value's closing quote. */
  private sampleStart = 0;
  private labelsEnd = 0;

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

  constructor(s: string, om: boolean, max: number, places: ValuePlace[] | undefined) {
    this.s = s;
    this.n = s.length;
    this.om = om;
    this.max = max;
    this.places = places;
  }

  run(): ParseResult {
    if (this.om) this.parseOpenMetrics();
    else this.parse004();
    return { ok: true, families: this.build(), samples: this.total };
  }

  // ----------------------------------------------------------------- errors

  private fail(what: string, at: number): never {
    const s = this.s;
    const lineStart = this.lineStart;
    let lineEnd = s.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = this.n;
    const pos = Math.min(Math.max(at, lineStart), lineEnd);
    // At most 60 characters of the line, around the error.
    const from = Math.max(lineStart, Math.min(pos - 30, lineEnd - 60));
    const to = Math.min(lineEnd, from + 60);
    const snippet = (from > lineStart ? '…' : '') + s.slice(from, to) + (to < lineEnd ? '…' : '');
    throw new Failure('invalid_body', `line ${this.line}, column ${pos - lineStart + 1}: ${what}: ${JSON.stringify(snippet)}`);
  }

  /** HELP text s[a..b), unescaped. */
  private text(a: number, b: number, quote: boolean): string {
    // The next backslash at or after a: searched again only once passed, so all searches together are linear.
    if (this.backslash !== -1 && this.backslash < a) this.backslash = this.s.indexOf('\\', a);
    return this.backslash === -1 || this.backslash >= b ? this.s.slice(a, b) : unescape(this.s, a, b, quote);
  }

  private char(p: number): number {
    return p < this.n ? this.s.charCodeAt(p) : -1;
  }

  private describe(p: number): string {
    if (p >= this.n) return 'end of body';
    const c = this.s.charCodeAt(p);
    if (c === LF) return 'end of line';
    if (c === SP) return 'space';
    if (c === TAB) return 'tab';
    return JSON.stringify(this.s.charAt(p));
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
      this.lineStart = pos;
      let p = this.skipBlanks(pos);
      if (p >= n) break;
      const c = s.charCodeAt(p);
      if (c === LF) {
        // blank line
      } else if (c === HASH) {
        p = this.comment004(p);
      } else if (isNameStart(c)) {
        // Prometheus takes the blanks into the metric name, which then is invalid.
        if (p > pos) this.fail('blank before the metric name', pos);
        p = this.sample004(p);
      } else {
        this.fail(`expected a metric name, "#" or end of line, got ${this.describe(p)}`, p);
      }
      // p is at the end of the line.
      if (p < n) {
        p++;
        this.line++;
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
    const c = this.char(p);
    if (c !== SP && c !== TAB) return lineEnd; // `#text`: a comment
    p = this.skipBlanks(p);
    let kind: 'HELP' | 'TYPE';
    if (s.startsWith('HELP', p)) kind = 'HELP';
    else if (s.startsWith('TYPE', p)) kind = 'TYPE';
    else return lineEnd;
    const after = this.char(p + 4);
    if (after !== SP && after !== TAB) return lineEnd; // e.g. `# HELPER`: a comment
    p = this.skipBlanks(p + 4);
    if (!isNameStart(this.char(p))) this.fail(`expected a metric name after ${kind}, got ${this.describe(p)}`, p);
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
      const help = blank ? '' : this.text(p + 1, lineEnd, false);
      this.metadata(name, 'help', help);
    } else {
      const type = blank ? '' : s.slice(p + 1, lineEnd);
      if (!TYPES_004.has(type)) this.fail(`invalid metric type ${JSON.stringify(type.slice(0, 30))} (expected counter, gauge, histogram, summary or untyped)`, p + 1);
      this.metadata(name, 'type', type as RawType);
    }
    return lineEnd;
  }

  /** A sample line's metric name at `p` (a name start), in either format: starts the sample's state; returns the position after the name. */
  private sampleName(p: number): number {
    const s = this.s;
    const n = this.n;
    this.sampleStart = p;
    this.canonical = true;
    this.labelCount = 0;
    p++;
    while (p < n && isNameChar(s.charCodeAt(p))) p++;
    return p;
  }

  /** `name{labels} value [timestamp]`; returns the position of the line end. */
  private sample004(p: number): number {
    const s = this.s;
    const n = this.n;
    p = this.sampleName(p);
    const name = s.slice(this.sampleStart, p);
    const afterName = p;
    p = this.skipBlanks(p);
    if (this.char(p) === LBRACE) {
      if (p !== afterName) this.canonical = false;
      p = this.labels004(p + 1);
      p = this.skipBlanks(p);
    }
    const valueStart = p;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === SP || c === TAB || c === LF || c === LBRACE) break;
      p++;
    }
    if (p === valueStart) this.fail(`expected a value after the metric, got ${this.describe(p)}`, p);
    const value = parseNumber(s, valueStart, p);
    if (value === undefined) this.fail(`invalid value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    const valueEnd = p;
    p = this.skipBlanks(p);
    if (p < n && s.charCodeAt(p) !== LF) {
      const tsStart = p;
      while (p < n) {
        const c = s.charCodeAt(p);
        if (c < 48 || c > 57) break;
        p++;
      }
      if (p === tsStart) this.fail(`expected a timestamp or end of line, got ${this.describe(p)}`, p);
      if (!fitsInt64(s, tsStart, p)) this.fail('timestamp out of range', tsStart);
      p = this.skipBlanks(p);
      if (p < n && s.charCodeAt(p) !== LF) this.fail(`expected end of line after the timestamp, got ${this.describe(p)}`, p);
    }
    this.checkLabelNames(p);
    this.addSample(name, value, valueStart, valueEnd);
    return p;
  }

  /** Labels after `{`, up to and including `}`; returns the position after `}`. */
  private labels004(p: number): number {
    const s = this.s;
    const n = this.n;
    let q = p;
    p = this.skipBlanks(p);
    if (p !== q) this.canonical = false;
    for (;;) {
      const c = this.char(p);
      if (c === RBRACE) return p + 1;
      if (!isLabelStart(c)) this.fail(`expected a label name or "}", got ${this.describe(p)}`, p);
      const nameStart = p;
      p++;
      while (p < n && isLabelChar(s.charCodeAt(p))) p++;
      const labelName = s.slice(nameStart, p);
      const nameEnd = p;
      p = this.skipBlanks(p);
      if (this.char(p) !== EQUAL) this.fail(`expected "=" after label name ${labelName}, got ${this.describe(p)}`, p);
      const equal = p;
      p = this.skipBlanks(p + 1);
      if (equal !== nameEnd || p !== equal + 1) this.canonical = false; // blanks around `=`
      if (this.char(p) !== QUOTE) this.fail(`expected a quoted label value, got ${this.describe(p)}`, p);
      p = this.labelValue(p + 1, labelName, true, false);
      q = p;
      p = this.skipBlanks(p);
      const blanksBefore = p !== q;
      const c2 = this.char(p);
      if (c2 === COMMA) {
        q = p + 1;
        p = this.skipBlanks(p + 1);
        const next = this.char(p);
        if (isLabelStart(next)) {
          if (blanksBefore || p !== q) this.canonical = false;
        } else if (next !== RBRACE) {
          this.fail(`expected a label name or "}" after ",", got ${this.describe(p)}`, p);
        }
      } else if (isLabelStart(c2)) {
        this.canonical = false; // labels without a comma between them
      }
    }
  }

  /**
   * A label value after its opening quote; stores it (unless `skip`) and
   * returns the position after the closing quote. 0.0.4 allows a raw newline
   * in it, OpenMetrics does not; neither allows a backslash before a newline.
   */
  private labelValue(p: number, labelName: string, rawNewline: boolean, skip: boolean): number {
    const s = this.s;
    const n = this.n;
    const start = p;
    const line = this.line;
    const lineStart = this.lineStart;
    let escaped = false;
    let canonical = true;
    for (;;) {
      if (p >= n || (p + 1 >= n && s.charCodeAt(p) === BACKSLASH)) {
        // Report the line where the value starts.
        this.line = line;
        this.lineStart = lineStart;
        this.fail('unterminated label value', start - 1);
      }
      const c = s.charCodeAt(p);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const next = s.charCodeAt(p + 1);
        if (next === LF) this.fail('backslash before end of line in label value', p);
        if (next !== BACKSLASH && next !== QUOTE && next !== 110 /* n */) canonical = false;
        escaped = true;
        p += 2;
        continue;
      }
      if (c === LF) {
        if (!rawNewline) this.fail('unterminated label value (newline in label value)', start - 1);
        canonical = false;
        this.line++;
        this.lineStart = p + 1;
      } else if (c === 0 && skip) {
        this.fail('NUL character in exemplar label value', p);
      }
      p++;
    }
    if (!skip) {
      if (labelName === '__name__') this.fail('label __name__ repeats the metric name', start - 1);
      const i = this.labelCount++;
      // Canonical: names strictly ascending, no empty value.
      if (!canonical || p === start || (i > 0 && !(this.labelNames[i - 1]! < labelName))) this.canonical = false;
      this.labelNames[i] = labelName;
      this.labelValues[i] = escaped ? unescape(s, start, p, true) : s.slice(start, p);
      this.labelsEnd = p + 1;
    }
    return p + 1;
  }

  // ---------------------------------------------------------- OpenMetrics 1.0

  private parseOpenMetrics(): void {
    const s = this.s;
    const n = this.n;
    let pos = 0;
    for (;;) {
      this.lineStart = pos;
      if (pos >= n) this.fail('the body does not end with "# EOF"', pos);
      const c = s.charCodeAt(pos);
      let p: number;
      if (c === HASH) {
        if (this.char(pos + 1) !== SP) this.fail(`expected "# " followed by HELP, TYPE, UNIT or EOF, got ${this.describe(pos + 1)} after "#"`, pos + 1);
        p = pos + 2;
        if (s.startsWith('EOF', p)) {
          p += 3;
          if (p < n && s.charCodeAt(p) === LF) {
            p++;
            this.line++;
            this.lineStart = p;
          }
          if (p < n) this.fail('unexpected data after "# EOF"', p);
          return;
        }
        p = this.metadataOM(p);
      } else if (isNameStart(c)) {
        p = this.sampleOM(pos);
      } else {
        this.fail(`expected a metric name or "#", got ${this.describe(pos)}`, pos);
      }
      // p is at the line feed that ends the line.
      pos = p + 1;
      this.line++;
    }
  }

  /** After `# `: `HELP|TYPE|UNIT name text`; returns the position of the line feed. */
  private metadataOM(p: number): number {
    const s = this.s;
    let kind: 'HELP' | 'TYPE' | 'UNIT';
    if (s.startsWith('HELP ', p)) kind = 'HELP';
    else if (s.startsWith('TYPE ', p)) kind = 'TYPE';
    else if (s.startsWith('UNIT ', p)) kind = 'UNIT';
    else this.fail('expected HELP, TYPE, UNIT or EOF after "# " (OpenMetrics allows no other comment)', p);
    p += 5;
    if (!isNameStart(this.char(p))) this.fail(`expected a metric name after ${kind}, got ${this.describe(p)}`, p);
    const nameStart = p;
    p++;
    while (p < this.n && isNameChar(s.charCodeAt(p))) p++;
    const name = s.slice(nameStart, p);
    const lineEnd = s.indexOf('\n', p);
    if (this.char(p) !== SP || lineEnd < 0) this.fail(`expected a space, text and a line feed after ${kind} ${name.slice(0, 30)}`, p);
    if (kind === 'HELP') {
      this.metadata(name, 'help', this.text(p + 1, lineEnd, true));
    } else if (kind === 'TYPE') {
      const type = s.slice(p + 1, lineEnd);
      if (!TYPES_OM.has(type)) {
        this.fail(`invalid metric type ${JSON.stringify(type.slice(0, 30))} (expected counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown)`, p + 1);
      }
      this.metadata(name, 'type', type as RawType);
    } else {
      const unit = s.slice(p + 1, lineEnd);
      if (unit !== '' && !(name.length > unit.length + 1 && name.endsWith(unit) && name.charCodeAt(name.length - unit.length - 1) === 95)) {
        this.fail(`unit ${JSON.stringify(unit.slice(0, 30))} is not a suffix of metric ${name.slice(0, 30)}`, p + 1);
      }
      this.metadata(name, 'unit', unit);
    }
    return lineEnd;
  }

  /** `name{labels} value [timestamp] [# {labels} value [timestamp]]`; returns the position of the line feed. */
  private sampleOM(p: number): number {
    const s = this.s;
    const n = this.n;
    p = this.sampleName(p);
    const name = s.slice(this.sampleStart, p);
    if (this.char(p) === LBRACE) p = this.labelsOM(p + 1, false);
    if (this.char(p) !== SP) this.fail(`expected a space and a value after the metric, got ${this.describe(p)}`, p);
    p++;
    const valueStart = p;
    p = this.token(p);
    if (p === valueStart) this.fail(`expected a value after the metric, got ${this.describe(p)}`, p);
    const value = parseNumber(s, valueStart, p);
    if (value === undefined) this.fail(`invalid value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    const valueEnd = p;
    if (p < n && s.charCodeAt(p) === SP && !s.startsWith(' # {', p)) {
      const tsStart = p + 1;
      p = this.token(tsStart);
      if (p === tsStart) this.fail(`expected a timestamp or an exemplar, got ${this.describe(p)}`, p);
      const ts = parseNumber(s, tsStart, p);
      if (ts === undefined || !Number.isFinite(ts)) this.fail(`invalid timestamp ${JSON.stringify(s.slice(tsStart, Math.min(p, tsStart + 30)))}`, tsStart);
    }
    if (s.startsWith(' # {', p)) p = this.exemplarOM(p + 4, name);
    if (p >= n) this.fail('the body does not end with "# EOF"', p);
    if (s.charCodeAt(p) !== LF) this.fail(`expected end of line, a timestamp or an exemplar, got ${this.describe(p)}`, p);
    this.checkLabelNames(p);
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
      this.fail(`metric ${sampleName.slice(0, 30)} does not support exemplars (only _total and _bucket samples)`, p - 4);
    }
    const s = this.s;
    p = this.labelsOM(p, true);
    if (this.char(p) !== SP) this.fail(`expected a space and a value after the exemplar labels, got ${this.describe(p)}`, p);
    const valueStart = p + 1;
    p = this.token(valueStart);
    if (p === valueStart || parseNumber(s, valueStart, p) === undefined) {
      this.fail(`invalid exemplar value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    }
    if (this.char(p) === SP) {
      const tsStart = p + 1;
      p = this.token(tsStart);
      const ts = parseNumber(s, tsStart, p);
      if (ts === undefined || !Number.isFinite(ts)) this.fail(`invalid exemplar timestamp ${JSON.stringify(s.slice(tsStart, Math.min(p, tsStart + 30)))}`, tsStart);
    }
    return p;
  }

  /** OpenMetrics labels after `{`, up to and including `}`: no spaces, no trailing comma. */
  private labelsOM(p: number, exemplar: boolean): number {
    const s = this.s;
    const n = this.n;
    let first = true;
    for (;;) {
      let c = this.char(p);
      if (c === RBRACE) return p + 1;
      if (first) {
        if (!isLabelStart(c)) this.fail(`expected a label name or "}", got ${this.describe(p)}`, p);
        first = false;
      } else {
        if (c !== COMMA) this.fail(`expected "," or "}" after a label value, got ${this.describe(p)}`, p);
        p++;
        c = this.char(p);
        if (!isLabelStart(c)) this.fail(`expected a label name after ",", got ${this.describe(p)}`, p);
      }
      const nameStart = p;
      p++;
      while (p < n && isLabelChar(s.charCodeAt(p))) p++;
      const labelName = s.slice(nameStart, p);
      if (this.char(p) !== EQUAL) this.fail(`expected "=" after label name ${labelName}, got ${this.describe(p)}`, p);
      p++;
      if (this.char(p) !== QUOTE) this.fail(`expected a quoted label value, got ${this.describe(p)}`, p);
      p = this.labelValue(p + 1, labelName, false, exemplar);
    }
  }

  // ------------------------------------------------------------- the model

  /**
   * Refuses a label name written twice, then
   * drops labels with an empty value (Prometheus stores `a{b=""}` as `a`)
   * and sorts the rest by name into `order`.
   */
  private checkLabelNames(at: number): void {
    const count = this.labelCount;
    if (count === 0) return;
    if (this.canonical) {
      // Written in ascending order: no duplicate, nothing to sort.
      const order = this.order;
      order.length = count;
      for (let i = 0; i < count; i++) order[i] = i;
      return;
    }
    this.sortLabels();
    const names = this.labelNames;
    const order = this.order;
    for (let i = 1; i < count; i++) {
      if (names[order[i]!] === names[order[i - 1]!]) this.fail(`duplicate label name ${names[order[i]!]}`, at);
    }
    const values = this.labelValues;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      if (values[i] === '') continue;
      names[kept] = names[i]!;
      values[kept] = values[i]!;
      kept++;
    }
    if (kept < count) {
      this.labelCount = kept;
      this.sortLabels();
    }
  }

  /** Indices of the current labels sorted by name, into `order`. */
  private sortLabels(): void {
    const count = this.labelCount;
    const names = this.labelNames;
    const order = this.order;
    order.length = count;
    for (let i = 0; i < count; i++) order[i] = i;
    if (count <= 16) {
      for (let i = 1; i < count; i++) {
        const v = order[i]!;
        const key = names[v]!;
        let j = i - 1;
        while (j >= 0 && names[order[j]!]! > key) {
          order[j + 1] = order[j]!;
          j--;
        }
        order[j + 1] = v;
      }
    } else {
      order.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
    }
  }

  /** Canonical text of the current labels (sorted, length-prefixed values), leaving out label index `skip`. */
  private labelKey(skip: number): string {
    const count = this.labelCount;
    let key = '';
    for (let i = 0; i < count; i++) {
      const k = this.order[i]!;
      if (k === skip) continue;
      const v = this.labelValues[k]!;
      key += this.labelNames[k]! + '=' + v.length + ':' + v + ',';
    }
    return key;
  }

  private labelsObject(skip: number): Labels {
    const labels: Record<string, string> = {};
    const count = this.labelCount;
    for (let i = 0; i < count; i++) {
      if (i === skip) continue;
      const name = this.labelNames[i]!;
      // `__proto__` is a valid label name: define it, an assignment would set the prototype.
      if (name === '__proto__') Object.defineProperty(labels, name, { value: this.labelValues[i], enumerable: true, writable: true, configurable: true });
      else labels[name] = this.labelValues[i]!;
    }
    return labels;
  }

  private labelIndex(name: string): number {
    for (let i = 0; i < this.labelCount; i++) if (this.labelNames[i] === name) return i;
    return -1;
  }

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
        this.fail(`family ${name.slice(0, 40)} is both ${existing.type} and ${type}`, this.lineStart);
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
      if (role === R_GH_BUCKET && this.labelIndex('le') < 0) this.fail(`gauge histogram bucket ${name.slice(0, 40)} has no le label`, this.lineStart);
      if (!isScalarType(family.type)) this.fail(`sample ${name.slice(0, 40)} does not fit ${family.type} family ${family.name.slice(0, 40)}`, this.lineStart);
      if (!this.firstSeen(name)) return;
      this.count(family);
      const series = { labels: this.labelsObject(-1), value };
      family.scalars.push(series);
      this.stored(series, 'value');
      return;
    }

    // Histogram or summary.
    let skip = -1;
    if (role === R_BUCKET) {
      skip = this.labelIndex('le');
      if (skip < 0) this.fail(`histogram bucket ${name.slice(0, 40)} has no le label`, this.lineStart);
    } else if (role === R_QUANTILE) {
      skip = this.labelIndex('quantile');
      if (skip < 0) this.fail(`summary sample ${name.slice(0, 40)} has no quantile label`, this.lineStart);
    }
    if (!this.firstSeen(name)) return;
    this.count(family);
    const groupKey = skip < 0 ? this.labelKey(-1) : this.labelKey(skip);
    const groups = family.groups!;
    let group = groups.get(groupKey);
    if (group === undefined) {
      group = { labels: this.labelsObject(skip), items: [], sum: undefined, count: undefined };
      groups.set(groupKey, group);
      family.groupList.push(group);
    }
    switch (role) {
      case R_BUCKET: {
        const bucket = { le: this.labelValues[skip]!, count: value };
        group.items.push(bucket);
        this.stored(bucket, 'count');
        break;
      }
      case R_QUANTILE: {
        const quantile = { quantile: this.labelValues[skip]!, value };
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
    const key = this.seriesKey(name);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  /**
   * The identity of the current sample's series: `name{k="v",...}` with the
   * labels sorted by name, without the closing brace, values escaped as
   * Prometheus writes them; just `name` without labels. A sample usually is
   * written that way already: then the key is a slice of the body (no copy).
   */
  private seriesKey(name: string): string {
    const count = this.labelCount;
    if (count === 0) return name;
    if (this.canonical) return this.s.slice(this.sampleStart, this.labelsEnd);
    let key = `${name}{`;
    for (let i = 0; i < count; i++) {
      const k = this.order[i]!;
      key += `${i > 0 ? ',' : ''}${this.labelNames[k]!}="${escapeValue(this.labelValues[k]!)}"`;
    }
    return key;
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

/** 0.0.4 timestamps are int64 milliseconds: digits only (no sign), at most 9223372036854775807. */
function fitsInt64(s: string, a: number, b: number): boolean {
  while (a < b - 1 && s.charCodeAt(a) === 48) a++;
  const len = b - a;
  if (len < 19) return true;
  if (len > 19) return false;
  const max = '9223372036854775807';
  for (let i = 0; i < 19; i++) {
    const d = s.charCodeAt(a + i) - max.charCodeAt(i);
    if (d !== 0) return d < 0;
  }
  return true;
}
