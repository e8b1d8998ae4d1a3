import { Ch, type ExpositionLexer, isLabelChar, isLabelStart, isNameChar, isNameStart } from './exposition-lexer';
import { fitsInt64, parseNumber, timestampDigits } from './exposition-values';
import type { FamilyBuilder } from './family-builder';
import type { SampleLabels } from './sample-labels';

const TYPES_004: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * The grammar of the Prometheus text format 0.0.4, as Prometheus' promlex.l
 * (v2.42) reads it: blanks between all tokens, a trailing comma after the
 * last label, a raw newline in a label value, no final newline needed.
 * Samples and metadata go to the FamilyBuilder. See docs/native-parsing.md.
 */
export class TextFormatParser {
  private readonly lx: ExpositionLexer;
  private readonly labels: SampleLabels;
  private readonly builder: FamilyBuilder;
  private readonly s: string;
  private readonly n: number;

  constructor(lx: ExpositionLexer, builder: FamilyBuilder) {
    this.lx = lx;
    this.labels = lx.labels;
    this.builder = builder;
    this.s = lx.s;
    this.n = lx.n;
  }

  parse(): void {
    this.parseLines(0, this.n);
  }

  /**
   * Reads the lines from `pos` (the start of a line) on, and stops before
   * the first line that starts at or after `until`: returns where that line
   * starts, or -1 once the body is read. (A large body is read a slice at a
   * time; the lexer and the builder keep the state between slices.)
   */
  parseLines(pos: number, until: number): number {
    const s = this.s;
    const n = this.n;
    while (pos < n) {
      if (pos >= until) return pos;
      this.lx.lineStart = pos;
      // A NUL opening a line ends the body, as Prometheus' text lexer reads it: what came before is stored.
      if (s.charCodeAt(pos) === 0) break;
      let p = this.skipBlanks(pos);
      if (p >= n) break;
      const c = s.charCodeAt(p);
      if (c === Ch.LF) {
        // blank line
      } else if (c === Ch.HASH) {
        p = this.commentLine(p);
      } else if (isNameStart(c)) {
        // Prometheus takes the blanks into the metric name, which then is invalid.
        if (p > pos) this.lx.fail('blank before the metric name', pos);
        p = this.sampleLine(p);
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
    return -1;
  }

  /** `#` comment, `# HELP name text` or `# TYPE name type`; returns the position of the line end. */
  private commentLine(p: number): number {
    const s = this.s;
    let lineEnd = s.indexOf('\n', p);
    if (lineEnd < 0) lineEnd = this.n;
    p++;
    const c = this.lx.char(p);
    if (c !== Ch.SP && c !== Ch.TAB) return lineEnd; // `#text`: a comment
    p = this.skipBlanks(p);
    let kind: 'HELP' | 'TYPE';
    if (s.startsWith('HELP', p)) kind = 'HELP';
    else if (s.startsWith('TYPE', p)) kind = 'TYPE';
    else return lineEnd;
    const after = this.lx.char(p + 4);
    if (after !== Ch.SP && after !== Ch.TAB) return lineEnd; // e.g. `# HELPER`: a comment
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
      if (ch !== Ch.SP && ch !== Ch.TAB) {
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
  private sampleLine(p: number): number {
    const s = this.s;
    const n = this.n;
    p = this.lx.sampleName(p);
    const name = s.slice(this.labels.sampleStart, p);
    const afterName = p;
    p = this.skipBlanks(p);
    if (this.lx.char(p) === Ch.LBRACE) {
      if (p !== afterName) this.labels.canonical = false;
      p = this.labelBlock(p + 1);
      p = this.skipBlanks(p);
    }
    const valueStart = p;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === Ch.SP || c === Ch.TAB || c === Ch.LF || c === Ch.LBRACE) break;
      p++;
    }
    if (p === valueStart) this.lx.fail(`expected a value after the metric, got ${this.lx.describe(p)}`, p);
    const value = parseNumber(s, valueStart, p);
    if (value === undefined) this.lx.fail(`invalid value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    const valueEnd = p;
    let timestampMs: number | undefined;
    p = this.skipBlanks(p);
    if (p < n && s.charCodeAt(p) !== Ch.LF) {
      const tsStart = p;
      while (p < n) {
        const c = s.charCodeAt(p);
        if (c < 48 || c > 57) break;
        p++;
      }
      if (p === tsStart) this.lx.fail(`expected a timestamp or end of line, got ${this.lx.describe(p)}`, p);
      if (!fitsInt64(s, tsStart, p)) this.lx.fail('timestamp out of range', tsStart);
      timestampMs = timestampDigits(s, tsStart, p);
      p = this.skipBlanks(p);
      if (p < n && s.charCodeAt(p) !== Ch.LF) this.lx.fail(`expected end of line after the timestamp, got ${this.lx.describe(p)}`, p);
    }
    this.lx.settleLabels(p);
    this.builder.addSample(name, value, valueStart, valueEnd, timestampMs);
    return p;
  }

  /** Labels after `{`, up to and including `}`; returns the position after `}`. */
  private labelBlock(p: number): number {
    const s = this.s;
    const n = this.n;
    let q = p;
    p = this.skipBlanks(p);
    if (p !== q) this.labels.canonical = false;
    for (;;) {
      const c = this.lx.char(p);
      if (c === Ch.RBRACE) return p + 1;
      if (!isLabelStart(c)) this.lx.fail(`expected a label name or "}", got ${this.lx.describe(p)}`, p);
      const nameStart = p;
      p++;
      while (p < n && isLabelChar(s.charCodeAt(p))) p++;
      const labelName = s.slice(nameStart, p);
      const nameEnd = p;
      p = this.skipBlanks(p);
      if (this.lx.char(p) !== Ch.EQUAL) this.lx.fail(`expected "=" after label name ${labelName}, got ${this.lx.describe(p)}`, p);
      const equal = p;
      p = this.skipBlanks(p + 1);
      if (equal !== nameEnd || p !== equal + 1) this.labels.canonical = false; // blanks around `=`
      if (this.lx.char(p) !== Ch.QUOTE) this.lx.fail(`expected a quoted label value, got ${this.lx.describe(p)}`, p);
      p = this.lx.labelValue(p + 1, labelName, true, false);
      q = p;
      p = this.skipBlanks(p);
      const blanksBefore = p !== q;
      const c2 = this.lx.char(p);
      if (c2 === Ch.COMMA) {
        q = p + 1;
        p = this.skipBlanks(p + 1);
        const next = this.lx.char(p);
        if (isLabelStart(next)) {
          if (blanksBefore || p !== q) this.labels.canonical = false;
        } else if (next !== Ch.RBRACE) {
          this.lx.fail(`expected a label name or "}" after ",", got ${this.lx.describe(p)}`, p);
        }
      } else if (isLabelStart(c2)) {
        this.labels.canonical = false; // labels without a comma between them
      }
    }
  }

  private skipBlanks(p: number): number {
    const s = this.s;
    const n = this.n;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c !== Ch.SP && c !== Ch.TAB) break;
      p++;
    }
    return p;
  }
}
