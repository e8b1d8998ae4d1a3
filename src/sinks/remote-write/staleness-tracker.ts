// Which series a target had in its last poll, so that the ones it no longer
// has get one stale marker (and are then forgotten: the tracker holds the
// live series only, however many come and go).
//
// A poll goes: startPoll(); for each series found, get(key) (a series held
// since last poll, or made live earlier in this poll) and markLive(series);
// endPoll() returns those of the last poll that were not marked live again.
//
// The poll a series was last live in is stamped on the series itself
// (`livePoll`) rather than kept in a set per poll: a poll with the same
// series as the last one then allocates nothing, and a duplicate is told
// apart with one comparison.

/** What the tracker needs of a series: its identity, and a field only the tracker writes. */
export interface TrackedSeries {
  readonly key: string;
  /** The last poll the series was live in; NEVER_LIVE when made. */
  livePoll: number;
}

/** `livePoll` of a series no poll has marked live yet. */
export const NEVER_LIVE = -1;

export class StalenessTracker<S extends TrackedSeries> {
  /** The series live in the last poll, and those marked live in this one so far, by key. */
  private readonly held = new Map<string, S>();
  /** The last poll's live series, in the order they were marked (stale markers keep that order). */
  private previous: S[] = [];
  /** This poll's live series so far: the first `currentCount` (the array is the one before last's, reused). */
  private current: S[] = [];
  private currentCount = 0;
  private readonly stale: S[] = [];
  private poll = 0;

  /** Starts a poll and returns its number (1, 2, ...). */
  startPoll(): number {
    return ++this.poll;
  }

  /** The series with this key if it was live in the last poll or has been marked live in this one. */
  get(key: string): S | undefined {
    return this.held.get(key);
  }

  /** Whether the series was live in the last poll (and not yet marked live in this one). */
  liveInLastPoll(series: S): boolean {
    return series.livePoll === this.poll - 1;
  }

  /**
   * The series is live in this poll; it is held from now on if it was not
   * already. False if it was already marked live in this poll (a duplicate).
   */
  markLive(series: S): boolean {
    const poll = this.poll;
    const last = series.livePoll;
    if (last === poll) return false;
    if (last !== poll - 1) this.held.set(series.key, series);
    series.livePoll = poll;
    this.current[this.currentCount++] = series;
    return true;
  }

  /** The series live in the last poll, in the order they were marked (valid until endPoll()). */
  lastPoll(): readonly S[] {
    return this.previous;
  }

  /**
   * Ends the poll: the series live in the last poll and not marked live in
   * this one, in the last poll's order, are forgotten and returned (in an
   * array reused by the next call). What is held is then exactly this
   * poll's live series.
   */
  endPoll(): readonly S[] {
    const poll = this.poll;
    const { previous, stale } = this;
    let n = 0;
    for (let i = 0; i < previous.length; i++) {
      const series = previous[i]!;
      if (series.livePoll === poll) continue;
      this.held.delete(series.key);
      stale[n++] = series;
    }
    stale.length = n;
    // (Storage beyond this poll's count would keep forgotten series alive.)
    const current = this.current;
    if (current.length > this.currentCount) current.length = this.currentCount;
    this.previous = current;
    this.current = previous;
    this.currentCount = 0;
    return stale;
  }
}
