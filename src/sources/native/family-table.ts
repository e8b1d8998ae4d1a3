import type { Bucket, HistogramSeries, Labels, MetricFamily, Quantile, ScalarSeries, ScalarType, SummarySeries } from '../../model/metric-family';
import { Failure } from './exposition-lexer';
import { Role } from './sample-roles';

/**
 * The families of one body, by model name: one kind per name, the owner of
 * a sample outside its metadata block, 0.0.4 `_created` gauges, the sample
 * count, and the model objects at the end.
 */

export type FamilyType = ScalarType | 'histogram' | 'summary';

/** A histogram's or summary's series while its samples arrive. */
export interface Group {
  readonly labels: Labels;
  readonly items: Array<Bucket | Quantile>;
  sum: number | undefined;
  count: number | undefined;
  /** The `_sum` and `_count` lines' own timestamps (ms), if they had one. */
  sumTimestampMs: number | undefined;
  countTimestampMs: number | undefined;
}

export interface Family {
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

/** A family and what a sample is to it. */
export interface Claim {
  readonly family: Family;
  readonly role: Role;
}

export function isScalarType(t: FamilyType): boolean {
  return t === 'counter' || t === 'gauge' || t === 'untyped';
}

export class FamilyTable {
  private readonly om: boolean;
  private readonly max: number;
  private readonly families = new Map<string, Family>();
  private readonly familyOrder: Family[] = [];
  /** 0.0.4 `_created` gauge families not yet known to be dropped. */
  private createdCandidates = 0;
  /** Samples stored and not dropped since. */
  total = 0;

  constructor(om: boolean, max: number) {
    this.om = om;
    this.max = max;
  }

  typeOf(name: string): FamilyType | undefined {
    return this.families.get(name)?.type;
  }

  /**
   * The family named `name`, created when new; undefined when the name is
   * taken by a family of another kind (a scalar and a histogram/summary
   * cannot share a name).
   */
  family(name: string, type: FamilyType, help: string, unit: string): Family | undefined {
    const existing = this.families.get(name);
    if (existing !== undefined) {
      if (existing.type !== type && !(isScalarType(existing.type) && isScalarType(type))) return undefined;
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
  owner(name: string): Claim | undefined {
    const families = this.families;
    const exact = families.get(name);
    if (exact !== undefined) {
      if (isScalarType(exact.type)) return { family: exact, role: Role.SCALAR };
      if (exact.type === 'summary') return { family: exact, role: Role.QUANTILE };
    }
    const cut = name.lastIndexOf('_');
    if (cut <= 0) return undefined;
    const base = name.slice(0, cut);
    const suffix = name.slice(cut);
    const family = families.get(base);
    const type = family?.type;
    switch (suffix) {
      case '_bucket':
        return type === 'histogram' ? { family: family!, role: Role.BUCKET } : undefined;
      case '_sum':
        return type === 'histogram' ? { family: family!, role: Role.HSUM } : type === 'summary' ? { family: family!, role: Role.SSUM } : undefined;
      case '_count':
        return type === 'histogram' ? { family: family!, role: Role.HCOUNT } : type === 'summary' ? { family: family!, role: Role.SCOUNT } : undefined;
      case '_created': {
        if (!this.om) return undefined;
        if (type === 'histogram' || type === 'summary') return { family: family!, role: Role.SKIP };
        const counter = families.get(`${base}_total`);
        return counter?.type === 'counter' ? { family: counter, role: Role.SKIP } : undefined;
      }
      default:
        return undefined;
    }
  }

  /** 0.0.4: a gauge/untyped `x_created` goes when a counter `x_total` or histogram/summary `x` exists, before or after it. */
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

  /** One more sample stored in `family`; past the limit the body is refused. */
  count(family: Family): void {
    family.samples++;
    if (++this.total > this.max) throw new Failure('too_many_series', `more than ${this.max} series`);
  }

  /** The model's families, in order of first appearance; `seriesOf` (when given) maps each Group to its series. */
  build(seriesOf: Map<object, object> | undefined): MetricFamily[] {
    const out: MetricFamily[] = [];
    const built = <T extends object>(make: (g: Group) => T) => (g: Group): T => {
      const series = make(g);
      if (seriesOf !== undefined) seriesOf.set(g, series);
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
    return out;
  }
}

type Totals = { sum?: number; count?: number; sumTimestampMs?: number; countTimestampMs?: number };

/** A series' _sum and _count, and their timestamps, only those it has (an absent one is no property). */
function totals(g: Group, series: Totals): void {
  if (g.sum !== undefined) series.sum = g.sum;
  if (g.count !== undefined) series.count = g.count;
  if (g.sumTimestampMs !== undefined) series.sumTimestampMs = g.sumTimestampMs;
  if (g.countTimestampMs !== undefined) series.countTimestampMs = g.countTimestampMs;
}

function histogramSeries(g: Group): HistogramSeries {
  const series: { labels: Labels; buckets: Bucket[] } & Totals = { labels: g.labels, buckets: (g.items as Bucket[]).slice() };
  totals(g, series);
  return series;
}

function summarySeries(g: Group): SummarySeries {
  const series: { labels: Labels; quantiles: Quantile[] } & Totals = { labels: g.labels, quantiles: (g.items as Quantile[]).slice() };
  totals(g, series);
  return series;
}
