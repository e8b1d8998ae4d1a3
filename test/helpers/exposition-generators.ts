// Seeded generators of exposition bodies (both formats), their mutations,
// and bodies with only other values: shared by the parser's fuzz test and
// the perf tier.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mulberry32 } from '../../src/sources/demo/seeded-random';
import { ExpositionReparser } from '../../src/sources/native/exposition-reparser';
import { parseExpositionWithPlaces, type ExpositionFormat } from '../../src/sources/native/parse-exposition';

const FIXTURE_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'jvb-native');
export const FIXTURES: Array<[string, ExpositionFormat]> = [
  [readFileSync(path.join(FIXTURE_DIR, 'jvb-metrics-simpleclient-0.16-generated.txt'), 'utf8'), 'text-0.0.4'],
  [readFileSync(path.join(FIXTURE_DIR, 'jvb-metrics-simpleclient-0.16-generated.openmetrics.txt'), 'utf8'), 'openmetrics-1.0'],
];

export class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  float(): number {
    return this.next();
  }
}

// ---------------------------------------------------------------- generation

const LABEL_NAMES = ['a', 'b', 'dir', 'conference_id', '_x', 'endpoint', 'Z9'];
const LABEL_CHARS = ['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', '€', '😀', '{', '}', ',', '=', '#', '\t', 'n'];
const VALUES = ['0', '0.0', '1.0', '-2.5', '1.724E12', '1.795741436501E9', '1e-3', '.5', '5.', 'NaN', 'nan', '+Inf', '-Inf', 'Inf', '-0.0', '123456789012345678', '7.424100000000001e-05', '+3'];

export function labelValue(rnd: Random): { raw: string; written: string } {
  let raw = '';
  const n = rnd.int(6);
  for (let i = 0; i < n; i++) raw += rnd.pick(LABEL_CHARS);
  const written = raw.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return { raw, written };
}

export function value(rnd: Random): string {
  switch (rnd.int(4)) {
    case 0:
      return String(rnd.int(100000));
    case 1:
      return (rnd.float() * 1e6).toExponential(rnd.int(10));
    default:
      return rnd.pick(VALUES);
  }
}

