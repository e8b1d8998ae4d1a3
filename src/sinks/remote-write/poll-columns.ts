// One poll's samples as parallel columns (typed arrays where possible),
// reused from poll to poll so a steady-state poll allocates nothing here.
// The entry column is double-buffered: the previous poll's live series stay
// readable while the current poll is collected (for stale markers).

import type { CachedSeries } from './series-cache';

export const FLAG_STALE = 1;

export class PollColumns {
  /** Series of each sample: this poll's live series first, then stale markers. */
  entries: CachedSeries[] = [];
  /** Their ids (CachedSeries.id). */
  ids = new Int32Array(1024);
  /** Sample values (ignored where flags has FLAG_STALE). */
  values = new Float64Array(1024);
  flags = new Uint8Array(1024);
  /** Boundary strength after each sample (request-splitter.ts). */
  boundary = new Uint8Array(1024);
  /** Byte length of each sample's cached prefix. */
  prefixLength = new Int32Array(1024);
  length = 0;
  /** How many of `entries` are live series (the rest are stale markers). */
  liveLength = 0;

  /** The previous poll's live series (and ids), in `previousEntries[0 .. previousLiveLength)`. */
  previousEntries: CachedSeries[] = [];
  previousIds = new Int32Array(1024);
  previousLiveLength = 0;

  /** Starts a poll: the current entries become the previous ones. */
  startPoll(): void {
    const swap = this.previousEntries;
    this.previousEntries = this.entries;
    this.previousLiveLength = this.liveLength;
    this.entries = swap;
    const swapIds = this.previousIds;
    this.previousIds = this.ids;
    this.ids = swapIds.length >= this.values.length ? swapIds : new Int32Array(this.values.length);
    this.length = 0;
    this.liveLength = 0;
  }

  push(entry: CachedSeries, id: number, value: number, flags: number, boundary: number, prefixLength: number): void {
    const i = this.length;
    if (i === this.values.length) this.grow();
    this.entries[i] = entry;
    this.ids[i] = id;
    this.values[i] = value;
    this.flags[i] = flags;
    this.boundary[i] = boundary;
    this.prefixLength[i] = prefixLength;
    this.length = i + 1;
  }

  /** Marks the end of the live samples (stale markers follow). */
  endLive(): void {
    this.liveLength = this.length;
  }

  /** Forgets references past the samples in use, once far fewer are in use, so evicted series can be collected. */
  trim(): void {
    if (this.entries.length > 2 * this.length + 1024) this.entries.length = this.length;
    if (this.previousEntries.length > 2 * this.previousLiveLength + 1024) this.previousEntries.length = this.previousLiveLength;
  }

  private grow(): void {
    const size = this.values.length * 2;
    const values = new Float64Array(size);
    values.set(this.values);
    const flags = new Uint8Array(size);
    flags.set(this.flags);
    const boundary = new Uint8Array(size);
    boundary.set(this.boundary);
    const prefixLength = new Int32Array(size);
    prefixLength.set(this.prefixLength);
    const ids = new Int32Array(size);
    ids.set(this.ids);
    this.ids = ids;
    this.values = values;
    this.flags = flags;
    this.boundary = boundary;
    this.prefixLength = prefixLength;
  }
}
