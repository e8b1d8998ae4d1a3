import { Ch, type ExpositionLexer, isLabelChar, isLabelStart, isNameChar, isNameStart } from './exposition-lexer';
import { parseNumber, timestampSeconds } from './exposition-values';
import type { FamilyBuilder } from './family-builder';
import type { SampleLabels } from './sample-labels';

const TYPES_OM: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

/**
 * The grammar of OpenMetrics 1.0, as Prometheus' openmetricslex.l (v2.42)
 * reads it: exactly one space between tokens, no trailing comma, no blank
 * line, no comment but HELP, TYPE, UNIT and the final `# EOF`; a sample's
 * timestamp kept, exemplars checked and ignored. Samples and metadata go to the
 * FamilyBuilder. See docs/native-parsing.md.
 */
export class OpenMetricsParser {
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
   * starts, or -1 once the body is read (its `# EOF`). (A large body is read
   * a slice at a time; the lexer and the builder keep the state between
   * slices.)
   */
  parseLines(pos: number, until: number): number {
    const s = this.s;
    const n = this.n;
    for (;;) {
      if (pos >= until && pos < n) return pos;
      this.lx.lineStart = pos;
      if (pos >= n) this.lx.fail('the body does not end with "# EOF"', pos);
      const c = s.charCodeAt(pos);
      let p: number;
      if (c === Ch.HASH) {
        if (this.lx.char(pos + 1) !== Ch.SP) this.lx.fail(`expected "# " followed by HELP, TYPE, UNIT or EOF, got ${this.lx.describe(pos + 1)} after "#"`, pos + 1);
        p = pos + 2;
        if (s.startsWith('EOF', p)) {
          p += 3;
          if (p < n && s.charCodeAt(p) === Ch.LF) {
            p++;
            this.lx.line++;
            this.lx.lineStart = p;
          }
          if (p < n) this.lx.fail('unexpected data after "# EOF"', p);
          return -1;
        }
        p = this.metadataLine(p);
      } else if (isNameStart(c)) {
        p = this.sampleLine(pos);
      } else {
        this.lx.fail(`expected a metric name or "#", got ${this.lx.describe(pos)}`, pos);
      }
      // p is at the line feed that ends the line.
      pos = p + 1;
      this.lx.line++;
    }
  }

  /** After `# `: `HELP|TYPE|UNIT name text`; returns the position of the line feed. */
  private metadataLine(p: number): number {
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
    if (this.lx.char(p) !== Ch.SP || lineEnd < 0) this.lx.fail(`expected a space, text and a line feed after ${kind} ${name.slice(0, 30)}`, p);
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
  private sampleLine(p: number): number {
    const s = this.s;
    const n = this.n;
    p = this.lx.sampleName(p);
    const name = s.slice(this.labels.sampleStart, p);
    if (this.lx.char(p) === Ch.LBRACE) p = this.labelBlock(p + 1, false);
    if (this.lx.char(p) !== Ch.SP) this.lx.fail(`expected a space and a value after the metric, got ${this.lx.describe(p)}`, p);
    p++;
    const valueStart = p;
    p = this.token(p);
    if (p === valueStart) this.lx.fail(`expected a value after the metric, got ${this.lx.describe(p)}`, p);
    const value = parseNumber(s, valueStart, p);
    if (value === undefined) this.lx.fail(`invalid value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    const valueEnd = p;
    let timestampMs: number | undefined;
    if (p < n && s.charCodeAt(p) === Ch.SP && !s.startsWith(' # {', p)) {
      const tsStart = p + 1;
      p = this.token(tsStart);
      if (p === tsStart) this.lx.fail(`expected a timestamp or an exemplar, got ${this.lx.describe(p)}`, p);
      const ts = parseNumber(s, tsStart, p);
      if (ts === undefined || !Number.isFinite(ts)) this.lx.fail(`invalid timestamp ${JSON.stringify(s.slice(tsStart, Math.min(p, tsStart + 30)))}`, tsStart);
      timestampMs = timestampSeconds(ts);
    }
    if (s.startsWith(' # {', p)) p = this.exemplar(p + 4, name);
    if (p >= n) this.lx.fail('the body does not end with "# EOF"', p);
    if (s.charCodeAt(p) !== Ch.LF) this.lx.fail(`expected end of line, a timestamp or an exemplar, got ${this.lx.describe(p)}`, p);
    this.lx.settleLabels(p);
    this.builder.addSample(name, value, valueStart, valueEnd, timestampMs);
    return p;
  }

  /** End of a token that runs to the next space or line feed. */
  private token(p: number): number {
    const s = this.s;
    const n = this.n;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === Ch.SP || c === Ch.LF) break;
      p++;
    }
    return p;
  }

  /** Exemplar after ` # {`: labels, value, optional timestamp; returns the position after it. */
  private exemplar(p: number, sampleName: string): number {
    if (!sampleName.endsWith('_total') && !sampleName.endsWith('_bucket')) {
      this.lx.fail(`metric ${sampleName.slice(0, 30)} does not support exemplars (only _total and _bucket samples)`, p - 4);
    }
    const s = this.s;
    p = this.labelBlock(p, true);
    if (this.lx.char(p) !== Ch.SP) this.lx.fail(`expected a space and a value after the exemplar labels, got ${this.lx.describe(p)}`, p);
    const valueStart = p + 1;
    p = this.token(valueStart);
    if (p === valueStart || parseNumber(s, valueStart, p) === undefined) {
      this.lx.fail(`invalid exemplar value ${JSON.stringify(s.slice(valueStart, Math.min(p, valueStart + 30)))}`, valueStart);
    }
    if (this.lx.char(p) === Ch.SP) {
      const tsStart = p + 1;
      p = this.token(tsStart);
      const ts = parseNumber(s, tsStart, p);
      if (ts === undefined || !Number.isFinite(ts)) this.lx.fail(`invalid exemplar timestamp ${JSON.stringify(s.slice(tsStart, Math.min(p, tsStart + 30)))}`, tsStart);
    }
    return p;
  }

  /** OpenMetrics labels after `{`, up to and including `}`: no spaces, no trailing comma. */
  private labelBlock(p: number, exemplar: boolean): number {
    const s = this.s;
    const n = this.n;
    let first = true;
    for (;;) {
      let c = this.lx.char(p);
      if (c === Ch.RBRACE) return p + 1;
      if (first) {
        if (!isLabelStart(c)) this.lx.fail(`expected a label name or "}", got ${this.lx.describe(p)}`, p);
        first = false;
      } else {
        if (c !== Ch.COMMA) this.lx.fail(`expected "," or "}" after a label value, got ${this.lx.describe(p)}`, p);
        p++;
        c = this.lx.char(p);
        if (!isLabelStart(c)) this.lx.fail(`expected a label name after ",", got ${this.lx.describe(p)}`, p);
      }
      const nameStart = p;
      p++;
      while (p < n && isLabelChar(s.charCodeAt(p))) p++;
      const labelName = s.slice(nameStart, p);
      if (this.lx.char(p) !== Ch.EQUAL) this.lx.fail(`expected "=" after label name ${labelName}, got ${this.lx.describe(p)}`, p);
      p++;
      if (this.lx.char(p) !== Ch.QUOTE) this.lx.fail(`expected a quoted label value, got ${this.lx.describe(p)}`, p);
      p = this.lx.labelValue(p + 1, labelName, false, exemplar);
    }
  }
}