/** A valid body of random families, and how many samples a scrape stores from it. */
export function generate(rnd: Random, om: boolean): { body: string; samples: number } {
  const lines: string[] = [];
  const created: string[] = [];
  let samples = 0;
  const ws = (): string => (om ? ' ' : rnd.pick([' ', '\t', '  ', ' \t']));
  const maybeWs = (): string => (om || rnd.chance(0.7) ? '' : rnd.pick([' ', '\t']));
  const sample = (name: string, labels: Array<[string, string]>, exemplar: boolean): void => {
    let line = name;
    if (labels.length > 0 || rnd.chance(0.1)) {
      if (!om && rnd.chance(0.2)) line += ' ';
      const parts = labels.map(([k, v]) => `${maybeWs()}${k}${maybeWs()}=${maybeWs()}"${v}"${maybeWs()}`);
      line += `{${parts.join(',')}${!om && labels.length > 0 && rnd.chance(0.3) ? ',' : ''}}`;
    }
    line += ws() + value(rnd);
    if (rnd.chance(0.2)) line += ws() + (om ? (1.7e9 + rnd.float()).toFixed(3) : String(1_700_000_000_000 + rnd.int(1000)));
    if (om && exemplar && rnd.chance(0.4)) line += ` # {trace_id="${rnd.int(1e6)}"} ${value(rnd)}${rnd.chance(0.5) ? ' 1700000000.5' : ''}`;
    if (!om && rnd.chance(0.1)) line += rnd.pick([' ', '\t']);
    lines.push(line);
  };
  /** The same series again, labels in another order (and other blanks in 0.0.4): Prometheus keeps the first. */
  const duplicate = (name: string, labels: Array<[string, string]>): void => {
    const copy = [...labels];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = rnd.int(i + 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    sample(name, copy, false);
  };
  const families = 1 + rnd.int(6);
  for (let f = 0; f < families; f++) {
    const unit = om && rnd.chance(0.3) ? 'seconds' : '';
    const base = `${rnd.pick(['jvb', 'x:y', '_z', 'Fam'])}_${f}${unit ? '_seconds' : ''}`;
    const type = rnd.pick(om ? ['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown', ''] : ['counter', 'gauge', 'histogram', 'summary', 'untyped', '']);
    const metaName = !om && type === 'counter' ? `${base}_total` : base;
    const meta: string[] = [];
    if (type !== '') meta.push(`# TYPE ${metaName} ${type}`);
    if (rnd.chance(0.7)) meta.push(`# HELP ${metaName} ${labelValue(rnd).written.replace(/\n/g, '')}`);
    if (unit) meta.push(`# UNIT ${metaName} ${unit}`);
    if (rnd.chance(0.5)) meta.reverse();
    lines.push(...meta);
    if (!om && rnd.chance(0.2)) lines.push(rnd.pick(['', '# a comment', '#', '   ']));
    const seriesCount = 1 + rnd.int(3);
    for (let s = 0; s < seriesCount; s++) {
      const labels: Array<[string, string]> = [['i', String(s)]];
      for (const name of LABEL_NAMES) if (rnd.chance(0.2)) labels.push([name, labelValue(rnd).written]);
      for (let i = labels.length - 1; i > 0; i--) {
        const j = rnd.int(i + 1);
        [labels[i], labels[j]] = [labels[j]!, labels[i]!];
      }
      switch (type) {
        case 'counter':
          sample(`${base}_total`, labels, true);
          samples++;
          if (rnd.chance(0.15)) duplicate(`${base}_total`, labels);
          if (om && rnd.chance(0.5)) sample(`${base}_created`, labels, false);
          break;
        case 'info':
          sample(`${base}_info`, labels, false);
          samples++;
          break;
        case 'histogram':
        case 'gaugehistogram': {
          const les = ['0.1', '1.0', '10', '+Inf'].slice(rnd.int(3));
          for (const le of les) sample(`${base}_bucket`, [...labels, ['le', le]], true);
          samples += les.length;
          const [sum, count] = type === 'histogram' ? ['_sum', '_count'] : ['_gsum', '_gcount'];
          if (rnd.chance(0.8)) {
            sample(`${base}${count}`, labels, false);
            samples++;
          }
          if (rnd.chance(0.8)) {
            sample(`${base}${sum}`, labels, false);
            samples++;
          }
          if (om && type === 'histogram' && rnd.chance(0.5)) sample(`${base}_created`, labels, false);
          break;
        }
        case 'summary': {
          const qs = ['0.5', '0.9', '0.99'].slice(rnd.int(4));
          for (const q of qs) sample(base, [...labels, ['quantile', q]], false);
          sample(`${base}_sum`, labels, false);
          sample(`${base}_count`, labels, false);
          samples += qs.length + 2;
          if (om && rnd.chance(0.5)) sample(`${base}_created`, labels, false);
          break;
        }
        default:
          sample(base, labels, false);
          samples++;
          if (rnd.chance(0.15)) duplicate(base, labels);
      }
    }
    if (!om && (type === 'counter' || type === 'histogram' || type === 'summary')) {
      // simpleclient: the creation time as a separate gauge family at the end.
      created.push(`# HELP ${base}_created created`, `# TYPE ${base}_created gauge`, `${base}_created 1.7E9`);
    }
  }
  lines.push(...created);
  if (om) return { body: `${lines.join('\n')}\n# EOF${rnd.chance(0.8) ? '\n' : ''}`, samples };
  return { body: lines.join('\n') + (rnd.chance(0.8) ? '\n' : ''), samples };
}

// ------------------------------------------------------------------ mutation

const INSERTS = ['{', '}', '"', '\\', '\n', '#', ',', '=', ' ', '\t', '# EOF\n', '\u0000', '\r', 'NaN', '_created', '_total', 'le="1"', '_bucket', '# TYPE x histogram\n', '# HELP ', '\\n', '}}', '{{', '""'];

export function randomAscii(rnd: Random, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rnd.chance(0.1) ? rnd.pick([10, 9, 0, 127, 200, 0x20ac]) : 32 + rnd.int(95));
  return s;
}

