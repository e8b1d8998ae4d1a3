import { SampleLabels } from './sample-labels';
import { unescape } from './exposition-values';

/**
 * What both grammars share: character classes, the position in the body
 * (for error messages), HELP text and label values. See
 * docs/native-parsing.md for the token rules.
 */

/** Character codes the grammars test (a const enum: compiled to literals, no module lookup in the scanner loops). */
export const enum Ch {
  TAB = 9,
  LF = 10,
  SP = 32,
  QUOTE = 34,
  HASH = 35,
  COMMA = 44,
  EQUAL = 61,
  BACKSLASH = 92,
  LBRACE = 123,
  RBRACE = 125,
}

/** 1: may start a metric name, 2: may continue it, 4: may start a label name, 8: may continue it. */
const CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const digit = c >= 48 && c <= 57;
  CHAR[c] = (letter || c === 58 ? 3 : digit ? 2 : 0) | (letter ? 12 : digit ? 8 : 0);
}
export function isNameStart(c: number): boolean {
  return c < 128 && (CHAR[c] & 1) !== 0;
}
export function isNameChar(c: number): boolean {
  return c < 128 && (CHAR[c] & 2) !== 0;
}
export function isLabelStart(c: number): boolean {
  return c < 128 && (CHAR[c] & 4) !== 0;
}
export function isLabelChar(c: number): boolean {
  return c < 128 && (CHAR[c] & 8) !== 0;
}

/** Thrown inside the parser, caught in parseExposition (not an Error: no stack is captured). */
export class Failure {
  constructor(
    readonly reason: 'invalid_body' | 'too_many_series',
    readonly message: string,
  ) {}
}

/** One body being read: where the current line is, and the labels of its current sample. */
export class ExpositionLexer {
  readonly s: string;
  readonly n: number;
  readonly labels: SampleLabels;
  /** Number and start of the line being read (the grammars move them). */
  line = 1;
  lineStart = 0;
  /** Position of a backslash at or after the last HELP text, -1 when there is none left, -2 before the first search. */
  private backslash = -2;

  constructor(s: string) {
    this.s = s;
    this.n = s.length;
    this.labels = new SampleLabels(s);
  }

  /** Refuses the body, quoting the current line around `at`. */
  fail(what: string, at: number): never {
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
  text(a: number, b: number, quote: boolean): string {
    // The next backslash at or after a: searched again only once passed, so all searches together are linear.
    if (this.backslash !== -1 && this.backslash < a) this.backslash = this.s.indexOf('\\', a);
    return this.backslash === -1 || this.backslash >= b ? this.s.slice(a, b) : unescape(this.s, a, b, quote);
  }

  char(p: number): number {
    return p < this.n ? this.s.charCodeAt(p) : -1;
  }

  describe(p: number): string {
    if (p >= this.n) return 'end of body';
    const c = this.s.charCodeAt(p);
    if (c === Ch.LF) return 'end of line';
    if (c === Ch.SP) return 'space';
    if (c === Ch.TAB) return 'tab';
    return JSON.stringify(this.s.charAt(p));
  }

  /** A sample line's metric name at `p` (a name start): starts the sample; returns the position after the name. */
  sampleName(p: number): number {
    const s = this.s;
    const n = this.n;
    this.labels.start(p);
    p++;
    while (p < n && isNameChar(s.charCodeAt(p))) p++;
    return p;
  }

  /** After a sample's last token (at `at`): its labels checked, sorted and without empty values. */
  settleLabels(at: number): void {
    const duplicate = this.labels.settle();
    if (duplicate !== undefined) this.fail(`duplicate label name ${duplicate}`, at);
  }

  /**
   * A label value after its opening quote; stores it (unless `skip`) and
   * returns the position after the closing quote. 0.0.4 allows a raw newline
   * in it, OpenMetrics does not; neither allows a backslash before a newline.
   */
  labelValue(p: number, labelName: string, rawNewline: boolean, skip: boolean): number {
    const s = this.s;
    const n = this.n;
    const start = p;
    const line = this.line;
    const lineStart = this.lineStart;
    let escaped = false;
    let canonical = true;
    for (;;) {
      if (p >= n || (p + 1 >= n && s.charCodeAt(p) === Ch.BACKSLASH)) {
        // Report the line where the value starts.
        this.line = line;
        this.lineStart = lineStart;
        this.fail('unterminated label value', start - 1);
      }
      const c = s.charCodeAt(p);
      if (c === Ch.QUOTE) break;
      if (c === Ch.BACKSLASH) {
        const next = s.charCodeAt(p + 1);
        if (next === Ch.LF) this.fail('backslash before end of line in label value', p);
        if (next !== Ch.BACKSLASH && next !== Ch.QUOTE && next !== 110 /* n */) canonical = false;
        escaped = true;
        p += 2;
        continue;
      }
      if (c === Ch.LF) {
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
      this.labels.add(labelName, escaped ? unescape(s, start, p, true) : s.slice(start, p), canonical && p !== start, p + 1);
    }
    return p + 1;
  }
}
