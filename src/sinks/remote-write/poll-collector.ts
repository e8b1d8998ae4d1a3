// Walks one poll of a target (its families, in the model every source and
// registry produces) and lists its samples in order: live series first,
// then stale markers, with where a request may be cut after each
// (request-splitter.ts). Both remote-write encoders read this list; each
// writes it in its own message. It finds each sample's series cheaply when
// a poll lists what the last one did. Pure: no I/O, no clock.
// docs/remote-write-encoding.md has the design.

import { Writer } from 'protobufjs';
import type { HistogramSeries, Labels, LabelledFamilies, MetricFamily, SummarySeries } from '../../model/metric-family';
import { INSIDE, ATOM_END, UNIT_END } from './request-splitter';
import { type LabelPair, canonicalLabels, metricTypeNumber } from './series-labels';
import { NEVER_LIVE, StalenessTracker, type TrackedSeries } from './staleness-tracker';

export interface Series extends TrackedSeries {
  /**
   * The TimeSeries' Label fields (0a <len> Label, sorted), encoded once, as
   * a latin1 string (one character a byte): the series' identity, and what
   * is copied into a request (a string costs less memory than a byte array).
   */
  readonly key: string;
  readonly family: string;
  /** Histogram/summary series: keep the family's series in one request. */
  readonly together: boolean;
  /** How the poll last spelt it: [metricName, registry labels, part name, part value, name1, value1, ...] in the labels object's key order. */
  spelling: unknown[];
  /** Its position in its family's values in the last poll it was live in. */
  index: number;
  /** Its labels and metadata, kept only for a collector made with `keepDetail` (remote-write 2.0 writes them as symbols). */
  detail: SeriesDetail | undefined;
}

/** What a 2.0 request names of a series besides its value: its labels (canonical order) and its family's metadata. */
export interface SeriesDetail {
  readonly labels: readonly LabelPair[];
  /** MetricType wire number (the same numbers in 1.0 and 2.0). */
  readonly type: number;
  readonly help: string;
  readonly unit: string;
}

/**
 * The samples of the poll being encoded, in order: live series first, then
 * stale markers, with the boundary after each (request-splitter.ts). Its
 * storage is kept from poll to poll; `n` says how much of it is this poll's.
 */
export class PollSamples {
  n = 0;
  samples: Series[] = [];
  values = new Float64Array(256);
  boundary = new Uint8Array(256);

  start(): void {
    this.n = 0;
  }

  push(series: Series, value: number, boundary: number): void {
    const n = this.n;
    if (n === this.values.length) {
      const values = new Float64Array(n * 2);
      values.set(this.values);
      this.values = values;
      const boundaries = new Uint8Array(n * 2);
      boundaries.set(this.boundary);
      this.boundary = boundaries;
    }
    this.samples[n] = series;
    this.values[n] = value;
    this.boundary[n] = boundary;
    this.n = n + 1;
  }

  /** The last sample pushed, if there is one, may be cut after as `boundary`. */
  mark(boundary: number): void {
    if (this.n > 0) this.boundary[this.n - 1] = boundary;
  }

  /** Ends the poll: storage beyond it lets go of the series it held. */
  end(): void {
    if (this.samples.length > this.n) this.samples.length = this.n;
  }

  result(liveCount: number): CollectedPoll {
    return { samples: this.samples, values: this.values, boundary: this.boundary, n: this.n, liveCount };
  }
}

/** Each family's series by position in the last poll it was in; `seen` is that poll. */
interface Positions {
  series: Series[];
  seen: number;
  /** The family object, its series list and registry labels they were read from. */
  family: MetricFamily | undefined;
  list: readonly unknown[] | undefined;
  registryLabels: Labels | undefined;
}

/**
 * The family being encoded: its series by position last time, and this
 * poll's once they differ (the usual poll lists the same series in the same
 * order, and then nothing is copied).
 */
interface FamilyCursor {
  family: MetricFamily;
  registryLabels: Labels;
  previous: readonly Series[];
  /** This poll's series so far; undefined while they are those of `previous`, in order. */
  current: Series[] | undefined;
  /**
   * The very family object and series list read last poll: the sources keep
   * their result when only values change and write the values into it, so
   * its series are `previous`, in order, and need no spelling check.
   */
  same: boolean;
  /** Samples of the family seen so far this poll. */
  count: number;
  /** How far this poll's positions have moved from last poll's (series inserted or removed before). */
  shift: number;
  /** A histogram's or summary's <name>_sum and <name>_count, made once per family. */
  sumName: string;
  countName: string;
}

