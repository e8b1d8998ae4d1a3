// Which samples of a poll a Prometheus 2.42 scrape of the same body would
// store, as far as their timestamps decide it (default settings:
// honor_timestamps true, no out-of-order window), so that the encoders send
// exactly those. A sample line may carry its own timestamp; one without is
// stamped with the poll's time. From scrape/scrape.go and tsdb/head_append.go
// of v2.42 (docs/remote-write-encoding.md, "Sample timestamps"):
//
// - more than 10 minutes after the poll (scrape.go's maxAheadTime): refused;
// - before the head's appendable window, one hour (half the 2 h block range)
//   before the newest sample the head holds: refused (out of bounds);
// - at or before the series' last sample: refused (out of order, or a
//   duplicate timestamp with another value), except the very same sample
//   again (same timestamp, same value bits), which is simply not stored twice;
// - stale markers only for the series whose last poll's sample had no
//   timestamp of its own and was stored, and whose sample of this poll is
//   missing or not such a sample (the scrape cache tracks staleness only for
//   those), and only when the marker is after the series' last sample.
//
// A remote-write receiver (Prometheus) refuses a whole request with 400 for
// one such sample, so leaving them out keeps the rest of the poll.
//
// Cost: a sample without a timestamp of its own writes nothing here and is
// compared once (with the series' last own sample or stale marker, `ownMs`:
// every earlier sample at a poll's time is older than this poll). All other
// bookkeeping happens on samples with timestamps, refusals and stale markers.

/** scrape.go: samples more than this ahead of the scrape are out of bounds. */
export const MAX_AHEAD_MS = 10 * 60_000;
/** The head's appendable window: half of the default 2 h block range before its newest sample. */
export const APPENDABLE_WINDOW_MS = 60 * 60_000;

/** Why a sample was left out for its timestamp: the reasons of jvb_remote_write_samples_dropped_total it is counted under. */
export const TIMESTAMP_REFUSALS = ['timestamp_too_old', 'timestamp_too_far_ahead', 'timestamp_out_of_order', 'timestamp_duplicate'] as const;
export type TimestampRefusalReason = (typeof TIMESTAMP_REFUSALS)[number];

/** Samples of one family left out of a poll for one reason. */
export interface TimestampRefusal {
  readonly family: string;
  readonly reason: TimestampRefusalReason;
  samples: number;
}

/** What the rules keep on a series (besides the poll it was last live in, which the staleness tracker keeps). */
export interface TimedSeries {
  readonly key: string;
  /**
   * Undefined until the series has a sample of its own timestamp, a stale
   * marker or a refusal: most series never do, and five fields (two of them
   * boxed doubles) on every series were memory per series for nothing.
   */
  times: SeriesTimes | undefined;
}

export interface SeriesTimes {
  /** The timestamp of its last sample sent that had one of its own, or of its last stale marker; -Infinity before any. */
  ownMs: number;
  /** That sample's value (for the duplicate check); the marker's time when it was a stale marker (whose bits no value has). */
  ownValue: number;
  staleMs: number;
  /** The last two polls whose sample of it was not one a scrape tracks for staleness (its own timestamp, or refused); -1: none. */
  untrackedPoll: number;
  untrackedBefore: number;
}

/** A series' last own timestamp or stale marker; -Infinity before any. */
const ownMsOf = (s: TimedSeries): number => (s.times === undefined ? -Infinity : s.times.ownMs);

function timesOf(s: TimedSeries): SeriesTimes {
  return (s.times ??= { ownMs: -Infinity, ownValue: 0, staleMs: -Infinity, untrackedPoll: -1, untrackedBefore: -1 });
}

/** The last sample of a series no longer held, kept while a later one could still collide with it. */
interface LastSample {
  readonly ms: number;
  readonly value: number;
  readonly stale: boolean;
}

/** Verdicts: sent, not sent (the very same sample again), or refused: the index of the reason in TIMESTAMP_REFUSALS. */
export const SEND = -1;
export const SAME = -2;
const TOO_OLD = 0;
const TOO_FAR_AHEAD = 1;
const OUT_OF_ORDER = 2;
const DUPLICATE = 3;

export class SampleTimestamps {
  /** This poll's and the last poll's timestamps, this poll's number. */
  private pollMs = 0;
  private lastPollMs = -Infinity;
  private poll = 0;
  /** The window of own timestamps accepted in this poll. */
  private earliest = -Infinity;
  private latest = Infinity;
  /** The newest sample sent before this poll, and in it so far. */
  private newest = -Infinity;
  private newestNow = -Infinity;
  /** Whether a sample of this poll had its own timestamp, or was refused: only then can a live series stop being tracked. */
  private untrackedNow = false;
  /** Series gone from the polls whose last sample is still inside the window, oldest first. */
  private readonly gone = new Map<string, LastSample>();
  private readonly byKey = new Map<string, TimestampRefusal>();
  /** This poll's refusals, one per family and reason, in the order met. */
  readonly refusals: TimestampRefusal[] = [];

