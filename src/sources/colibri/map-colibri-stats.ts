import type { ColibriStats } from './parse-colibri-stats';
import {
  EXTRA_FIELD_HELP,
  HISTOGRAM_BOUNDS,
  HISTOGRAM_FIELDS,
  IGNORED_FIELDS,
  INFO_FIELDS,
  INFO_METRIC,
  SEED_FIELDS,
} from './colibri-field-catalog';
import { occupiedNames, type HistogramFamily, type MetricFamily, type ScalarFamily } from '../../model/metric-family';
import type { SkippedField, SkipReason } from '../source';

export interface MappedStats {
  readonly families: readonly MetricFamily[];
  readonly skipped: readonly SkippedField[];
}

/**
 * What became of one field's value, for a mapper that reuses the result
 * when the next body only has other numbers (colibri-mapper.ts): a number
 * that went into a gauge or counter series, an array that went into a
 * histogram series, or a value the result depends on as it is (an info
 * label, a skipped field), or nothing (an ignored field).
 */
export type FieldPlace =
  | { readonly kind: 'scalar'; readonly series: { value: number }; readonly scale: number; readonly counter: boolean }
  | { readonly kind: 'histogram'; readonly series: { buckets: readonly { count: number }[]; count?: number; sum?: number } }
  | { readonly kind: 'fixed'; readonly value: unknown }
  | { readonly kind: 'ignored' };

const PREFIX = 'jitsi_';
/** A JSON number literal, for numbers a bridge sent as strings ("5", "0.25"). */
const NUMERIC_STRING = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A catalogue entry of this very key: a key a bridge sends, such as `toString`, never finds what plain objects inherit. */
function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** `someKey.x` -> `some_key_x`: what Prometheus allows in a metric name. */
function sanitize(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
}

interface ScalarRule {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  /** Multiplier into the base unit (milliseconds are sent as seconds). */
  readonly scale: number;
}

/**
 * The naming rule. Seed fields keep the seed's name, type and HELP. Any
 * other `total_*` field is a counter named the Prometheus way
 * (`total_relays` -> `jitsi_relays_total`); everything else is a gauge
 * `jitsi_<key>`. A `_milliseconds` field is converted to `_seconds`.
 */
export function scalarRule(key: string): ScalarRule {
  // A bridge sends the same keys every poll: the rule of each is worked out once.
  let rule = RULES.get(key);
  if (rule === undefined) {
    if (RULES.size >= MAX_CACHED_RULES) RULES.clear();
    rule = ruleFor(key);
    RULES.set(key, rule);
  }
  return rule;
}

/** Rules already worked out, by key; bounded (a bridge sending new keys every poll cannot grow it without end). */
const RULES = new Map<string, ScalarRule>();
const MAX_CACHED_RULES = 50_000;

function ruleFor(key: string): ScalarRule {
  const seed = own(SEED_FIELDS, key);
  if (seed) return { name: PREFIX + key, type: seed.type, help: seed.help, scale: 1 };

  let base = sanitize(key);
  let scale = 1;
  if (/(^|_)milliseconds(_|$)/.test(base)) {
    base = base.replace(/(^|_)milliseconds(_|$)/, '$1seconds$2');
    scale = 1 / 1000;
  }
  const help = own(EXTRA_FIELD_HELP, key) ?? `The JVB /colibri/stats field "${key}".`;
  if (base.startsWith('total_') && base.length > 'total_'.length) {
    return { name: `${PREFIX}${base.slice('total_'.length)}_total`, type: 'counter', help, scale };
  }
  return { name: PREFIX + base, type: 'gauge', help, scale };
}