const NO_SERIES: readonly Series[] = [];
const MAX_KNOWN_LABELS = 16;

/** The same names with the same values, in the same order. */
function sameLabels(a: Labels, b: Labels): boolean {
  const names = Object.keys(a);
  const other = Object.keys(b);
  if (names.length !== other.length) return false;
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== other[i] || a[names[i]!] !== b[other[i]!]) return false;
  }
  return true;
}

/** The last sample added ends one series of a histogram or summary (its buckets or quantiles, _sum and _count). */
function endAtom(p: PollSamples): void {
  if (p.n > 0 && p.boundary[p.n - 1] === INSIDE) p.boundary[p.n - 1] = ATOM_END;
}

/** Whether a sample spells exactly `spelling`: no hashing, no allocation. */
function spells(spelling: readonly unknown[], metricName: string, registryLabels: Labels, part: string, partValue: string, labels: Labels): boolean {
  if (spelling[0] !== metricName || spelling[1] !== registryLabels || spelling[2] !== part || spelling[3] !== partValue) return false;
  let j = 4;
  for (const name in labels) {
    if (spelling[j] !== name || spelling[j + 1] !== labels[name]) return false;
    j += 2;
  }
  return j === spelling.length;
}

/** The samples of one poll, in order; valid until the next call of collect(). */
export interface CollectedPoll {
  readonly samples: readonly Series[];
  readonly values: Float64Array;
  readonly boundary: Uint8Array;
  /** Samples of this poll: [0, n). */
  readonly n: number;
  /** Those from liveCount on are stale markers. */
  readonly liveCount: number;
}

export class PollCollector {
  /** Series live in the last poll, by identity: whose label bytes are kept, and which get stale markers when gone. */
  private readonly staleness = new StalenessTracker<Series>();
  /** This poll's samples (storage reused from poll to poll). */
  private readonly samples = new PollSamples();
  private readonly positions = new Map<string, Positions>();
  /** Registry labels objects seen (a target has one or two). */
  private readonly knownLabels: Labels[] = [];
  private readonly cursor: FamilyCursor = { family: undefined!, registryLabels: {}, previous: NO_SERIES, current: undefined, same: false, count: 0, shift: 0, sumName: '', countName: '' };

  /**
   * `keepDetail`: keep each series' labels and metadata (SeriesDetail), for
   * an encoder that writes them per request rather than as fixed bytes.
   */
  constructor(
    private readonly externalLabels: Labels,
    private readonly keepDetail = false,
  ) {}

  /**
   * One poll's samples: series absent now but sent by the previous call
   * get one stale marker. A series listed twice is taken once (the first).
   * A histogram's or summary's series stay together (boundaries).
   */
  collect(groups: readonly LabelledFamilies[]): CollectedPoll {
    // This poll's samples: live series first, then stale markers.
    const poll = this.staleness.startPoll();
    const p = this.samples;
    p.start();
    const f = this.cursor;
    let families = 0;
    for (const group of groups) {
      const registryLabels = this.known(group.labels);
      for (const family of group.families) {
        if (family.series.length === 0) continue;
        // Families list their series in the same order every poll: each sample first
        // tries the series at its position last time (shifted past insertions and
        // removals) before its labels are built.
        const { name } = family;
        let position = this.positions.get(name);
        if (position === undefined) this.positions.set(name, (position = { series: [], seen: 0, family: undefined, list: undefined, registryLabels: undefined }));
        const again = position.seen === poll; // (a family name twice in one poll: no hints for the second)
        f.family = family;
        f.registryLabels = registryLabels;
        f.previous = again ? NO_SERIES : position.series;
        f.current = undefined;
        f.same = !again && position.family === family && position.list === family.series && position.registryLabels === registryLabels;
        f.count = 0;
        f.shift = 0;
        switch (family.type) {
          case 'histogram': {
            const bucket = `${name}_bucket`;
            f.sumName = `${name}_sum`;
            f.countName = `${name}_count`;
            for (const s of family.series) {
              for (const b of s.buckets) this.add(p, f, bucket, s.labels, 'le', b.le, b.count);
              this.addTotals(p, f, s);
            }
            break;
          }
          case 'summary':
            f.sumName = `${name}_sum`;
            f.countName = `${name}_count`;
            for (const s of family.series) {
              for (const q of s.quantiles) this.add(p, f, name, s.labels, 'quantile', q.quantile, q.value);
              this.addTotals(p, f, s);
            }
            break;
          default:
            for (const s of family.series) this.add(p, f, name, s.labels, '', '', s.value);
        }
        // (Had every value been a duplicate, the sample before is a family end: UNIT_END already.)
        p.mark(UNIT_END);
        if (!again) {
          const current = f.current as Series[] | undefined; // (set by add(), which TypeScript does not follow)
          if (current !== undefined) position.series = current.slice(); // (exactly as long as it is: one per family is kept)
          else if (f.count < f.previous.length) position.series = f.previous.slice(0, f.count);
          position.seen = poll;
          position.family = family;
          position.list = family.series;
          position.registryLabels = registryLabels;
          families++;
        }
      }
    }
    if (this.positions.size > families) {
      for (const [name, position] of this.positions) if (position.seen !== poll) this.positions.delete(name);
    }

    const liveCount = p.n;
    const stale = this.staleness.endPoll();
    for (let i = 0; i < stale.length; i++) {
      const s = stale[i]!;
      if (p.n > liveCount && s.together) {
        const before = p.samples[p.n - 1]!;
        if (before.together && before.family === s.family) p.mark(ATOM_END); // one family's stale markers stay together too
      }
      p.push(s, 0, UNIT_END);
    }
    p.end();
    return p.result(liveCount);
  }

