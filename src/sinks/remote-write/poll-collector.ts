// Walks one poll of a target (its families, in the model every source and
// registry produces) and lists its samples in order: live series first,
// then stale markers, with where a request may be cut after each
// (request-splitter.ts) and the timestamp of each that has its own. Both
// remote-write encoders read this list; each writes it in its own message.
// It finds each sample's series cheaply when a poll lists what the last one
// did, and leaves out what a scrape would refuse for its timestamp
// (sample-timestamps.ts). Pure: no I/O, no clock.
// docs/remote-write-encoding.md has the design.

import { Writer } from 'protobufjs';
import type { HistogramSeries, Labels, LabelledFamilies, MetricFamily, SummarySeries } from '../../model/metric-family';
import { INSIDE, ATOM_END, UNIT_END } from './request-splitter';
import { type CollectedPoll, PollSamples } from './poll-samples';
import { type LabelPair, canonicalLabels, metricTypeNumber } from './series-labels';
import { SAME, SEND, SampleTimestamps, type TimedSeries, type TimestampRefusal } from './sample-timestamps';
import { NEVER_LIVE, StalenessTracker, type TrackedSeries } from './staleness-tracker';

export interface Series extends TrackedSeries, TimedSeries {
  /**
   * The TimeSeries' Label fields (0a <len> Label, sorted), encoded once, as
   * a latin1 string (one character a byte): the series' identity, and what
   * is copied into a request (a string costs less memory than a byte array).
   */
  readonly key: string;
  readonly family: string;
  /** Histogram/summary series: keep the family's series in one request. */
  readonly together: boolean;
  /**
   * How the poll last spelt it: sample name, registry labels, part label
   * (`le`, `quantile`; '' when none) and its value, and the series' labels
   * object. Fields, not an array: one is kept per series, and the labels
   * object is the source's own (no copy of its names and values).
   */
  spellName: string;
  spellRegistry: Labels;
  spellPart: string;
  spellPartValue: string;
  spellLabels: Labels;
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
function endAtom(p: PollSamples<Series>): void {
  if (p.n > 0 && p.boundary[p.n - 1] === INSIDE) p.boundary[p.n - 1] = ATOM_END;
}

/** Whether a sample is spelt as `s` last was: no hashing, no allocation. */
function spells(s: Series, metricName: string, registryLabels: Labels, part: string, partValue: string, labels: Labels): boolean {
  if (s.spellName !== metricName || s.spellRegistry !== registryLabels || s.spellPart !== part || s.spellPartValue !== partValue) return false;
  const kept = s.spellLabels;
  if (kept === labels) return true;
  // (The same names and values in any order are the same series: its key sorts them.)
  let n = 0;
  for (const name in labels) {
    if (!Object.prototype.hasOwnProperty.call(kept, name) || kept[name] !== labels[name]) return false;
    n++;
  }
  for (const _ in kept) n--;
  return n === 0;
}

export class PollCollector {
  /** Series live in the last poll, by identity: whose label bytes are kept, and which get stale markers when gone. */
  private readonly staleness = new StalenessTracker<Series>();
  /** What a scrape would refuse for its timestamp; each series' last sample. */
  private readonly times = new SampleTimestamps();
  /** This poll's samples (storage reused from poll to poll). */
  private readonly samples = new PollSamples<Series>();
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

  /** The samples the last collect() left out for their timestamps, per family and reason. */
  get refusals(): readonly TimestampRefusal[] {
    return this.times.refusals;
  }