export function mutate(rnd: Random, input: string): string {
  let s = input;
  const count = 1 + rnd.int(3);
  for (let k = 0; k < count; k++) {
    const at = rnd.int(s.length + 1);
    switch (rnd.int(8)) {
      case 0: // replace one character
        s = s.slice(0, at) + randomAscii(rnd, 1) + s.slice(at + 1);
        break;
      case 1: // truncate
        s = s.slice(0, at);
        break;
      case 2: {
        // duplicate a slice
        const len = rnd.int(200);
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
        break;
      }
      case 3: // insert a special token
        s = s.slice(0, at) + rnd.pick(INSERTS) + s.slice(at);
        break;
      case 4: // delete a slice
        s = s.slice(0, at) + s.slice(at + rnd.int(20));
        break;
      case 5: {
        // swap two lines
        const lines = s.split('\n');
        const i = rnd.int(lines.length);
        const j = rnd.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\n');
        break;
      }
      case 6: {
        // replace a line with random text
        const lines = s.split('\n');
        lines[rnd.int(lines.length)] = randomAscii(rnd, rnd.int(40));
        s = lines.join('\n');
        break;
      }
      default: // append junk
        s += randomAscii(rnd, rnd.int(30));
    }
  }
  return s;
}


/**
 * `body` with some sample values replaced by other values (or, when `invalid`,
 * one by a word that is no number), found from where a full parse says the
 * values are. Any other text stays as it was.
 */
export function withOtherValues(rnd: Random, body: string, format: ExpositionFormat, invalid = false): string {
  const parsed = parseExpositionWithPlaces(body, format, { maxSamples: 100_000 });
  if (!parsed.ok || parsed.places.length === 0) return body;
  const wrong = invalid ? rnd.int(parsed.places.length) : -1;
  let out = '';
  let from = 0;
  parsed.places.forEach((place, k) => {
    const replaced = k === wrong ? rnd.pick(['x', '1,5', '0x10', '1_000', '']) : rnd.chance(0.7) ? value(rnd) : body.slice(place.start, place.end);
    out += body.slice(from, place.start) + replaced;
    from = place.end;
  });
  return out + body.slice(from);
}

/**
 * 120 seeded sequences of 12 bodies each (both formats; the fixtures, then
 * generated bodies): most polls change only values, some put an invalid
 * value in, some mutate the text, some go back to the first body. `visit`
 * gets each body with the sequence's own reparser; the next body follows
 * from the last one that parsed.
 */
export function reparserSequences(
  visit: (run: number, poll: number, reparser: ExpositionReparser, next: string, format: ExpositionFormat, maxSamples: number) => void,
): void {
  const rnd = new Random(0xbead);
  for (let run = 0; run < 120; run++) {
    const om = run % 2 === 1;
    const format: ExpositionFormat = om ? 'openmetrics-1.0' : 'text-0.0.4';
    const base = run < 4 ? FIXTURES[run % 2]![0] : generate(rnd, om).body;
    const maxSamples = rnd.pick([5, 100_000]);
    const reparser = new ExpositionReparser();
    let body = base;
    for (let poll = 0; poll < 12; poll++) {
      const kind = rnd.int(10);
      const next = poll === 0 ? base : kind < 6 ? withOtherValues(rnd, body, format) : kind < 8 ? withOtherValues(rnd, body, format, true) : kind < 9 ? mutate(rnd, body) : base;
      visit(run, poll, reparser, next, format, maxSamples);
      // The next body follows from the last that parsed: what a bridge serves next.
      if (parseExpositionWithPlaces(next, format, { maxSamples }).ok) body = next;
    }
  }
}