  /**
   * The registry labels object this encoder saw before with the same labels,
   * else `labels`: series spellings compare registry labels by identity, and
   * a caller may build equal labels anew for each poll.
   */
  private known(labels: Labels): Labels {
    for (const known of this.knownLabels) {
      if (known === labels || sameLabels(known, labels)) return known;
    }
    if (this.knownLabels.length >= MAX_KNOWN_LABELS) this.knownLabels.shift();
    this.knownLabels.push(labels);
    return labels;
  }

  /** A histogram's or summary's series ends with its _sum and _count samples (when it has them). */
  private addTotals(p: PollSamples, f: FamilyCursor, s: HistogramSeries | SummarySeries): void {
    if (s.sum !== undefined) this.add(p, f, f.sumName, s.labels, '', '', s.sum);
    if (s.count !== undefined) this.add(p, f, f.countName, s.labels, '', '', s.count);
    endAtom(p);
  }

  /** One sample of the family at `f`: its series (found or made), value and boundary. */
  private add(p: PollSamples, f: FamilyCursor, metricName: string, labels: Labels, part: string, partValue: string, value: number): void {
    const i = f.count++;
    const previous = f.previous;
    let s = previous[i + f.shift];
    if (s === undefined || (!f.same && !spells(s.spelling, metricName, f.registryLabels, part, partValue, labels))) {
      s = this.find(metricName, labels, part, partValue, f);
      if (this.staleness.liveInLastPoll(s) && previous[s.index] === s) f.shift = s.index - i;
    }
    if (f.current !== undefined) f.current.push(s);
    else if (previous[i] !== s) (f.current = previous.slice(0, i)).push(s);
    if (!this.staleness.markLive(s)) return; // the same series twice in one poll: keep the first
    s.index = i;
    p.push(s, value, s.together ? INSIDE : UNIT_END);
  }

  /** The held series with these canonical labels (created if new), now spelt as given. */
  private find(metricName: string, labels: Labels, part: string, partValue: string, f: FamilyCursor): Series {
    const w = Writer.create();
    const partLabel: LabelPair | undefined = part === '' ? undefined : { name: part, value: partValue };
    const canonical = canonicalLabels(metricName, labels, partLabel, f.registryLabels, this.externalLabels);
    for (const l of canonical) {
      w.uint32(0x0a).fork().uint32(0x0a).string(l.name).uint32(0x12).string(l.value).ldelim();
    }
    const bytes = w.finish();
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    let s = this.staleness.get(key);
    if (s === undefined) {
      const together = f.family.type === 'histogram' || f.family.type === 'summary';
      const { family } = f;
      const detail = this.keepDetail ? { labels: canonical, type: metricTypeNumber(family.type), help: family.help, unit: family.unit } : undefined;
      s = { key, family: family.name, together, spelling: [], livePoll: NEVER_LIVE, index: -1, detail };
    }
    const spelling: unknown[] = [metricName, f.registryLabels, part, partValue];
    for (const name in labels) spelling.push(name, labels[name]);
    s.spelling = spelling.length === 4 ? spelling : spelling.slice(); // (exactly as long as it is: one per series is kept)
    return s;
  }

}