  startPoll(pollMs: number, poll: number): void {
    this.lastPollMs = this.poll === 0 ? -Infinity : this.pollMs;
    this.pollMs = pollMs;
    this.poll = poll;
    this.latest = pollMs + MAX_AHEAD_MS;
    // (The poll's own time counts as sent already: the receiver's window moves with its first request.)
    this.earliest = Math.max(pollMs, this.newest) - APPENDABLE_WINDOW_MS;
    this.newestNow = pollMs;
    this.untrackedNow = false;
    if (this.refusals.length > 0) {
      this.refusals.length = 0;
      this.byKey.clear();
    }
  }

  /** Whether every live series of this poll is tracked for staleness exactly when it has a sample (no own timestamp, no refusal). */
  get quiet(): boolean {
    return !this.untrackedNow;
  }

  /** Whether a sample without a timestamp of its own, at the poll's time, is sent: it is unless one of its own was later (the usual case, checked first). */
  sendsAtPoll(s: TimedSeries): boolean {
    return s.times === undefined || this.pollMs > s.times.ownMs;
  }

  /** A sample without a timestamp of its own, at the poll's time: SEND, SAME or a refusal. */
  atPoll(s: TimedSeries, value: number): number {
    if (this.pollMs > ownMsOf(s)) return SEND;
    this.untracked(s);
    return this.collision(s, this.pollMs, ownMsOf(s), value);
  }

  /**
   * A sample with its own timestamp: SEND, SAME or a refusal. `trackedLast`:
   * its sample of the last poll was at that poll's time (then that is its
   * last sample, unless a later one of its own).
   */
  own(s: TimedSeries, ms: number, value: number, trackedLast: boolean): number {
    const t = this.untracked(s);
    if (ms > this.latest) return TOO_FAR_AHEAD;
    if (ms < this.earliest) return TOO_OLD;
    const lastMs = trackedLast && this.lastPollMs > t.ownMs ? this.lastPollMs : t.ownMs;
    if (ms <= lastMs) return this.collision(s, ms, lastMs, value);
    t.ownMs = ms;
    t.ownValue = value;
    if (ms > this.newestNow) this.newestNow = ms;
    return SEND;
  }

  /** Whether the series was tracked in poll `poll` (given that it was live in it). */
  trackedIn(s: TimedSeries, poll: number): boolean {
    const t = s.times;
    return t === undefined || (t.untrackedPoll !== poll && t.untrackedBefore !== poll);
  }

  /** A series tracked in the last poll and not in this one: whether its stale marker (at the poll's time) is sent. */
  staleMarker(s: TimedSeries): boolean {
    if (this.pollMs <= ownMsOf(s)) return false; // Prometheus' append fails (out of order or duplicate) and is ignored.
    const t = timesOf(s);
    t.ownMs = this.pollMs;
    t.staleMs = this.pollMs;
    return true;
  }

  /** The series is no longer held: its last sample is kept while it is inside the window. */
  forget(s: TimedSeries): void {
    const t = s.times;
    if (t !== undefined && t.ownMs >= this.earliest) this.gone.set(s.key, { ms: t.ownMs, value: t.ownValue, stale: t.staleMs === t.ownMs });
  }

  /** A series held anew: its last sample, if it was sent while the window still holds it. */
  restore(s: TimedSeries): void {
    const last = this.gone.get(s.key);
    if (last === undefined) return;
    this.gone.delete(s.key);
    const t = timesOf(s);
    t.ownMs = last.ms;
    t.ownValue = last.value;
    if (last.stale) t.staleMs = last.ms;
  }

  endPoll(): void {
    if (this.newestNow > this.newest) this.newest = this.newestNow;
    // Oldest first, as they went: those that left the window can collide with nothing the window admits.
    const earliest = Math.max(this.pollMs, this.newest) - APPENDABLE_WINDOW_MS;
    for (const [key, last] of this.gone) {
      if (last.ms >= earliest) break;
      this.gone.delete(key);
    }
  }

  /** The sample of a family was refused for reason TIMESTAMP_REFUSALS[verdict]: counted per family and reason. */
  refuse(family: string, verdict: number): void {
    const reason = TIMESTAMP_REFUSALS[verdict]!;
    const key = `${reason}\n${family}`;
    const known = this.byKey.get(key);
    if (known !== undefined) known.samples++;
    else {
      const refusal = { family, reason, samples: 1 };
      this.byKey.set(key, refusal);
      this.refusals.push(refusal);
    }
  }

  /** This poll's sample of `s` is not one a scrape tracks for staleness. */
  private untracked(s: TimedSeries): SeriesTimes {
    this.untrackedNow = true;
    const t = timesOf(s);
    if (t.untrackedPoll === this.poll) return t;
    t.untrackedBefore = t.untrackedPoll;
    t.untrackedPoll = this.poll;
    return t;
  }

  /**
   * A sample at or before the series' last one (at `lastMs`) is not sent:
   * the very same sample again is stored already (SAME), anything else is
   * refused. (A last sample at the last poll's time has no value kept here:
   * the same timestamp to the millisecond counts as a duplicate.)
   */
  private collision(s: TimedSeries, ms: number, lastMs: number, value: number): number {
    if (ms < lastMs) return OUT_OF_ORDER;
    // (Object.is: the value bits, as Prometheus compares them: NaN is NaN, 0 is not -0.)
    const t = s.times;
    if (t !== undefined && lastMs === t.ownMs && t.staleMs !== lastMs && Object.is(value, t.ownValue)) return SAME;
    return DUPLICATE;
  }
}
