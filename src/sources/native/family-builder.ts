import type { MetricFamily } from '../../model/metric-family';
import type { SkippedField, SkipReason } from '../source';
import type { ExpositionLexer } from './exposition-lexer';
import { type Family, FamilyTable, isScalarType } from './family-table';
import type { SampleLabels } from './sample-labels';
import { type NamedBlock, type RawType, Role, nameBlock } from './sample-roles';

/**
 * Turns the metadata and samples of either grammar into the family model:
 * which family each sample goes to and as what, duplicate series, and where
 * each value went (for the reparser). The rules: docs/native-parsing.md.
 */

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

/** The metadata lines (TYPE, HELP, UNIT) of one name, and the family its samples went to. */
interface Block extends NamedBlock {
  help: string | undefined;
  unit: string | undefined;
  /** Set at the first sample (not for a gauge histogram, whose samples go to one family per name). */
  family: Family | undefined;
  bound: boolean;
}

export class FamilyBuilder {
  private readonly labels: SampleLabels;
  private readonly om: boolean;
  private readonly table: FamilyTable;

  private block: Block | undefined;
  /** Series already stored: name + canonical labels. */
  private readonly seen = new Set<string>();

  /** Filled when the caller asks where values went (parseExpositionWithPlaces); sum and count places point at their Group until build(). */
  private readonly places: ValuePlace[] | undefined;
  private readonly groupPlaces: ValuePlace[] = [];
  /** Samples a scrape stores but the model cannot hold: one entry per family and reason. */
  readonly skipped: SkippedField[] = [];
  private readonly skippedKeys = new Set<string>();

  /** `lx`: the body's lexer, whose current sample labels addSample() reads. */
  constructor(lx: ExpositionLexer, om: boolean, max: number, places: ValuePlace[] | undefined) {
    this.labels = lx.labels;
    this.om = om;
    this.table = new FamilyTable(om, max);
    this.places = places;
  }

  /** Samples stored. */
  get samples(): number {
    return this.table.total;
  }

  /** Leaves the current sample out, counted once per family and reason (docs/native-parsing.md: what a scrape stores and the model cannot hold). */
  private skip(family: string, reason: SkipReason): void {
    const key = `${reason}\n${family}`;
    if (this.skippedKeys.has(key)) return;
    this.skippedKeys.add(key);
    this.skipped.push({ key: family, reason });
  }

