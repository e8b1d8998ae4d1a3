/**
 * A small reader of the Prometheus text format (0.0.4), written for the
 * tests independently of prom-client: HELP, TYPE and samples.
 */
export interface ExpositionSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly help: ReadonlyMap<string, string>;
  readonly type: ReadonlyMap<string, string>;
  readonly samples: readonly ExpositionSample[];
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) labels[match[1]!] = unescape(match[2]!);
  if (re.lastIndex !== 0 && re.lastIndex < text.length && text.slice(re.lastIndex).trim() !== '') throw new Error(`bad labels: ${text}`);
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // Go's ParseFloat, which Prometheus uses, takes any case (prom-client writes "Nan").
  if (text.toLowerCase() === 'nan') return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`bad value: ${text}`);
  return n;
}

export function parseExposition(text: string): Exposition {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: ExpositionSample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let match = /^# HELP (\S+) ?(.*)$/.exec(line);
    if (match) {
      help.set(match[1]!, unescape(match[2]!));
      continue;
    }
    match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match) {
      type.set(match[1]!, match[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!match) throw new Error(`unparseable line: ${line}`);
    samples.push({ name: match[1]!, labels: match[2] ? parseLabels(match[2]) : {}, value: parseValue(match[3]!) });
  }
  return { help, type, samples };
}

/** The one sample of `name` whose labels include `labels`; throws when there is not exactly one. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = exposition.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!.value;
}
