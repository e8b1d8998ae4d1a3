// The samples of one poll, in the order the encoders write them (live
// series first, then stale markers), with where a request may be cut after
// each and the timestamp of those that have their own. Filled by
// poll-collector.ts; its storage is kept from poll to poll.

/** The samples of one poll, in order; valid until the next call of collect(). */
export interface CollectedPoll<S> {
  readonly samples: readonly S[];
  readonly values: Float64Array;
  readonly boundary: Uint8Array;
  /** Each sample's own timestamp (ms), NaN for the poll's; undefined when no sample of the poll has one. */
  readonly stamps: Float64Array | undefined;
  /** Samples of this poll: [0, n). */
  readonly n: number;
  /** Those from liveCount on are stale markers. */
  readonly liveCount: number;
}

/**
 * The samples of the poll being encoded, in order: live series first, then
 * stale markers, with the boundary after each (request-splitter.ts) and its
 * own timestamp (NaN: the poll's). Its storage is kept from poll to poll;
 * `n` says how much of it is this poll's.
 */
export class PollSamples<S> {
  n = 0;
  samples: S[] = [];
  values = new Float64Array(256);
  boundary = new Uint8Array(256);
  /** The samples with a timestamp of their own: their positions and timestamps, the first `explicit`. */
  private ownAt: number[] = [];
  private ownMs: number[] = [];
  private explicit = 0;
  /** Each sample's own timestamp, NaN for the poll's; written by result(), only for a poll that has some. */
  private stamps = new Float64Array(0);

  start(): void {
    this.n = 0;
    this.explicit = 0;
  }

  push(series: S, value: number, boundary: number): void {
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

  /** A sample with a timestamp of its own (a poll without any costs nothing more). */
  pushStamped(series: S, value: number, boundary: number, timestampMs: number): void {
    this.ownAt[this.explicit] = this.n;
    this.ownMs[this.explicit++] = timestampMs;
    this.push(series, value, boundary);
  }

  /** Each sample's own timestamp (NaN: the poll's), or undefined when none has one. */
  private stampsOfPoll(): Float64Array | undefined {
    if (this.explicit === 0) {
      if (this.ownAt.length > 0) this.ownAt.length = this.ownMs.length = 0;
      return undefined;
    }
    if (this.stamps.length < this.n) this.stamps = new Float64Array(this.values.length);
    this.stamps.fill(NaN, 0, this.n);
    for (let i = 0; i < this.explicit; i++) this.stamps[this.ownAt[i]!] = this.ownMs[i]!;
    this.ownAt.length = this.ownMs.length = this.explicit;
    return this.stamps;
  }

  /** The last sample pushed, if there is one, may be cut after as `boundary`. */
  mark(boundary: number): void {
    if (this.n > 0) this.boundary[this.n - 1] = boundary;
  }

  /** Ends the poll: storage beyond it lets go of the series it held. */
  end(): void {
    if (this.samples.length > this.n) this.samples.length = this.n;
  }

  result(liveCount: number): CollectedPoll<S> {
    return { samples: this.samples, values: this.values, boundary: this.boundary, stamps: this.stampsOfPoll(), n: this.n, liveCount };
  }
}