  /** A TYPE, HELP or UNIT line for `name`. */
  metadata(name: string, field: 'type' | 'help' | 'unit', value: string): void {
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

  /** The family (name and type in the model) of a block whose samples all go to one family; undefined when that name is taken by a family of another kind. */
  private blockFamily(block: Block): Family | undefined {
    const m = block.name;
    const help = block.help ?? '';
    const unit = block.unit ?? '';
    const table = this.table;
    switch (block.type) {
      case 'counter':
        return table.family(this.om ? `${m}_total` : m, 'counter', help, unit);
      case 'gauge':
      case 'stateset':
        return table.family(m, 'gauge', help, unit);
      case 'info':
        return table.family(`${m}_info`, 'gauge', help, unit);
      case 'histogram':
        return table.family(m, 'histogram', help, unit);
      case 'summary':
        return table.family(m, 'summary', help, unit);
      default:
        return table.family(m, 'untyped', help, unit);
    }
  }

  /** Stores the sample just parsed (name, value, its own timestamp if it has one, and the labels in the lexer's SampleLabels). */
  addSample(name: string, value: number, valueStart: number, valueEnd: number, timestampMs: number | undefined): void {
    // Every sample line has a place, stored or not (see stored()).
    this.places?.push({ start: valueStart, end: valueEnd, target: undefined, field: '' });
    let family: Family | undefined;
    let role: Role = Role.NONE;
    const block = this.block;
    if (block !== undefined) {
      if (block.names === undefined) nameBlock(block, this.om);
      const names = block.names!;
      for (let i = 0; i < names.length; i++) {
        if (names[i] === name) {
          role = block.roles![i]!;
          break;
        }
      }
      if (role === Role.SKIP) return;
      if (role === Role.GH_BUCKET || role === Role.GH_SCALAR) {
        block.bound = true;
        family = this.table.family(name, 'gauge', block.help ?? '', block.unit ?? '');
      } else if (role !== Role.NONE) {
        if (!block.bound) {
          block.bound = true;
          block.family = this.blockFamily(block);
        }
        family = block.family;
      }
      // The block's family name is taken by a family of another kind (e.g. its
      // samples came before its TYPE line): its samples go where strays go.
      if (family === undefined) role = Role.NONE;
    }
    if (family === undefined || role === Role.NONE) {
      const claim = this.table.owner(name);
      if (claim !== undefined) {
        family = claim.family;
        role = claim.role;
      } else {
        const stray = this.strayFamily(name);
        if (stray === undefined) return this.skip(name, 'name_collision');
        family = stray;
        role = Role.SCALAR;
      }
    }
    if (role === Role.SKIP || family.created === 2) return;

    if (role === Role.SCALAR || role === Role.GH_SCALAR || role === Role.GH_BUCKET) {
      if (role === Role.GH_BUCKET && !this.hasLabel('le')) return this.skip(family.name, 'bad_histogram');
      if (!isScalarType(family.type)) return this.skip(family.name, 'name_collision');
      if (!this.firstSeen(name)) return;
      this.table.count(family);
      const labels = this.labels.object(-1);
      // (Two literals, so that a series without a timestamp has no such property: the same shape as ever.)
      const series = timestampMs === undefined ? { labels, value } : { labels, value, timestampMs };
      family.scalars.push(series);
      this.stored(series, 'value');
      return;
    }
    this.addGrouped(name, family, role, value, timestampMs);
  }

  /** An untyped family named by the sample, for a sample no family owns; undefined when a histogram or summary family has its name. */
  private strayFamily(name: string): Family | undefined {
    return this.table.family(name, 'untyped', '', '');
  }

  /** Whether the current sample has label `name` with a value (`le=""` is no label, as a scrape stores it). */
  private hasLabel(name: string): boolean {
    const at = this.labels.indexOf(name);
    return at >= 0 && this.labels.values[at] !== '';
  }

  /** A histogram or summary sample: into the series (Group) of its labels without `le`/`quantile`. */
  private addGrouped(name: string, family: Family, role: Role, value: number, timestampMs: number | undefined): void {
    let skip = -1;
    if (role === Role.BUCKET) {
      if (!this.hasLabel('le')) return this.skip(family.name, 'bad_histogram');
      skip = this.labels.indexOf('le');
    } else if (role === Role.QUANTILE) {
      if (!this.hasLabel('quantile')) return this.skip(family.name, 'bad_summary');
      skip = this.labels.indexOf('quantile');
    }
    if (!this.firstSeen(name)) return;
    this.table.count(family);
    const groupKey = skip < 0 ? this.labels.key(-1) : this.labels.key(skip);
    const groups = family.groups!;
    let group = groups.get(groupKey);
    if (group === undefined) {
      group = { labels: this.labels.object(skip), items: [], sum: undefined, count: undefined, sumTimestampMs: undefined, countTimestampMs: undefined };
      groups.set(groupKey, group);
      family.groupList.push(group);
    }
    switch (role) {
      case Role.BUCKET: {
        const le = this.labels.values[skip]!;
        const bucket = timestampMs === undefined ? { le, count: value } : { le, count: value, timestampMs };
        group.items.push(bucket);
        this.stored(bucket, 'count');
        break;
      }
      case Role.QUANTILE: {
        const q = this.labels.values[skip]!;
        const quantile = timestampMs === undefined ? { quantile: q, value } : { quantile: q, value, timestampMs };
        group.items.push(quantile);
        this.stored(quantile, 'value');
        break;
      }
      case Role.HSUM:
      case Role.SSUM:
        group.sum = value;
        group.sumTimestampMs = timestampMs;
        this.stored(group, 'sum', true);
        break;
      default:
        group.count = value;
        group.countTimestampMs = timestampMs;
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

  build(): MetricFamily[] {
    const groupPlaces = this.groupPlaces;
    const seriesOf = groupPlaces.length > 0 ? new Map<object, object>() : undefined;
    const out = this.table.build(seriesOf);
    // A sum or count place points at its series now (a dropped `_created` family's groups have none: no target).
    for (const place of groupPlaces) place.target = seriesOf!.get(place.target!) as Record<string, unknown> | undefined;
    return out;
  }
}