/** A conference_sizes-style array, or the string form some bridges send ("[]" before their first stats run). */
export function histogramCounts(value: unknown): number[] | undefined {
  let array = value;
  if (typeof value === 'string') {
    try {
      array = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(array)) return undefined;
  const counts: number[] = [];
  for (const slot of array) {
    const n = typeof slot === 'string' && NUMERIC_STRING.test(slot) ? Number(slot) : slot;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return undefined;
    counts.push(n);
  }
  return counts;
}

/**
 * Slot i counts conferences with i endpoints (the last slot: that many or
 * more, counted at its index in the sum, a lower bound). The sum is
 * Σ i·n_i; the seed wrongly put the number of conferences there.
 */
export function histogramFromCounts(name: string, help: string, counts: readonly number[]): HistogramFamily {
  let cumulative = 0;
  let next = 0;
  const buckets = HISTOGRAM_BOUNDS.map((le) => {
    while (next < counts.length && next <= le) cumulative += counts[next++]!;
    return { le: String(le), count: cumulative };
  });
  let count = 0;
  let sum = 0;
  counts.forEach((n, i) => {
    count += n;
    sum += i * n;
  });
  return { type: 'histogram', name, help, unit: '', series: [{ labels: {}, buckets: [...buckets, { le: '+Inf', count }], count, sum }] };
}

const NO_LABELS = Object.freeze({});

function skipReasonOf(value: unknown): SkipReason {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'unexpected_array';
  if (typeof value === 'object') return 'nested_object';
  return 'not_a_number';
}

/**
 * Maps one /colibri/stats object to metric families. Pure and total: every
 * field either becomes a metric or is listed in `skipped` with a reason;
 * nothing about one field can affect another.
 */
export function mapColibriStats(stats: ColibriStats, places?: Map<string, FieldPlace>): MappedStats {
  const families: MetricFamily[] = [];
  const skipped: SkippedField[] = [];
  const infoLabels: Record<string, string> = {};
  const taken = new Set<string>([INFO_METRIC.name]);

  const add = (key: string, family: MetricFamily): boolean => {
    const names = occupiedNames(family);
    if (names.some((name) => taken.has(name))) {
      skipped.push({ key, reason: 'name_collision' });
      return false;
    }
    names.forEach((name) => taken.add(name));
    families.push(family);
    return true;
  };

  for (const key of Object.keys(stats).sort()) {
    const value = stats[key];
    // (Unless a place is set below, the result depends on this value as it is.)
    places?.set(key, { kind: 'fixed', value });
    if (IGNORED_FIELDS.includes(key)) {
      places?.set(key, { kind: 'ignored' });
      continue;
    }

    const histogramHelp = own(HISTOGRAM_FIELDS, key);
    if (histogramHelp !== undefined) {
      const counts = histogramCounts(value);
      if (counts === undefined) skipped.push({ key, reason: 'bad_histogram' });
      else {
        const family = histogramFromCounts(PREFIX + key, histogramHelp, counts);
        if (add(key, family)) places?.set(key, { kind: 'histogram', series: family.series[0]! });
      }
      continue;
    }

    if (INFO_FIELDS.includes(key)) {
      if (typeof value === 'string' && value !== '') infoLabels[key] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') infoLabels[key] = String(value);
      else skipped.push({ key, reason: skipReasonOf(value) });
      continue;
    }

    let numeric: number | undefined;
    if (typeof value === 'number') numeric = value;
    else if (typeof value === 'boolean') numeric = value ? 1 : 0;
    else if (typeof value === 'string' && NUMERIC_STRING.test(value.trim())) numeric = Number(value.trim());
    if (numeric === undefined) {
      skipped.push({ key, reason: skipReasonOf(value) });
      continue;
    }
    // JSON has no Infinity or NaN: a non-finite number here was written too large for a float64 ("1e400", or 1e400).
    if (!Number.isFinite(numeric)) {
      skipped.push({ key, reason: 'out_of_range' });
      continue;
    }
    const rule = scalarRule(key);
    if (rule.type === 'counter' && numeric < 0) {
      skipped.push({ key, reason: 'negative_counter' });
      continue;
    }
    const series = { labels: NO_LABELS, value: numeric * rule.scale };
    const family: ScalarFamily = { name: rule.name, help: rule.help, unit: '', type: rule.type, series: [series] };
    if (add(key, family) && typeof value === 'number') places?.set(key, { kind: 'scalar', series, scale: rule.scale, counter: rule.type === 'counter' });
  }

  if (Object.keys(infoLabels).length > 0) {
    families.push({ name: INFO_METRIC.name, help: INFO_METRIC.help, unit: '', type: 'gauge', series: [{ labels: infoLabels, value: 1 }] });
  }
  families.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { families, skipped };
}