  /**
   * One poll's samples, at `pollMs` unless they have a timestamp of their
   * own: series absent now but stamped with the previous call's time get one
   * stale marker. A series listed twice is taken once (the first). A
   * histogram's or summary's series stay together (boundaries). Samples a
   * scrape would refuse for their timestamp are left out (`refusals`).
   */
  collect(groups: readonly LabelledFamilies[], pollMs: number): CollectedPoll<Series> {
    // This poll's samples: live series first, then stale markers.
    const poll = this.staleness.startPoll();
    this.times.startPoll(pollMs, poll);
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
              for (const b of s.buckets) this.add(p, f, bucket, s.labels, 'le', b.le, b.count, b.timestampMs);
              this.addTotals(p, f, s);
            }
            break;
          }
          case 'summary':
            f.sumName = `${name}_sum`;
            f.countName = `${name}_count`;
            for (const s of family.series) {
              for (const q of s.quantiles) this.add(p, f, name, s.labels, 'quantile', q.quantile, q.value, q.timestampMs);
              this.addTotals(p, f, s);
            }
            break;
          default:
            for (const s of family.series) this.add(p, f, name, s.labels, '', '', s.value, s.timestampMs);
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
    // Stale markers, in the last poll's order: for the series a scrape tracked in the last poll (stamped with
    // its time) and not in this one: gone, or (only when a sample of this poll had a timestamp of its own or
    // was refused) still there but no longer tracked. Those gone are then let go.
    const times = this.times;
    const quiet = times.quiet;
    if (!quiet) {
      for (const s of this.staleness.lastPoll()) {
        if (s.livePoll === poll && times.trackedIn(s, poll)) continue;
        if (times.trackedIn(s, poll - 1) && times.staleMarker(s)) this.pushStale(p, liveCount, s);
      }
    }
    const gone = this.staleness.endPoll();
    for (let i = 0; i < gone.length; i++) {
      const s = gone[i]!;
      if (quiet && times.trackedIn(s, poll - 1) && times.staleMarker(s)) this.pushStale(p, liveCount, s);
      times.forget(s);
    }
    times.endPoll();
    p.end();
    return p.result(liveCount);
  }

  /** A stale marker for `s`, after the live samples (`liveCount` of them). */
  private pushStale(p: PollSamples<Series>, liveCount: number, s: Series): void {
    if (p.n > liveCount && s.together) {
      const before = p.samples[p.n - 1]!;
      if (before.together && before.family === s.family) p.mark(ATOM_END); // one family's stale markers stay together too
    }
    p.push(s, 0, UNIT_END);
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
  private addTotals(p: PollSamples<Series>, f: FamilyCursor, s: HistogramSeries | SummarySeries): void {
    if (s.sum !== undefined) this.add(p, f, f.sumName, s.labels, '', '', s.sum, s.sumTimestampMs);
    if (s.count !== undefined) this.add(p, f, f.countName, s.labels, '', '', s.count, s.countTimestampMs);
    endAtom(p);
  }

  /** One sample of the family at `f`: its series (found or made), value, boundary, and own timestamp if any. */
  private add(p: PollSamples<Series>, f: FamilyCursor, metricName: string, labels: Labels, part: string, partValue: string, value: number, timestampMs: number | undefined): void {
    const i = f.count++;
    const previous = f.previous;
    let s = previous[i + f.shift];
    if (s === undefined || (!f.same && !spells(s, metricName, f.registryLabels, part, partValue, labels))) {
      s = this.find(metricName, labels, part, partValue, f);
      if (this.staleness.liveInLastPoll(s) && previous[s.index] === s) f.shift = s.index - i;
    }
    if (f.current !== undefined) f.current.push(s);
    else if (previous[i] !== s) (f.current = previous.slice(0, i)).push(s);
    if (timestampMs !== undefined) return this.addOwn(p, f, s, i, value, timestampMs);
    if (!this.staleness.markLive(s)) return; // the same series twice in one poll: keep the first
    s.index = i;
    // (The usual sample, at the poll's time, after every earlier one: nothing more to do. The rest is kept out
    // of this method, which runs for every sample of every poll.)
    if (this.times.sendsAtPoll(s)) p.push(s, value, s.together ? INSIDE : UNIT_END);
    else this.refuseAtPoll(f, s, value);
  }

  /** A sample at the poll's time that is not after the series' last one (a sample of its own ahead of the poll). */
  private refuseAtPoll(f: FamilyCursor, s: Series, value: number): void {
    const verdict = this.times.atPoll(s, value);
    if (verdict !== SAME) this.times.refuse(f.family.name, verdict);
  }

  /** `add()` of a sample with a timestamp of its own. */
  private addOwn(p: PollSamples<Series>, f: FamilyCursor, s: Series, i: number, value: number, timestampMs: number): void {
    const liveBefore = s.livePoll;
    if (!this.staleness.markLive(s)) return;
    s.index = i;
    const times = this.times;
    // (Its sample of the last poll, if it had one there, was at that poll's time unless it was untracked.)
    const verdict = times.own(s, timestampMs, value, liveBefore === s.livePoll - 1 && times.trackedIn(s, liveBefore));
    if (verdict === SEND) p.pushStamped(s, value, s.together ? INSIDE : UNIT_END, timestampMs);
    else if (verdict !== SAME) times.refuse(f.family.name, verdict);
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
      s = { key, family: family.name, together, spellName: metricName, spellRegistry: f.registryLabels, spellPart: part, spellPartValue: partValue, spellLabels: labels, livePoll: NEVER_LIVE, index: -1, detail, times: undefined };
      this.times.restore(s);
    }
    s.spellName = metricName;
    s.spellRegistry = f.registryLabels;
    s.spellPart = part;
    s.spellPartValue = partValue;
    s.spellLabels = labels;
    return s;
  }

}
