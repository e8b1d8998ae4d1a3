/**
 * The numbers and label value escapes of both exposition formats, as
 * Prometheus reads and writes them. Pure functions over a body slice
 * s[a..b), so a parser never copies a token to read it.
 */

const LF = 10;
const QUOTE = 34;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const BACKSLASH = 92;

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

/** 0.0.4 timestamps are int64 milliseconds: digits only (no sign), at most 9223372036854775807. */
export function fitsInt64(s: string, a: number, b: number): boolean {
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

/**
 * A 0.0.4 timestamp (digits only, already checked by fitsInt64) in ms: exact
 * up to 15 digits, else the nearest double (exact up to 2^53 ms, beyond any
 * time a Prometheus accepts).
 */
export function timestampDigits(s: string, a: number, b: number): number {
  if (b - a > 15) return Number(s.slice(a, b));
  let ms = 0;
  for (let i = a; i < b; i++) ms = ms * 10 + (s.charCodeAt(i) - 48);
  return ms;
}

/** An OpenMetrics timestamp (finite seconds) in ms, as Prometheus' int64(ts * 1000): truncated toward zero (and never -0). */
export function timestampSeconds(seconds: number): number {
  return Math.trunc(seconds * 1000) + 0;
}

/**
 * Label value (and OpenMetrics HELP) unescaping as Prometheus does it:
 * `\\` `\"` `\n` (`\"` only when `quote`); any other backslash is kept.
 */
export function unescape(s: string, a: number, b: number, quote: boolean): string {
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
export function escapeValue(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === BACKSLASH || c === QUOTE || c === LF) return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  }
  return v;
}
