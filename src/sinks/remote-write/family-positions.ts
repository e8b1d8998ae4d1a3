// Remembers, per metric family, which series sat at which position of the
// family's values in the previous poll, with their raw spellings laid out
// flat in one array.
//
// Registries list a family's series in the same order poll after poll, so
// the series at position i is first guessed from the previous poll and
// checked exactly against that flat spelling (sequential memory, no hashing,
// no allocation); only a failed guess searches the cache. When every guess of
// a family holds, nothing here is written at all.

import type { CachedSeries } from './series-cache';
import type { RawLabels } from './series-from-registry';

export class FamilyPositions {
  /** Poll number this family was last seen in. */
  poll = 0;
  /** Series (and their ids) by position in the previous poll, [0, length). */
  private entries: CachedSeries[] = [];
  private ids = new Int32Array(0);
  private length = 0;
  /** Spellings ([metricName, name, value, ...]) of all positions, concatenated. */
  private spellings: unknown[] = [];
  /** Position i's spelling is spellings[offsets[i] .. offsets[i + 1]). */
  private offsets = new Int32Array(1);
  /** This poll's series by position, filled only once the order has changed. */
  private next: CachedSeries[] = [];
  private nextIds = new Int32Array(0);
  private changed = false;

  /** Starts a poll of this family with `count` values. */
  begin(count: number): void {
    this.changed = count !== this.length;
    if (this.nextIds.length < count) this.nextIds = new Int32Array(count);
  }

  /** The previous poll's series at `position` if `labels` (with `metricName`) spell it exactly. */
  match(position: number, metricName: string, labels: RawLabels | undefined): CachedSeries | undefined {
    if (position >= this.length) return undefined;
    const spellings = this.spellings;
    let j = this.offsets[position]!;
    const end = this.offsets[position + 1]!;
    if (spellings[j] !== metricName) return undefined;
    j++;
    if (labels) {
      for (const name in labels) {
        if (j === end || spellings[j] !== name || spellings[j + 1] !== labels[name]) return undefined;
        j += 2;
      }
    }
    return j === end ? this.entries[position] : undefined;
  }

  /** The previous poll's series at `position`, unchecked (for resynchronising after a miss). */
  at(position: number): CachedSeries | undefined {
    return position < this.length ? this.entries[position] : undefined;
  }

  /** The id of the previous poll's series at `position` (< previousLength). */
  idAt(position: number): number {
    return this.ids[position]!;
  }

  /**
   * Records this poll's series at `position`. `inPlace` says it is the
   * previous poll's series at the same position (nothing to write while
   * that holds for every position so far).
   */
  record(position: number, entry: CachedSeries, id: number, inPlace: boolean): void {
    if (!this.changed) {
      if (inPlace) return;
      this.changed = true;
      const next = this.next;
      for (let i = 0; i < position; i++) next[i] = this.entries[i]!;
      this.nextIds.set(this.ids.subarray(0, position));
    }
    this.next[position] = entry;
    this.nextIds[position] = id;
  }

  /** Ends the poll of this family (with `count` values): the recorded order becomes the previous one. */
  end(count: number): void {
    if (!this.changed) return;
    const entries = this.next;
    this.next = this.entries;
    this.entries = entries;
    const ids = this.nextIds;
    this.nextIds = this.ids;
    this.ids = ids;
    if (entries.length > count) entries.length = count;
    if (this.next.length > 2 * count + 1024) this.next.length = 0;
    this.length = count;
    const spellings: unknown[] = [];
    const offsets = new Int32Array(count + 1);
    for (let i = 0; i < count; i++) {
      offsets[i] = spellings.length;
      const spelling = entries[i]!.spelling;
      for (let k = 0; k < spelling.length; k++) spellings.push(spelling[k]);
    }
    offsets[count] = spellings.length;
    this.spellings = spellings;
    this.offsets = offsets;
    this.changed = false;
  }
}
